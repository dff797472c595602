/* SPDX-License-Identifier: MIT */
/*
 * ctl_guest_qemu: the QEMU kind of guest behind the guest commands. A guest
 * is a QEMU child (qemu.c) with a run directory under the dispatcher's guest
 * directory, booted from the image tapyard builds (image.c, built on first
 * use) or a kernel and initramfs of the caller's. Its NICs are TAPs made here
 * (IFF_VNET_HDR, named as every guest port is), whose fds QEMU gets through
 * QMP (hot plug, qemu_nic.c) and whose host side the switch takes as netdev
 * ports with the VM's QMP socket, so link/set tells the guest. Inside, the
 * agent names, addresses and reports the NICs, writes the hosts file and runs
 * commands; its RunResult is guest/run's as it is.
 *
 * A boot or a run waits without the dispatcher's lock: the VM's cg_vm counts
 * such waits (refs, under the lock), and a guest deleted meanwhile has its
 * QEMU killed at once and its cg_vm freed by the last wait to finish.
 */
#include "ctl_guest_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "frame.h"
#include "image.h"
#include "log.h"
#include "port.h"
#include "qemu.h"
#include "qemu_nic.h"

#define CGQ_CALL_MS 5000u /* an agent request that does not wait for anything */
#define CGQ_NIC_APPEAR_MS 20000u /* a hot-plugged NIC shows in the guest */
#define CGQ_CARRIER_MS 3000u
#define CGQ_RUN_SLACK_MS 10000u /* past a run's own timeout */
#define CGQ_RUN_FOREVER_MS (24u * 3600 * 1000)
#define CGQ_SAVE_MS 120000u /* a VM's whole state written to a file */

struct cg_vm {
	char name[CG_NAME_MAX];
	char dir[160];
	char qmp[200];
	struct qemu *q;
	pid_t pid;
	unsigned int used; /* root ports holding a NIC */
	int refs; /* waits in progress */
	bool gone; /* its guest was deleted during a wait */
	bool ready;
	uint64_t serial; /* this QEMU among the dispatcher's, for processes kept by name */
	struct qemu_err err;
	char kernel[600], initrd[600]; /* what it booted, for guest/save */
	unsigned int memory_mb, cpus;
};

/* Free vm's QEMU and run directory (its logs go with it unless keep). */
static void ctl_guest_qemu_free(struct ctl *ctl, struct cg_vm *vm, bool keep)
{
	char path[256];

	qemu_stop(vm->q);
	ctl_record_remove(ctl, "qemu", vm->name);
	if (!keep) {
		snprintf(path, sizeof(path), "%s/console.log", vm->dir);
		unlink(path);
		snprintf(path, sizeof(path), "%s/qemu.log", vm->dir);
		unlink(path);
		rmdir(vm->dir);
	}
	free(vm);
}

/* The kernel and initramfs: args.kernel and args.initrd, or the image (built when absent). */
static int ctl_guest_qemu_files(struct ctl_guests *s, json_t *args, char *kernel, char *initrd,
				size_t size, struct ctl_err *e)
{
	const char *k, *i;
	struct image_err ie;
	int err;

	err = ctl_args_str(args, "kernel", false, &k, e);
	if (!err)
		err = ctl_args_str(args, "initrd", false, &i, e);
	if (err)
		return err;
	if (!k != !i)
		return ctl_args_fail(e, -EINVAL, "args: give kernel and initrd together");
	if (k) {
		snprintf(kernel, size, "%s", k);
		snprintf(initrd, size, "%s", i);
		return 0;
	}
	err = image_files(NULL, kernel, initrd, size, &ie);
	if (!err && (s->image_current || !image_agent_stale(NULL))) {
		s->image_current = true; /* checked once: the agent does not change under us */
		return 0;
	}
	log_info(err ? "guest image: building it (once; later runs take it from the cache)"
		     : "guest image: its agent is not this tapyard's: building it again");
	err = image_build(&(struct image_opts){.progress = stderr}, &ie);
	if (!err)
		err = image_files(NULL, kernel, initrd, size, &ie);
	s->image_current = !err;
	if (err)
		return ctl_args_fail(e, err, "the QEMU guest image: %s", ie.msg);
	return 0;
}

