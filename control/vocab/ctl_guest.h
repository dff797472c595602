/* SPDX-License-Identifier: MIT */
/*
 * ctl_guest: the guest commands: namespace guests and QEMU guests on the switch's bridges.
 *
 *   guest/add    {name, ipv6?, kind?: "netns" | "qemu", kernel?, initrd?, memory?, cpus?,
 *                 wait?, wait_ms?}                   -> {name, kind, netns | pid, boot_ms}
 *                (QEMU: launched, then its agent waited for, unless wait is false)
 *   guest/wait   {name, wait_ms?}                    until a QEMU guest's agent answers
 *   guest/del    {name}
 *   guest/attach {guest, bridge, port?, subnet?, address?, mac?}
 *                -> {guest, bridge, port, ifname, address, mac}
 *   guest/detach {guest, bridge}
 *   guest/link   {guest, bridge, up}                 link/set, then wait until the guest sees it
 *   guest/run    {guest, cmd | argv, timeout_ms?, stdin?, env?, cwd?, max_output?}
 *                -> {exit_code, status, signal, timed_out, stdout, stderr, ...}
 *   guest/list   {}        -> [{name, kind, netns | pid, dir, state, nics}]
 *   guest/console {name, lines?}  -> {path, text}: a QEMU guest's console, its last lines
 *   guest/save   {name, path}     a QEMU guest's state into path (QMP migrate; it runs on)
 *                -> {path, kernel, initrd, memory, cpus, nics: [{bridge, qid, bus, mac, ...}]}
 *   guest/restore {name, path, kernel, initrd, memory, cpus, nics}: guest/save's result;
 *                a new QEMU resumed from path (-incoming), its NICs on new ports
 *                -> {name, nics}
 *   guest/clear  {}                                  delete every guest of this dispatcher
 *
 * A guest's NICs are TAPs made by port/add (host-side name "tyl<pid>-<n>"
 * unless args.port names one), moved into its namespace and named eth0,
 * eth1... in bridge-name order: attaching a bridge that sorts before an
 * attached one renames the later NICs (each is down for the rename), so
 * ethN is always the Nth attached bridge by name. Each bridge has a subnet
 * while some NIC is on it (args.subnet on the first attach, else the lowest
 * free 10.K.0.0/24) and each NIC the lowest free address in it unless
 * args.address names one; its MAC is 52:54:00 + FNV-1a of "<guest>-<bridge>"
 * (Provium's), unless args.mac names one. Every guest of a dispatcher sees the same hosts
 * file: "<guest>.<bridge>" for each NIC and "<guest>" for its eth0. A QEMU guest's NICs are
 * the same, but made by ctl_guest_qemu.c: TAPs hot-plugged into QEMU, switched as netdev
 * ports, named and addressed by its agent (which also writes its hosts file and runs).
 */
#ifndef TAPYARD_CTL_GUEST_H
#define TAPYARD_CTL_GUEST_H

#include <sys/types.h>

#include "ctl_impl.h"

#define CTL_GUEST_NCMDS 12
/* A dispatcher's guest directory: this prefix, its process's pid, '-' and six random characters. */
#define CTL_GUEST_DIR_PREFIX "/tmp/tapyard-guests-"

/*
 * ctl_guest_dirs_remove() - remove process pid's guest directories
 * (CTL_GUEST_DIR_PREFIX<pid>-*: hosts file, QEMU run directories) as its
 * dispatcher would have: only directories of our own uid, never following a
 * link. The last resort of a Lua runner that must end at once (tylua_watchdog.c).
 */
void ctl_guest_dirs_remove(pid_t pid);

/* The command table (listed in ctl_tables[] in ctl.c). */
extern const struct ctl_cmd ctl_guest_cmds[CTL_GUEST_NCMDS];

struct agent_client;
struct cg_vm;
struct guest_proc;
struct guest_run_result;

/* A background process just started (ctl_guest_spawn()). */
struct ctl_guest_spawned {
	char guest[64]; /* its guest's name */
	struct guest_proc *p; /* a namespace guest's process (the caller owns it); NULL for QEMU */
	uint64_t serial; /* a QEMU guest's: the VM (ctl_guest_qemu_vm()) */
	int64_t rid; /* and the process's id at the VM's agent */
	int pid; /* as its guest sees it */
};

/*
 * ctl_guest_spawn() - start a background process in the guest args.guest
 * names (args as guest/run's, without timeout_ms and stdin), for proc/start:
 * a namespace guest's here, a QEMU guest's by its agent (agent_proc.h).
 * Return: 0 with *out filled, or a negative errno with e set.
 */
int ctl_guest_spawn(struct ctl *ctl, json_t *args, struct ctl_guest_spawned *out,
		    struct ctl_err *e);

/*
 * The agent of a QEMU guest, for its background processes (ctl_proc.c).
 * ctl_guest_qemu_vm() - the VM of guest started as serial, or NULL once it was deleted.
 * ctl_guest_qemu_agent_call() - a short request to its agent; errors name the VM.
 * ctl_guest_qemu_hold() - keep vm (and the agent client returned) across a wait
 *   without the lock; ctl_guest_qemu_release() ends that (false: the guest was
 *   deleted meanwhile, vm is gone).
 */
struct cg_vm *ctl_guest_qemu_vm(struct ctl *ctl, const char *guest, uint64_t serial);
int ctl_guest_qemu_agent_call(struct cg_vm *vm, const char *cmd, json_t *args, json_t **result,
			      struct ctl_err *e);
struct agent_client *ctl_guest_qemu_hold(struct cg_vm *vm);
bool ctl_guest_qemu_release(struct ctl *ctl, struct cg_vm *vm);

/* A run's result as guest/run replies it (exit_code, status, signal, stdout, ...). */
json_t *ctl_guest_result_json(const struct guest_run_result *r);

/* Delete every guest of ctl and forget its state (ctl_destroy() calls it). */
void ctl_guest_release(struct ctl *ctl);

#endif
