/* SPDX-License-Identifier: MIT */
/*
 * ctl_proc: the proc/ commands over background processes, kept by id per
 * dispatcher (ctl->procs): a namespace guest's are guest.c's, a QEMU guest's
 * live at its agent (agent_proc.h) and are found again by the guest's name
 * and its VM's serial, so that a deleted VM reads as such. proc/wait replies
 * later: it waits without the dispatcher's lock (a QEMU guest's VM held
 * meanwhile), and the process it waits for is marked busy so that
 * proc/release cannot free it meanwhile.
 */
#include "ctl_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_client.h"
#include "clock.h"
#include "ctl_guest.h"
#include "guest.h"

#define CTL_PROC_MAX 1024
#define CTL_PROC_SLICE_MS 2000 /* one proc_wait at a QEMU guest's agent */
#define CTL_PROC_SLACK_MS 5000 /* past it, for the agent's reply to come */
#define CTL_PROC_KILL_MS 2000 /* a process killed at its wait's deadline ends */

struct ctl_proc {
	uint32_t id;
	struct ctl_guest_spawned s; /* its guest; s.p a namespace guest's, else at a QEMU agent */
	unsigned int busy; /* proc/wait calls waiting for it */
	bool timed_out; /* proc/wait killed it at its deadline */
};

struct ctl_procs {
	struct ctl_proc *v[CTL_PROC_MAX];
	size_t n;
	uint32_t next_id;
};

/* The process named by args.id. */
static int ctl_proc_arg(struct ctl *ctl, json_t *args, struct ctl_proc **out, size_t *idx,
			struct ctl_err *e)
{
	uint64_t id;
	int err = ctl_args_uint(args, "id", 1, UINT32_MAX, &id, e);

	*out = NULL;
	if (idx)
		*idx = 0;
	if (err)
		return err;
	for (size_t i = 0; ctl->procs && i < ctl->procs->n; i++) {
		if (ctl->procs->v[i]->id == id) {
			*out = ctl->procs->v[i];
			if (idx)
				*idx = i;
			return 0;
		}
	}
	ctl_args_fail(e, -ENOENT, "process %u not found", (unsigned int)id);
	return -ENOENT;
}

/* ---- a QEMU guest's process: requests to its agent ---- */

/* The VM of a QEMU guest's process, or NULL (e says so) once its guest was deleted. */
static struct cg_vm *ctl_proc_vm(struct ctl *ctl, const struct ctl_proc *pr, struct ctl_err *e)
{
	struct cg_vm *vm = ctl_guest_qemu_vm(ctl, pr->s.guest, pr->s.serial);

	if (!vm && e)
		ctl_args_fail(e, -ESRCH, "process %u: its VM \"%s\" was deleted, and the process "
			      "with it", pr->id, pr->s.guest);
	return vm;
}

/* Request cmd {id, ...args} of the agent that runs pr (args stolen; NULL: none). */
static int ctl_proc_agent(struct ctl *ctl, const struct ctl_proc *pr, const char *cmd, json_t *args,
			  json_t **result, struct ctl_err *e)
{
	struct cg_vm *vm = ctl_proc_vm(ctl, pr, e);

	if (!args)
		args = ctl_must(json_object());
	json_object_set_new(args, "id", ctl_must(json_integer(pr->s.rid)));
	if (!vm) {
		json_decref(args);
		return -ESRCH;
	}
	return ctl_guest_qemu_agent_call(vm, cmd, args, result, e);
}

/* ---- both kinds ---- */

static void ctl_proc_free(struct ctl *ctl, struct ctl_proc *pr)
{
	if (pr->s.p)
		guest_proc_destroy(pr->s.p);
	else
		ctl_proc_agent(ctl, pr, "proc_release", NULL, NULL, NULL);
	free(pr);
}