/* Log once per process which accelerator QEMU runs with, and why. */
static enum qemu_accel ctl_guest_qemu_accel(void)
{
	static atomic_bool said;
	char why[256];
	enum qemu_accel a = qemu_accel_pick(QEMU_ACCEL_AUTO, why, sizeof(why));

	if (!atomic_exchange(&said, true))
		log_info("%s", why);
	return a;
}

/* The boot options of args (memory, cpus, wait_ms) into o. */
static int ctl_guest_qemu_opts(json_t *args, struct qemu_opts *o, struct ctl_err *e)
{
	uint64_t mem, cpus, ms;
	int err;

	err = ctl_args_uint_opt(args, "memory", 64, 65536, 256, &mem, e);
	if (!err)
		err = ctl_args_uint_opt(args, "cpus", 1, 64, 1, &cpus, e);
	if (!err)
		err = ctl_args_uint_opt(args, CTL_WAIT_ARG, 1000, 3600000, 60000, &ms, e);
	if (err)
		return err;
	o->memory_mb = (unsigned int)mem;
	o->cpus = (unsigned int)cpus;
	o->boot_timeout_ms = (unsigned int)ms;
	return 0;
}

/* Launch QEMU for gu as o says (its run directory made here): gu->vm, recorded. */
static int ctl_guest_qemu_launch(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu,
				 struct qemu_opts *o, struct ctl_err *e)
{
	struct cg_vm *vm = calloc(1, sizeof(*vm));
	int err;

	if (!vm)
		return -ENOMEM;
	/* A daemon's guests outlive a crash in its record, for cleanup; the others die with us. */
	o->die_with_parent = !ctl_recording(ctl);
	snprintf(vm->name, sizeof(vm->name), "%s", gu->name);
	vm->serial = ++s->vm_serial;
	snprintf(vm->dir, sizeof(vm->dir), "%s/vm-%s", s->dir, gu->name);
	snprintf(vm->qmp, sizeof(vm->qmp), "%s/qmp.sock", vm->dir);
	snprintf(vm->kernel, sizeof(vm->kernel), "%s", o->kernel);
	snprintf(vm->initrd, sizeof(vm->initrd), "%s", o->initrd);
	vm->memory_mb = o->memory_mb;
	vm->cpus = o->cpus;
	if (mkdir(vm->dir, 0700) && errno != EEXIST) {
		err = -errno;
		free(vm);
		return ctl_args_fail(e, err, "vm \"%s\": cannot create %s: %s", gu->name, vm->dir,
				     strerror(-err));
	}
	o->dir = vm->dir;
	o->accel = ctl_guest_qemu_accel();
	err = qemu_launch(o, &vm->q, &vm->err);
	if (err) { /* its message holds what the logs said */
		ctl_args_fail(e, err, "%s", vm->err.msg);
		ctl_guest_qemu_free(ctl, vm, false);
		return err;
	}
	vm->pid = qemu_pid(vm->q);
	ctl_record_add(ctl, "qemu", vm->name,
		       ctl_must(json_pack("{s:i, s:I, s:s}", "pid", (int)vm->pid, "start",
					  (json_int_t)qemu_start_ticks(vm->q), "dir", vm->dir)));
	gu->vm = vm;
	return 0;
}

int ctl_guest_qemu_add(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu, json_t *args,
		       struct ctl_err *e)
{
	struct qemu_opts o = {.name = gu->name};
	char kernel[600], initrd[600];
	int err;

	if (ctl->caller && ctl->caller->member)
		return ctl_args_fail(e, -EPERM, "QEMU guests are for root and the daemon's user");
	err = ctl_guest_qemu_opts(args, &o, e);
	if (!err)
		err = ctl_guest_qemu_files(s, args, kernel, initrd, sizeof(kernel), e);
	if (err)
		return err;
	o.kernel = kernel;
	o.initrd = initrd;
	return ctl_guest_qemu_launch(ctl, s, gu, &o, e);
}

