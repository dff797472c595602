/* SPDX-License-Identifier: MIT */
/*
 * ctl_proc: the proc/ commands over guest.c's background processes, kept by
 * id per dispatcher (ctl->procs). proc/wait replies later: it waits without
 * the dispatcher's lock, and the process it waits for is marked busy so that
 * proc/release cannot free it meanwhile.
 */
#include "ctl_proc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_guest.h"
#include "guest.h"

#define CTL_PROC_MAX 1024

struct ctl_proc {
	uint32_t id;
	char guest[64];
	struct guest_proc *p;
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
	return ctl_args_fail(e, -ENOENT, "process %u not found", (unsigned int)id);
}

static void ctl_proc_free(struct ctl_proc *pr)
{
	guest_proc_destroy(pr->p);
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
	err = ctl_guest_spawn(ctl, args, &pr->p, pr->guest, sizeof(pr->guest), e);
	if (err) {
		free(pr);
		return err;
	}
	pr->id = ++ctl->procs->next_id;
	ctl->procs->v[ctl->procs->n++] = pr;
	*result = ctl_must(json_pack("{s:i, s:s, s:i}", "id", pr->id, "guest", pr->guest, "pid",
				     (int)guest_proc_pid(pr->p)));
	return 0;
}

/* What the process wrote and, once it ended, how: the reply of proc/wait and proc/info. */
static int ctl_proc_result(struct ctl_proc *pr, bool output, json_t **result, struct ctl_err *e)
{
	struct guest_run_result res;
	int done = guest_proc_result(pr->p, pr->timed_out, &res);

	if (done < 0)
		return ctl_dp_fail(e, done, "process output");
	*result = done ? ctl_guest_result_json(&res)
		       : ctl_must(json_pack("{s:s, s:o, s:o}", "status", "running", "stdout",
					    ctl_must(json_stringn_nocheck(res.out, res.out_len)),
					    "stderr",
					    ctl_must(json_stringn_nocheck(res.err, res.err_len))));
	guest_run_result_free(&res);
	json_object_set_new(*result, "running", ctl_must(json_boolean(!done)));
	if (!output) {
		json_object_del(*result, "stdout");
		json_object_del(*result, "stderr");
	}
	return 0;
}

/* Add the process's id, guest and pid to obj. */
static void ctl_proc_ids(const struct ctl_proc *pr, json_t *obj)
{
	json_object_update_new(obj,
			       ctl_must(json_pack("{s:i, s:s, s:i}", "id", pr->id, "guest",
						  pr->guest, "pid", (int)guest_proc_pid(pr->p))));
}

/* A proc/wait in progress. */
struct ctl_proc_wait {
	struct ctl_proc *pr;
	int64_t timeout_ms;
};

static int ctl_proc_wait(struct ctl_later *l, const atomic_bool *stop)
{
	struct ctl_proc_wait *w = l->state;

	return guest_proc_wait(w->pr->p, w->timeout_ms, stop);
}

static int ctl_proc_wait_finish(struct ctl *ctl, struct ctl_later *l, int err, json_t **result,
				struct ctl_err *e)
{
	struct ctl_proc_wait *w = l->state;
	struct ctl_proc *pr = w->pr;

	(void)ctl;
	free(w);
	pr->busy--;
	if (err == -ETIMEDOUT) {
		/* Provium's proc:wait(t): at t the process is killed and reported timed out. */
		pr->timed_out = true;
		guest_proc_signal(pr->p, SIGKILL);
		guest_proc_wait(pr->p, 2000, NULL);
	}
	err = ctl_proc_result(pr, true, result, e);
	if (!err && json_is_true(json_object_get(*result, "running")))
		json_object_set_new(*result, "interrupted", json_true());
	return err;
}

static int start_proc_wait(struct ctl *ctl, json_t *args, struct ctl_later *later,
			   struct ctl_err *e)
{
	struct ctl_proc_wait *w;
	struct ctl_proc *pr;
	uint64_t ms;
	int err;

	err = ctl_proc_arg(ctl, args, &pr, NULL, e);
	if (!err)
		err = ctl_args_uint_opt(args, "timeout_ms", 0, INT64_MAX, 0, &ms, e);
	if (err)
		return err;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->pr = pr;
	w->timeout_ms = json_object_get(args, "timeout_ms") ? (int64_t)ms : -1;
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
		err = ctl_proc_result(pr, output, result, e);
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
	if (!err && (err = guest_proc_signal(pr->p, (int)sig)))
		ctl_args_fail(e, err, "process %u: %s", pr->id,
			      err == -ESRCH ? "it has ended" : strerror(-err));
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
	n = guest_proc_write(pr->p, json_string_value(data), json_string_length(data));
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
	if (!err)
		guest_proc_close_stdin(pr->p);
	return err;
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
	ctl_proc_free(pr);
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

		if (ctl_proc_result(pr, false, &info, e) == 0) {
			ctl_proc_ids(pr, info);
			json_array_append_new(*result, info);
		}
	}
	return 0;
}

void ctl_proc_release(struct ctl *ctl)
{
	for (size_t i = 0; ctl->procs && i < ctl->procs->n; i++)
		ctl_proc_free(ctl->procs->v[i]);
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
