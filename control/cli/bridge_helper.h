/* SPDX-License-Identifier: MIT */
/*
 * bridge_helper: `tapyard bridge-helper`, a drop-in for qemu-bridge-helper
 * (QEMU's -netdev bridge,br=BR,helper=...). It takes the same arguments,
 * checks the access list (bridge_acl.h), creates a TAP, has the running
 * daemon attach it to bridge BR as a netdev port, and passes the TAP's fd
 * back to QEMU over the Unix socket QEMU gave it.
 */
#ifndef TAPYARD_BRIDGE_HELPER_H
#define TAPYARD_BRIDGE_HELPER_H

/*
 * bridge_helper_main() - `tapyard bridge-helper [--use-vnet] --br=BR --fd=N`.
 * @argc, @argv: from "bridge-helper" on
 * Return: the exit code (0 when QEMU got the fd, 1 otherwise, as
 * qemu-bridge-helper).
 */
int bridge_helper_main(int argc, char **argv);

#endif