void ctl_guest_qemu_destroy(struct ctl *ctl, struct cg_guest *gu)
{
	struct cg_vm *vm = gu->vm;

	gu->vm = NULL;
	if (!vm)
		return;
	log_info("vm %s: stopping QEMU (pid %d)", vm->name, (int)vm->pid);
	if (vm->refs) { /* a wait holds it: end the wait, its finish frees vm */
		kill(vm->pid, SIGKILL);
		vm->gone = true;
		return;
	}
	ctl_guest_qemu_free(ctl, vm, false);
}

/* A call to gu's agent; its error into e naming the VM. */
static int ctl_guest_qemu_call(struct cg_vm *vm, const char *cmd, json_t *args,
			       unsigned int timeout_ms, json_t **result, struct ctl_err *e)
{
	char msg[512] = "";
	int err = agent_client_call(qemu_agent(vm->q), cmd, args, timeout_ms, result, msg,
				    sizeof(msg));

	if (err && e)
		ctl_args_fail(e, err, "vm \"%s\": agent %s: %s", vm->name, cmd, msg);
	return err;
}

/* ---- waits without the lock ---- */

bool ctl_guest_qemu_release(struct ctl *ctl, struct cg_vm *vm)
{
	vm->refs--;
	if (!vm->gone)
		return true;
	if (!vm->refs)
		ctl_guest_qemu_free(ctl, vm, false);
	return false;
}

static int ctl_guest_qemu_boot_wait(struct ctl_later *l, const atomic_bool *stop)
{
	struct cg_vm *vm = l->state;

	(void)stop; /* qemu_wait_ready() watches interrupt_pending() and the deadline */
	return qemu_wait_ready(vm->q, &vm->err);
}

/* The boot is over: the hostname and hosts file given, or the guest removed. */
static int ctl_guest_qemu_boot_finish(struct ctl *ctl, struct ctl_later *l, int err,
				      json_t **result, struct ctl_err *e)
{
	struct cg_vm *vm = l->state;
	struct ctl_guests *s = ctl->guests;
	char name[CG_NAME_MAX];
	size_t idx;

	snprintf(name, sizeof(name), "%s", vm->name);
	if (err)
		ctl_args_fail(e, err, "%s", vm->err.msg);
	if (!ctl_guest_qemu_release(ctl, vm))
		return err ? err
			   : ctl_args_fail(e, -ECANCELED, "vm \"%s\": deleted during its boot",
					   name);
	if (err) { /* gone: a failed boot leaves nothing behind but its logs */
		if (ctl_guest_find(s, name, &idx) && s->guests[idx]->vm == vm) {
			s->guests[idx]->vm = NULL;
			ctl_guest_call(ctl, "guest/del", ctl_must(json_pack("{s:s}", "name", name)),
				       NULL, &(struct ctl_err){0});
		}
		log_warn("vm %s: boot failed; its logs stay in %s", name, vm->dir);
		ctl_guest_qemu_free(ctl, vm, true);
		return err;
	}
	if (!vm->ready) {
		vm->ready = true;
		log_info("vm %s: agent ready %llu ms after QEMU's start", name,
			 (unsigned long long)qemu_boot_ms(vm->q));
		ctl_guest_qemu_call(vm, "hostname", ctl_must(json_pack("{s:s}", "name", name)),
				    CGQ_CALL_MS, NULL, NULL);
		ctl_guest_qemu_hosts(s);
	}
	*result = ctl_must(json_pack("{s:s, s:s, s:i, s:I}", "name", name, "kind", "qemu", "pid",
				     (int)vm->pid, "boot_ms", (json_int_t)qemu_boot_ms(vm->q)));
	return 0;
}

int ctl_guest_qemu_wait_start(struct ctl *ctl, struct cg_guest *gu, struct ctl_later *later,
			      struct ctl_err *e)
{
	(void)ctl;
	(void)e;
	gu->vm->refs++;
	*later = (struct ctl_later){.wait = ctl_guest_qemu_boot_wait,
				    .finish = ctl_guest_qemu_boot_finish,
				    .state = gu->vm};
	return 0;
}

/* Wait for the boot under the lock (a command that needs the agent of a booting VM). */
static int ctl_guest_qemu_ready(struct cg_vm *vm, struct ctl_err *e)
{
	int err;

	if (vm->ready)
		return 0;
	err = qemu_wait_ready(vm->q, &vm->err);
	if (err)
		return ctl_args_fail(e, err, "%s", vm->err.msg);
	return 0;
}

