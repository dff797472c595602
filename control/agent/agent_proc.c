/* SPDX-License-Identifier: MIT */
/*
 * agent_proc: the agent's table of background processes and the proc_*
 * requests on it (see agent_proc.h). An entry lives while it is in the table
 * or a proc_wait holds it: proc_release takes it out and kills the process,
 * the last holder frees it.
 */
#include "agent_proc.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

struct agent_proc {
	int64_t id;
	struct guest_proc *p;
	unsigned int refs; /* the table's, and each proc_wait's */
};

struct agent_procs {
	pthread_mutex_t lock;
	struct agent_proc *v[AGENT_PROC_MAX];
	size_t n;
	int64_t next_id;
};

struct agent_procs *agent_procs_new(void)
{
	struct agent_procs *t = calloc(1, sizeof(*t));

	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

/* Drop a reference (under t->lock); the last one kills and frees the process. */
static void agent_proc_put(struct agent_proc *pr)
{
	if (--pr->refs)
		return;
	guest_proc_destroy(pr->p);
	free(pr);
}

void agent_procs_destroy(struct agent_procs *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		agent_proc_put(t->v[i]);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The process args.id names (under t->lock), its index into *idx when idx is not NULL. */
static int agent_proc_find(struct agent_procs *t, json_t *args, struct agent_proc **out,
			   size_t *idx, struct agent_err *e)
{
	int64_t id = 0;
	int err = agent_int_arg(args, "id", 1, INT64_MAX, &id, e);

	if (!err && !id)
		err = agent_fail(e, -EINVAL, "args.id: missing");
	if (err)
		return err;
	for (size_t i = 0; i < t->n; i++) {
		if (t->v[i]->id == id) {
			*out = t->v[i];
			if (idx)
				*idx = i;
			return 0;
		}
	}
	return agent_fail(e, -ENOENT, "process %lld not found", (long long)id);
}

/* args.key as a boolean (absent: def). */
static int agent_proc_bool(json_t *args, const char *key, bool def, bool *out, struct agent_err *e)
{
	json_t *v = json_object_get(args, key);

	if (v && !json_is_boolean(v))
		return agent_fail(e, -EINVAL, "args.%s: expected a boolean", key);
	*out = v ? json_is_true(v) : def;
	return 0;
}

static int agent_proc_start(struct agent_procs *t, json_t *args, json_t **result,
			    struct agent_err *e)
{
	struct agent_proc *pr = NULL;
	struct agent_run run;
	int err = agent_run_args(args, &run, e);

	if (!err && t->n == AGENT_PROC_MAX)
		err = agent_fail(e, -ENOSPC, "too many processes (%d)", AGENT_PROC_MAX);
	if (!err && !(pr = calloc(1, sizeof(*pr))))
		err = agent_fail(e, -ENOMEM, "out of memory");
	if (!err) {
		run.req.detach = true;
		err = guest_run_spawn(&run.req, NULL, NULL, &pr->p);
		if (err)
			agent_fail(e, err, "cannot run: %s", strerror(-err));
	}
	agent_run_free(&run);
	if (err) {
		free(pr);
		return err;
	}
	pr->id = ++t->next_id;
	pr->refs = 1;
	t->v[t->n++] = pr;
	*result = json_pack("{s:I, s:i}", "id", (json_int_t)pr->id, "pid",
			    (int)guest_proc_pid(pr->p));
	return 0;
}

/* proc_wait: without the lock, holding a reference. */
static int agent_proc_wait(struct agent_procs *t, json_t *args, json_t **result,
			   struct agent_err *e)
{
	struct agent_proc *pr;
	int64_t ms = -1;
	int err;

	pthread_mutex_lock(&t->lock);
	err = agent_int_arg(args, "timeout_ms", 0, AGENT_PROC_WAIT_MAX_MS, &ms, e);
	if (!err && ms < 0)
		err = agent_fail(e, -EINVAL, "args.timeout_ms: missing");
	if (!err)
		err = agent_proc_find(t, args, &pr, NULL, e);
	if (!err)
		pr->refs++;
	pthread_mutex_unlock(&t->lock);
	if (err)
		return err;
	err = guest_proc_wait(pr->p, ms, NULL);
	pthread_mutex_lock(&t->lock);
	agent_proc_put(pr);
	pthread_mutex_unlock(&t->lock);
	if (err && err != -ETIMEDOUT)
		return agent_fail(e, err, "wait: %s", strerror(-err));
	*result = json_pack("{s:b}", "exited", !err);
	return 0;
}

static int agent_proc_info(struct agent_proc *pr, json_t *args, json_t **result,
			   struct agent_err *e)
{
	struct guest_run_result res;
	bool output = true, timed_out = false;
	int done = agent_proc_bool(args, "output", true, &output, e);

	if (!done)
		done = agent_proc_bool(args, "timed_out", false, &timed_out, e);
	if (done)
		return done;
	done = guest_proc_result(pr->p, timed_out, &res);
	if (done < 0)
		return agent_fail(e, done, "process output: %s", strerror(-done));
	*result = agent_proc_result(&res, done);
	guest_run_result_free(&res);
	if (*result && !output) {
		json_object_del(*result, "stdout");
		json_object_del(*result, "stderr");
	}
	return *result ? 0 : agent_fail(e, -ENOMEM, "out of memory");
}

static int agent_proc_write(struct agent_proc *pr, json_t *args, json_t **result,
			    struct agent_err *e)
{
	const char *data;
	size_t len;
	ssize_t n;
	int err = agent_text_arg(args, "data", AGENT_LINE_MAX, &data, &len, e);

	if (err)
		return err;
	n = guest_proc_write(pr->p, data, len);
	if (n < 0)
		return agent_fail(e, (int)n, "process %lld: cannot write to its stdin: %s",
				  (long long)pr->id, n == -EPIPE ? "it is closed" : "it does not read");
	*result = json_pack("{s:I}", "written", (json_int_t)n);
	return 0;
}

static int agent_proc_signal(struct agent_proc *pr, json_t *args, struct agent_err *e)
{
	int64_t sig = 0;
	int err = agent_int_arg(args, "signal", 1, NSIG - 1, &sig, e);

	if (!err && !sig)
		err = agent_fail(e, -EINVAL, "args.signal: missing");
	if (!err && (err = guest_proc_signal(pr->p, (int)sig)))
		agent_fail(e, err, "process %lld: %s", (long long)pr->id,
			   err == -ESRCH ? "it has ended" : strerror(-err));
	return err;
}

/* The requests on one process, under t->lock. */
static int agent_proc_on(struct agent_procs *t, const struct agent_req *req, json_t **result,
			 struct agent_err *e)
{
	struct agent_proc *pr;
	size_t i;
	int err = agent_proc_find(t, req->args, &pr, &i, e);

	if (err)
		return err;
	switch (req->cmd) {
	case AGENT_PROC_INFO:
		return agent_proc_info(pr, req->args, result, e);
	case AGENT_PROC_SIGNAL:
		return agent_proc_signal(pr, req->args, e);
	case AGENT_PROC_WRITE:
		return agent_proc_write(pr, req->args, result, e);
	case AGENT_PROC_CLOSE_STDIN:
		guest_proc_close_stdin(pr->p);
		return 0;
	case AGENT_PROC_RELEASE:
		t->v[i] = t->v[--t->n];
		guest_proc_signal(pr->p, SIGKILL); /* a proc_wait holding it ends now */
		agent_proc_put(pr);
		return 0;
	default:
		return agent_fail(e, -ENOSYS, "not a process request");
	}
}

int agent_proc_exec(struct agent_procs *t, const struct agent_req *req, json_t **result,
		    struct agent_err *e)
{
	int err;

	if (req->cmd == AGENT_PROC_WAIT)
		return agent_proc_wait(t, req->args, result, e);
	pthread_mutex_lock(&t->lock);
	if (req->cmd == AGENT_PROC_START)
		err = agent_proc_start(t, req->args, result, e);
	else
		err = agent_proc_on(t, req, result, e);
	pthread_mutex_unlock(&t->lock);
	return err;
}
