/* SPDX-License-Identifier: MIT */
/*
 * qemu_nic: NICs plugged into and out of a running QEMU guest through its QMP
 * socket: the TAP's fd handed over (getfd), a tap netdev on it with the vnet
 * header (netdev_add), a virtio-net-pci device with the guest's MAC on one of
 * the empty pcie-root-ports of qemu.c (device_add); and the reverse (link
 * down, device_del, netdev_del), without waiting for the guest to let go.
 * For a NIC called id: fd "fd-<id>", netdev "net-<id>", device "nic-<id>".
 * Each call opens its own QMP connection and closes it, so other clients of
 * the socket (link/set) are never locked out for long.
 */
#ifndef TAPYARD_QEMU_NIC_H
#define TAPYARD_QEMU_NIC_H

#include <stddef.h>
#include <stdint.h>

#include "qmp.h"

/* The longest NIC id; the netdev's name is "net-" and the id. */
#define QEMU_NIC_ID_MAX 32

/*
 * qemu_nic_plug() - hot-plug NIC id (TAP fd, MAC mac) into the guest whose
 * QMP socket is qmp_path, on the first root port not in *used that takes it.
 * @used: a bit per root port in use; the one taken is set
 * @bus: receives the root port's index
 * Return: 0, -ENOSPC (no root port left), or as qmp_execute() with e filled.
 */
int qemu_nic_plug(const char *qmp_path, const char *id, int fd, const uint8_t *mac,
		  unsigned int *used, int *bus, struct qmp_error *e);

/*
 * qemu_nic_unplug() - tell the guest NIC id's link is down, and ask QEMU to
 * remove its device and netdev (the guest ejects the device later).
 * Return: 0 or the first error (every step is tried).
 */
int qemu_nic_unplug(const char *qmp_path, const char *id, struct qmp_error *e);

/* The netdev name of NIC id ("net-<id>") into buf. */
void qemu_nic_netdev(const char *id, char *buf, size_t size);

#endif