/* A guest/run's or proc/start's args as the agent takes them: a copy without "guest". */
static json_t *ctl_guest_qemu_agent_args(json_t *args)
{
	json_t *a = ctl_must(json_deep_copy(args));

	json_object_del(a, "guest");
	return a;
}

/* A run in progress. */
struct cgq_run {
	struct cg_vm *vm;
	json_t *args, *res;
	unsigned int timeout_ms;
	char msg[512];
};

static int ctl_guest_qemu_run_wait(struct ctl_later *l, const atomic_bool *stop)
{
	struct cgq_run *r = l->state;

	return agent_client_call_until(qemu_agent(r->vm->q), "run", json_incref(r->args),
				       r->timeout_ms, stop, &r->res, r->msg, sizeof(r->msg));
}

/*
 * Why a run failed: the agent's own answer as a namespace guest's ("cannot
 * run: ..."), or, when the agent stopped answering, what the console says.
 */
static void ctl_guest_qemu_run_error(const struct cgq_run *r, int err, struct ctl_err *e)
{
	char path[256], tail[2400];

	if (err == -EINTR || r->vm->gone) {
		ctl_args_fail(e, err, "vm \"%s\": run: %s", r->vm->name, r->msg);
		return;
	}
	if (err != -EPIPE && err != -ETIMEDOUT && err != -ECONNRESET) {
		ctl_args_fail(e, err, "guest \"%s\": %s", r->vm->name, r->msg);
		return;
	}
	snprintf(path, sizeof(path), "%s/console.log", r->vm->dir);
	qemu_console_tail(path, 12, tail, sizeof(tail));
	ctl_args_fail(e, err, "vm \"%s\": run: %s\nconsole (%s), last lines:\n%s", r->vm->name,
		      r->msg, path, tail[0] ? tail : "  (empty)\n");
}

static int ctl_guest_qemu_run_finish(struct ctl *ctl, struct ctl_later *l, int err, json_t **result,
				     struct ctl_err *e)
{
	struct cgq_run *r = l->state;
	char name[CG_NAME_MAX];

	snprintf(name, sizeof(name), "%s", r->vm->name);
	if (err)
		ctl_guest_qemu_run_error(r, err, e);
	if (!ctl_guest_qemu_release(ctl, r->vm) && !err)
		err = ctl_args_fail(e, -ECANCELED, "vm \"%s\": deleted during the run", name);
	if (!err)
		*result = json_incref(r->res);
	json_decref(r->res);
	json_decref(r->args);
	free(r);
	return err;
}

int ctl_guest_qemu_run_start(struct ctl *ctl, struct cg_guest *gu, json_t *args,
			     struct ctl_later *later, struct ctl_err *e)
{
	struct cgq_run *r;
	json_int_t t = json_integer_value(json_object_get(args, "timeout_ms"));
	int err;

	(void)ctl;
	err = ctl_guest_qemu_ready(gu->vm, e);
	if (err)
		return err;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->vm = gu->vm;
	r->args = ctl_guest_qemu_agent_args(args);
	r->timeout_ms = t > 0 && t < CGQ_RUN_FOREVER_MS ? (unsigned int)t + CGQ_RUN_SLACK_MS
							: CGQ_RUN_FOREVER_MS;
	gu->vm->refs++;
	*later = (struct ctl_later){
		.wait = ctl_guest_qemu_run_wait, .finish = ctl_guest_qemu_run_finish, .state = r};
	return 0;
}

/* ---- the agent for background processes (ctl_proc.c) ---- */

struct cg_vm *ctl_guest_qemu_vm(struct ctl *ctl, const char *guest, uint64_t serial)
{
	struct cg_guest *gu = ctl->guests ? ctl_guest_find(ctl->guests, guest, NULL) : NULL;

	if (!gu || gu->kind != CG_QEMU || !gu->vm || gu->vm->serial != serial)
		return NULL;
	return gu->vm;
}

int ctl_guest_qemu_agent_call(struct cg_vm *vm, const char *cmd, json_t *args, json_t **result,
			      struct ctl_err *e)
{
	return ctl_guest_qemu_call(vm, cmd, args, CGQ_CALL_MS, result, e);
}