static int cmd_proc_start(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_proc *pr;
	int err;

	if (!ctl->procs && !(ctl->procs = calloc(1, sizeof(*ctl->procs))))
		return -ENOMEM;
	if (ctl->procs->n == CTL_PROC_MAX)
		return ctl_args_fail(e, -ENOSPC, "too many processes (%d)", CTL_PROC_MAX);
	pr = calloc(1, sizeof(*pr));
	if (!pr)
		return -ENOMEM;
	err = ctl_guest_spawn(ctl, args, &pr->s, e);
	if (err) {
		free(pr);
		return err;
	}
	pr->id = ++ctl->procs->next_id;
	ctl->procs->v[ctl->procs->n++] = pr;
	*result = ctl_must(json_pack("{s:i, s:s, s:i}", "id", pr->id, "guest", pr->s.guest, "pid",
				     pr->s.pid));
	return 0;
}

/* A namespace guest's process: what it wrote and, once it ended, how. */
static int ctl_proc_local_result(struct ctl_proc *pr, json_t **result, struct ctl_err *e)
{
	struct guest_run_result res;
	int done = guest_proc_result(pr->s.p, pr->timed_out, &res);

	if (done < 0)
		return ctl_dp_fail(e, done, "process output");
	*result = done ? ctl_guest_result_json(&res)
		       : ctl_must(json_pack("{s:s, s:o, s:o}", "status", "running", "stdout",
					    ctl_must(json_stringn_nocheck(res.out, res.out_len)),
					    "stderr",
					    ctl_must(json_stringn_nocheck(res.err, res.err_len))));
	guest_run_result_free(&res);
	json_object_set_new(*result, "running", ctl_must(json_boolean(!done)));
	return 0;
}

/* What the process wrote and, once it ended, how: the reply of proc/wait and proc/info. */
static int ctl_proc_result(struct ctl *ctl, struct ctl_proc *pr, bool output, json_t **result,
			   struct ctl_err *e)
{
	int err = pr->s.p ? ctl_proc_local_result(pr, result, e)
			  : ctl_proc_agent(ctl, pr, "proc_info",
					   ctl_must(json_pack("{s:b}", "timed_out", pr->timed_out)),
					   result, e);

	if (!err && !output) {
		json_object_del(*result, "stdout");
		json_object_del(*result, "stderr");
	}
	return err;
}

/* Add the process's id, guest and pid to obj. */
static void ctl_proc_ids(const struct ctl_proc *pr, json_t *obj)
{
	json_object_update_new(obj, ctl_must(json_pack("{s:i, s:s, s:i}", "id", pr->id, "guest",
						       pr->s.guest, "pid", pr->s.pid)));
}

/* Send sig to the process's group. */
static int ctl_proc_signal(struct ctl *ctl, struct ctl_proc *pr, int sig, struct ctl_err *e)
{
	int err;

	if (!pr->s.p)
		return ctl_proc_agent(ctl, pr, "proc_signal",
				      ctl_must(json_pack("{s:i}", "signal", sig)), NULL, e);
	err = guest_proc_signal(pr->s.p, sig);
	if (err)
		ctl_args_fail(e, err, "process %u: %s", pr->id,
			      err == -ESRCH ? "it has ended" : strerror(-err));
	return err;
}

/* A proc/wait in progress. */
struct ctl_proc_wait {
	struct ctl_proc *pr;
	int64_t timeout_ms; /* -1: no limit */
	struct cg_vm *vm; /* a QEMU guest's: held during the wait */
	struct agent_client *agent;
	char msg[256];
};

/* Wait at a QEMU guest's agent, in slices, so that no agent thread outlives us by much. */
static int ctl_proc_wait_agent(struct ctl_proc_wait *w, const atomic_bool *stop)
{
	uint64_t end = w->timeout_ms < 0 ? UINT64_MAX : clock_mono_ms() + (uint64_t)w->timeout_ms;

	for (;;) {
		uint64_t now = clock_mono_ms(), slice = CTL_PROC_SLICE_MS;
		json_t *res = NULL;
		bool exited;
		int err;

		if (now >= end)
			return -ETIMEDOUT;
		if (end - now < slice)
			slice = end - now;
		err = agent_client_call_until(
			w->agent, "proc_wait",
			ctl_must(json_pack("{s:I, s:I}", "id", w->pr->s.rid, "timeout_ms",
					   (json_int_t)slice)),
			(unsigned int)slice + CTL_PROC_SLACK_MS, stop, &res, w->msg, sizeof(w->msg));
		exited = json_is_true(json_object_get(res, "exited"));
		json_decref(res);
		if (err || exited)
			return err;
	}
}

