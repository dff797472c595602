/* SPDX-License-Identifier: MIT */
/*
 * qemu_nic: hot plug of virtio-net NICs over QMP (see qemu_nic.h). A root
 * port whose device was removed may still hold it while the guest ejects it:
 * device_add then fails there, and the next free root port is tried.
 */
#include "qemu_nic.h"

#include <errno.h>
#include <stdio.h>

#include "qemu.h"

void qemu_nic_netdev(const char *id, char *buf, size_t size)
{
	snprintf(buf, size, "net-%s", id);
}

/* device_add virtio-net-pci for netdev on the first free root port that takes it. */
static int qemu_nic_device(struct qmp *q, const char *id, const char *netdev, const uint8_t *m,
			   unsigned int *used, int *bus, struct qmp_error *e)
{
	char dev[QEMU_NIC_ID_MAX + 8], mac[18], rp[16];
	int err = -ENOSPC, i;

	snprintf(dev, sizeof(dev), "nic-%s", id);
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4],
		 m[5]);
	for (i = 0; i < QEMU_ROOT_PORTS; i++) {
		if (*used & (1u << i))
			continue;
		snprintf(rp, sizeof(rp), "rp%d", i);
		err = qmp_execute(q, "device_add",
				  json_pack("{s:s, s:s, s:s, s:s, s:s}", "driver", "virtio-net-pci",
					    "id", dev, "netdev", netdev, "mac", mac, "bus", rp),
				  NULL, e);
		if (err != -EREMOTEIO)
			break;
		err = -ENOSPC; /* occupied still (an earlier NIC's eject): try the next */
	}
	if (err == -ENOSPC)
		snprintf(e->msg, sizeof(e->msg), "no free pcie-root-port left (%d in all)",
			 QEMU_ROOT_PORTS);
	if (!err) {
		*used |= 1u << i;
		*bus = i;
	}
	return err;
}

int qemu_nic_plug(const char *qmp_path, const char *id, int fd, const uint8_t *mac,
		  unsigned int *used, int *bus, struct qmp_error *e)
{
	char fdname[QEMU_NIC_ID_MAX + 8], netdev[QEMU_NIC_ID_MAX + 8];
	struct qmp *q = NULL;
	int err;

	snprintf(fdname, sizeof(fdname), "fd-%s", id);
	qemu_nic_netdev(id, netdev, sizeof(netdev));
	err = qmp_open(qmp_path, NULL, QMP_TIMEOUT_MS, &q, e);
	if (!err)
		err = qmp_getfd(q, fdname, fd, e);
	if (!err)
		err = qmp_execute(
			q, "netdev_add",
			json_pack("{s:s, s:s, s:s}", "type", "tap", "id", netdev, "fd", fdname),
			NULL, e);
	if (!err) {
		err = qemu_nic_device(q, id, netdev, mac, used, bus, e);
		if (err) {
			struct qmp_error ignored;

			qmp_execute(q, "netdev_del", json_pack("{s:s}", "id", netdev), NULL,
				    &ignored);
		}
	}
	qmp_close(q);
	return err;
}

int qemu_nic_unplug(const char *qmp_path, const char *id, struct qmp_error *e)
{
	char dev[QEMU_NIC_ID_MAX + 8], netdev[QEMU_NIC_ID_MAX + 8];
	struct qmp_error later;
	struct qmp *q = NULL;
	int err, r;

	snprintf(dev, sizeof(dev), "nic-%s", id);
	qemu_nic_netdev(id, netdev, sizeof(netdev));
	err = qmp_open(qmp_path, NULL, QMP_TIMEOUT_MS, &q, e);
	if (err)
		return err;
	err = qmp_set_link(q, netdev, false, e);
	r = qmp_execute(q, "device_del", json_pack("{s:s}", "id", dev), NULL, err ? &later : e);
	err = err ? err : r;
	r = qmp_execute(q, "netdev_del", json_pack("{s:s}", "id", netdev), NULL, err ? &later : e);
	err = err ? err : r;
	qmp_close(q);
	return err;
}