struct agent_client *ctl_guest_qemu_hold(struct cg_vm *vm)
{
	vm->refs++;
	return qemu_agent(vm->q);
}

int ctl_guest_qemu_spawn(struct cg_guest *gu, json_t *args, struct ctl_guest_spawned *out,
			 struct ctl_err *e)
{
	json_t *res = NULL;
	int err = ctl_guest_qemu_ready(gu->vm, e);

	if (err)
		return err;
	err = ctl_guest_qemu_call(gu->vm, "proc_start", ctl_guest_qemu_agent_args(args),
				  CGQ_CALL_MS, &res, e);
	if (!err) {
		out->serial = gu->vm->serial;
		out->rid = json_integer_value(json_object_get(res, "id"));
		out->pid = (int)json_integer_value(json_object_get(res, "pid"));
	}
	json_decref(res);
	return err;
}

/* ---- NICs ---- */

/* The agent's nic request for NIC nic named ifname. */
static int ctl_guest_qemu_nic_set(struct cg_vm *vm, const struct cg_nic *nic, const char *ifname,
				  unsigned int timeout_ms, struct ctl_err *e)
{
	char mac[18], addr[16];

	mac_format(nic->mac, mac);
	inet_ntop(AF_INET, &nic->addr, addr, sizeof(addr));
	return ctl_guest_qemu_call(
		vm, "nic",
		ctl_must(json_pack("{s:s, s:s, s:s, s:i}", "mac", mac, "name", ifname, "addr", addr,
				   "prefix", (int)nic->prefix)),
		timeout_ms, NULL, e);
}

int ctl_guest_qemu_renumber(struct cg_guest *gu, size_t skip)
{
	struct ctl_err e;
	char want[IFNAMSIZ];
	int err = 0, r;

	if (!gu->vm || !gu->vm->ready)
		return 0;
	for (size_t i = 0; i < gu->n; i++) {
		snprintf(want, sizeof(want), "eth%u", (unsigned int)(i % CG_MAX_NICS));
		if (i == skip || strcmp(gu->nics[i].ifname, want) == 0)
			continue;
		r = ctl_guest_qemu_nic_set(gu->vm, &gu->nics[i], want, CGQ_CALL_MS, &e);
		if (r)
			log_warn("%s", e.msg);
		else
			snprintf(gu->nics[i].ifname, sizeof(gu->nics[i].ifname), "%s", want);
		err = err ? err : r;
	}
	return err;
}

/* The agent names and addresses the new NIC once the guest has found it. */
static int ctl_guest_qemu_nic_appear(struct cg_vm *vm, const struct cg_nic *nic, struct ctl_err *e)
{
	struct timespec slice = {.tv_nsec = 50 * 1000000L};
	int err;

	for (unsigned int waited = 0;; waited += 50) {
		err = ctl_guest_qemu_nic_set(vm, nic, nic->ifname, CGQ_CALL_MS, e);
		if (err != -ENODEV && err != -ENOENT)
			return err;
		if (waited >= CGQ_NIC_APPEAR_MS)
			return ctl_args_fail(e, -ETIMEDOUT,
					     "vm \"%s\": the hot-plugged NIC %s did not show in "
					     "the guest within %u s",
					     vm->name, nic->ifname, CGQ_NIC_APPEAR_MS / 1000);
		nanosleep(&slice, NULL);
	}
}

/* The TAP of NIC nic: created here, its fd handed to QEMU, ours closed. */
static int ctl_guest_qemu_tap(struct cg_vm *vm, struct cg_nic *nic, struct ctl_err *e)
{
	struct port_tap_opts topts = {.must_create = true, .up = true};
	struct qmp_error qe;
	struct port *tap = NULL;
	int err = port_tap_open(nic->port, &topts, &tap);

	if (err)
		return ctl_args_fail(e, err, "vm \"%s\": TAP %s: %s", vm->name, nic->port,
				     port_strerror(err));
	snprintf(nic->qid, sizeof(nic->qid), "%s", nic->port);
	err = qemu_nic_plug(vm->qmp, nic->qid, port_fd(tap), nic->mac, &vm->used, &nic->bus, &qe);
	port_destroy(tap); /* QEMU holds the TAP now: it goes when QEMU lets go of it */
	if (err)
		ctl_args_fail(e, err, "vm \"%s\": cannot hot-plug NIC %s: %s", vm->name, nic->port,
			      qe.msg);
	return err;
}