static int ctl_proc_wait(struct ctl_later *l, const atomic_bool *stop)
{
	struct ctl_proc_wait *w = l->state;

	if (w->vm)
		return ctl_proc_wait_agent(w, stop);
	return guest_proc_wait(w->pr->s.p, w->timeout_ms, stop);
}

static int ctl_proc_wait_finish(struct ctl *ctl, struct ctl_later *l, int err, json_t **result,
				struct ctl_err *e)
{
	struct ctl_proc_wait *w = l->state;
	struct ctl_proc *pr = w->pr;
	bool alive = !w->vm || ctl_guest_qemu_release(ctl, w->vm);
	bool ended = !err || err == -ETIMEDOUT || err == -ECANCELED || err == -EINTR;

	pr->busy--;
	if (alive && !ended)
		ctl_args_fail(e, err, "process %u: wait: %s", pr->id, w->msg);
	free(w);
	if (!alive)
		ctl_proc_vm(ctl, pr, e); /* says the VM was deleted */
	if (!alive || !ended)
		return alive ? err : -ESRCH;
	if (err == -ETIMEDOUT) {
		/* Provium's proc:wait(t): at t the process is killed and reported timed out. */
		pr->timed_out = true;
		ctl_proc_signal(ctl, pr, SIGKILL, &(struct ctl_err){0});
		if (pr->s.p)
			guest_proc_wait(pr->s.p, CTL_PROC_KILL_MS, NULL);
		else
			ctl_proc_agent(ctl, pr, "proc_wait",
				       ctl_must(json_pack("{s:i}", "timeout_ms", CTL_PROC_KILL_MS)),
				       NULL, NULL);
	}
	err = ctl_proc_result(ctl, pr, true, result, e);
	if (!err && json_is_true(json_object_get(*result, "running")))
		json_object_set_new(*result, "interrupted", json_true());
	return err;
}

static int start_proc_wait(struct ctl *ctl, json_t *args, struct ctl_later *later,
			   struct ctl_err *e)
{
	struct ctl_proc_wait *w;
	struct ctl_proc *pr;
	struct cg_vm *vm = NULL;
	uint64_t ms;
	int err;

	err = ctl_proc_arg(ctl, args, &pr, NULL, e);
	if (!err)
		err = ctl_args_uint_opt(args, "timeout_ms", 0, INT64_MAX, 0, &ms, e);
	if (!err && !pr->s.p && !(vm = ctl_proc_vm(ctl, pr, e)))
		err = -ESRCH;
	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->pr = pr;
	w->timeout_ms = json_object_get(args, "timeout_ms") ? (int64_t)ms : -1;
	if (vm) {
		w->vm = vm;
		w->agent = ctl_guest_qemu_hold(vm);
	}
	pr->busy++;
	*later = (struct ctl_later){
		.wait = ctl_proc_wait, .finish = ctl_proc_wait_finish, .state = w};
	return 0;
}

static int cmd_proc_info(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_proc *pr;
	bool output;
	int err;

	err = ctl_proc_arg(ctl, args, &pr, NULL, e);
	if (!err)
		err = ctl_args_bool(args, "output", 1, &output, e);
	if (!err)
		err = ctl_proc_result(ctl, pr, output, result, e);
	if (!err)
		ctl_proc_ids(pr, *result);
	return err;
}