/* The switch's port of NIC nic: its TAP (QEMU's), with the VM's QMP socket for link state. */
static int ctl_guest_qemu_port(struct ctl *ctl, const struct cg_vm *vm, const struct cg_nic *nic,
			       struct ctl_err *e)
{
	char netdev[QEMU_NIC_ID_MAX + 8];

	qemu_nic_netdev(nic->qid, netdev, sizeof(netdev));
	return ctl_guest_call(
		ctl, "port/add",
		ctl_must(json_pack("{s:s, s:s, s:s, s:b, s:b, s:s, s:s}", "bridge", nic->bridge,
				   "name", nic->port, "type", "netdev", "existing", 1, "up", 1,
				   "qmp", vm->qmp, "qmp_netdev", netdev)),
		NULL, e);
}

int ctl_guest_qemu_plug(struct ctl *ctl, struct cg_guest *gu, size_t pos, struct ctl_err *e)
{
	struct cg_nic *nic = &gu->nics[pos];
	struct cg_vm *vm = gu->vm;
	int err;

	err = ctl_guest_qemu_ready(vm, e);
	if (!err)
		err = ctl_guest_qemu_tap(vm, nic, e);
	if (err)
		return err;
	err = ctl_guest_qemu_port(ctl, vm, nic, e);
	if (!err)
		err = ctl_guest_qemu_renumber(gu, pos);
	if (!err)
		err = ctl_guest_qemu_nic_appear(vm, nic, e);
	if (err) {
		ctl_guest_port_del(ctl, nic->port);
		ctl_guest_qemu_unplug(gu, nic);
	}
	return err;
}

void ctl_guest_qemu_unplug(struct cg_guest *gu, const struct cg_nic *nic)
{
	struct qmp_error qe;

	if (!gu->vm)
		return;
	gu->vm->used &= ~(1u << nic->bus);
	if (qemu_nic_unplug(gu->vm->qmp, nic->qid, &qe))
		log_warn("vm %s: unplugging NIC %s: %s", gu->name, nic->port, qe.msg);
}

int ctl_guest_qemu_link_wait(struct cg_guest *gu, const char *ifname, bool up)
{
	struct ctl_err e;

	if (!gu->vm || !gu->vm->ready)
		return -ENODEV;
	return ctl_guest_qemu_call(gu->vm, "carrier",
				   ctl_must(json_pack("{s:s, s:b, s:i}", "name", ifname, "wait_for",
						      up, "timeout_ms", (int)CGQ_CARRIER_MS)),
				   CGQ_CARRIER_MS + CGQ_CALL_MS, NULL, &e);
}

void ctl_guest_qemu_hosts(struct ctl_guests *s)
{
	struct ctl_err e;

	for (size_t i = 0; s->hosts_text && i < s->n; i++) {
		struct cg_vm *vm = s->guests[i]->vm;

		if (!vm || !vm->ready)
			continue;
		if (ctl_guest_qemu_call(
			    vm, "hosts",
			    ctl_must(json_pack("{s:s%}", "text", s->hosts_text, s->hosts_len)),
			    CGQ_CALL_MS, NULL, &e))
			log_warn("%s", e.msg);
	}
}

void ctl_guest_qemu_json(const struct cg_guest *gu, json_t *obj)
{
	const struct cg_vm *vm = gu->vm;

	if (!vm)
		return;
	json_object_set_new(obj, "pid", ctl_must(json_integer(vm->pid)));
	json_object_set_new(obj, "dir", ctl_must(json_string(vm->dir)));
	json_object_set_new(obj, "state", ctl_must(json_string(vm->ready ? "booted" : "booting")));
}

int ctl_guest_qemu_console(const struct cg_guest *gu, unsigned int lines, json_t **result)
{
	char path[256], tail[2400];

	if (!gu->vm)
		return -ENODEV;
	snprintf(path, sizeof(path), "%s/console.log", gu->vm->dir);
	qemu_console_tail(path, lines, tail, sizeof(tail));
	*result = ctl_must(json_pack("{s:s, s:s}", "path", path, "text", tail));
	return 0;
}