static int cmd_proc_signal(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_proc *pr;
	uint64_t sig;
	int err;

	(void)result;
	err = ctl_proc_arg(ctl, args, &pr, NULL, e);
	if (!err)
		err = ctl_args_uint(args, "signal", 1, 64, &sig, e);
	if (!err)
		err = ctl_proc_signal(ctl, pr, (int)sig, e);
	return err;
}

static int cmd_proc_write(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	json_t *data = json_object_get(args, "data");
	struct ctl_proc *pr;
	ssize_t n;
	int err;

	err = ctl_proc_arg(ctl, args, &pr, NULL, e);
	if (err)
		return err;
	if (!json_is_string(data))
		return ctl_args_fail(e, -EINVAL, "args.data: expected a string");
	if (!pr->s.p)
		return ctl_proc_agent(ctl, pr, "proc_write",
				      ctl_must(json_pack("{s:O}", "data", data)), result, e);
	n = guest_proc_write(pr->s.p, json_string_value(data), json_string_length(data));
	if (n < 0)
		return ctl_args_fail(e, (int)n, "process %u: cannot write to its stdin: %s", pr->id,
				     n == -EPIPE ? "it is closed" : "it does not read");
	*result = ctl_must(json_pack("{s:I}", "written", (json_int_t)n));
	return 0;
}

static int cmd_proc_close_stdin(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_proc *pr;
	int err = ctl_proc_arg(ctl, args, &pr, NULL, e);

	(void)result;
	if (err)
		return err;
	if (!pr->s.p)
		return ctl_proc_agent(ctl, pr, "proc_close_stdin", NULL, NULL, e);
	guest_proc_close_stdin(pr->s.p);
	return 0;
}

static int cmd_proc_release(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_proc *pr;
	size_t i;
	int err = ctl_proc_arg(ctl, args, &pr, &i, e);

	(void)result;
	if (err)
		return err;
	if (pr->busy)
		return ctl_args_fail(e, -EBUSY, "process %u: a proc/wait is waiting for it",
				     pr->id);
	ctl_proc_free(ctl, pr);
	ctl->procs->v[i] = ctl->procs->v[--ctl->procs->n];
	return 0;
}

static int cmd_proc_list(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	(void)args;
	(void)e;
	*result = ctl_must(json_array());
	for (size_t i = 0; ctl->procs && i < ctl->procs->n; i++) {
		struct ctl_proc *pr = ctl->procs->v[i];
		json_t *info = NULL;

		if (ctl_proc_result(ctl, pr, false, &info, e) == 0) {
			ctl_proc_ids(pr, info);
			json_array_append_new(*result, info);
		}
	}
	return 0;
}

void ctl_proc_release(struct ctl *ctl)
{
	for (size_t i = 0; ctl->procs && i < ctl->procs->n; i++)
		ctl_proc_free(ctl, ctl->procs->v[i]);
	free(ctl->procs);
	ctl->procs = NULL;
}

const struct ctl_cmd ctl_proc_cmds[] = {
	CTL_ADMIN("proc/start", cmd_proc_start,
		  CTL_ARGS("guest", "cmd", "argv", "env", "cwd", "max_output")),
	CTL_LATER("proc/wait", start_proc_wait, CTL_ARGS("id", "timeout_ms"), CTL_PERM_ADMIN),
	CTL_ADMIN("proc/info", cmd_proc_info, CTL_ARGS("id", "output")),
	CTL_ADMIN("proc/signal", cmd_proc_signal, CTL_ARGS("id", "signal")),
	CTL_ADMIN("proc/write", cmd_proc_write, CTL_ARGS("id", "data")),
	CTL_ADMIN("proc/close_stdin", cmd_proc_close_stdin, CTL_ARGS("id")),
	CTL_ADMIN("proc/release", cmd_proc_release, CTL_ARGS("id")),
	CTL_READ("proc/list", cmd_proc_list, CTL_NO_ARGS),
};

_Static_assert(sizeof(ctl_proc_cmds) / sizeof(ctl_proc_cmds[0]) == CTL_PROC_NCMDS,
	       "CTL_PROC_NCMDS must count ctl_proc_cmds");