/* ---- saved state ---- */

/* A NIC as guest/save gives it and guest/restore takes it. */
static json_t *ctl_guest_qemu_nic_json(const struct cg_nic *nic)
{
	char mac[18], addr[INET_ADDRSTRLEN];

	mac_format(nic->mac, mac);
	inet_ntop(AF_INET, &nic->addr, addr, sizeof(addr));
	return ctl_must(json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:s}", "bridge", nic->bridge,
				  "qid", nic->qid, "bus", nic->bus, "mac", mac, "address", addr,
				  "prefix", (int)nic->prefix, "ifname", nic->ifname));
}

int ctl_guest_qemu_save(struct cg_guest *gu, const char *path, json_t **result, struct ctl_err *e)
{
	struct cg_vm *vm = gu->vm;
	json_t *nics;
	int err = ctl_guest_qemu_ready(vm, e);

	if (!err && qemu_save(vm->q, path, CGQ_SAVE_MS, &vm->err))
		err = ctl_args_fail(e, -EIO, "%s", vm->err.msg);
	if (err)
		return err;
	nics = ctl_must(json_array());
	for (size_t i = 0; i < gu->n; i++)
		json_array_append_new(nics, ctl_guest_qemu_nic_json(&gu->nics[i]));
	*result = ctl_must(json_pack("{s:s, s:s, s:s, s:i, s:i, s:o}", "path", path, "kernel",
				     vm->kernel, "initrd", vm->initrd, "memory", (int)vm->memory_mb,
				     "cpus", (int)vm->cpus, "nics", nics));
	log_info("vm %s: state saved in %s", gu->name, path);
	return 0;
}

/* Launch gu's QEMU from path with its NICs' TAPs (made here, then QEMU's alone). */
static int ctl_guest_qemu_relaunch(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu,
				   struct qemu_opts *o, struct ctl_err *e)
{
	struct port_tap_opts topts = {.must_create = true, .up = true};
	struct port *taps[CG_MAX_NICS] = {0};
	struct qemu_nic qn[CG_MAX_NICS];
	int err = 0;

	for (size_t i = 0; i < gu->n && !err; i++) {
		err = port_tap_open(gu->nics[i].port, &topts, &taps[i]);
		if (err)
			ctl_args_fail(e, err, "vm \"%s\": TAP %s: %s", gu->name, gu->nics[i].port,
				      port_strerror(err));
		else
			qn[i] = (struct qemu_nic){.fd = port_fd(taps[i]),
						  .id = gu->nics[i].qid,
						  .bus = gu->nics[i].bus};
		memcpy(qn[i].mac, gu->nics[i].mac, 6);
	}
	o->nics = qn;
	o->nnics = gu->n;
	if (!err)
		err = ctl_guest_qemu_launch(ctl, s, gu, o, e);
	for (size_t i = 0; i < gu->n; i++)
		port_destroy(taps[i]); /* QEMU holds them now (or they go) */
	return err;
}

int ctl_guest_qemu_restore(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu,
			   const char *path, json_t *args, struct ctl_err *e)
{
	struct qemu_opts o = {.name = gu->name, .incoming = path};
	char kernel[600], initrd[600];
	int err;

	err = ctl_guest_qemu_opts(args, &o, e);
	if (!err)
		err = ctl_guest_qemu_files(s, args, kernel, initrd, sizeof(kernel), e);
	o.kernel = kernel;
	o.initrd = initrd;
	if (!err)
		err = ctl_guest_qemu_relaunch(ctl, s, gu, &o, e);
	if (!err &&
	    (qemu_resume(gu->vm->q, &gu->vm->err) || qemu_wait_ready(gu->vm->q, &gu->vm->err)))
		err = ctl_args_fail(e, -EIO, "%s", gu->vm->err.msg);
	for (size_t i = 0; !err && i < gu->n; i++) {
		gu->vm->used |= 1u << gu->nics[i].bus;
		err = ctl_guest_qemu_port(ctl, gu->vm, &gu->nics[i], e);
	}
	if (!err) {
		gu->vm->ready = true;
		log_info("vm %s: resumed from %s", gu->name, path);
	}
	return err;
}
