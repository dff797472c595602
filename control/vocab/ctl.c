/* SPDX-License-Identifier: MIT */
/*
 * ctl: the command dispatcher. One list of tables (a table per command
 * module) maps command names to handlers; ctl_dispatch() checks the request,
 * runs its handler under the dispatcher's lock (a command replying later
 * waits without it) and wraps the result or error into a reply.
 */
#include "ctl.h"
#include "clock.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_args.h"
#include "ctl_capture.h"
#include "ctl_core.h"
#include "ctl_guest.h"
#include "ctl_proc.h"
#include "ctl_impair.h"
#include "ctl_impl.h"
#include "ctl_link.h"
#include "log.h"

/* Every command table; a module adds its table here. */
static const struct ctl_cmd_table ctl_tables[] = {
	CTL_TABLE(ctl_core_cmds),
	CTL_TABLE(ctl_link_cmds),
	CTL_TABLE(ctl_guest_cmds),
	CTL_TABLE(ctl_proc_cmds),
	CTL_TABLE(ctl_impair_cmds),
	CTL_TABLE(ctl_capture_cmds),
};

static const struct ctl_cmd *ctl_cmd_find(const char *name)
{
	for (size_t t = 0; t < sizeof(ctl_tables) / sizeof(ctl_tables[0]); t++) {
		for (size_t i = 0; i < ctl_tables[t].n; i++) {
			if (strcmp(ctl_tables[t].cmds[i].name, name) == 0)
				return &ctl_tables[t].cmds[i];
		}
	}
	return NULL;
}

/* Check the request envelope; find its command and args (an empty object when absent). */
static int ctl_request_parse(json_t *req, const struct ctl_cmd **cmd, json_t **args,
			     struct ctl_err *e)
{
	const char *key, *name;
	json_t *v;

	if (!json_is_object(req))
		return ctl_args_fail(e, -EINVAL, "request: expected an object");
	json_object_foreach(req, key, v) {
		if (strcmp(key, "cmd") != 0 && strcmp(key, "args") != 0 && strcmp(key, "id") != 0)
			return ctl_args_fail(e, -EINVAL, "%s: unknown request field", key);
	}
	v = json_object_get(req, "cmd");
	if (!v)
		return ctl_args_fail(e, -EINVAL, "cmd: missing");
	name = json_string_value(v);
	if (!name)
		return ctl_args_fail(e, -EINVAL, "cmd: expected a string");
	*cmd = ctl_cmd_find(name);
	if (!*cmd)
		return ctl_args_fail(e, -ENOSYS, "unknown command \"%s\"", name);
	*args = json_object_get(req, "args");
	if (!*args || json_is_null(*args))
		*args = ctl_must(json_object());
	else if (json_is_object(*args))
		json_incref(*args);
	else
		*args = NULL;
	if (!*args)
		return ctl_args_fail(e, -EINVAL, "args: expected an object");
	return ctl_args_check(*args, (*cmd)->args, e);
}

json_t *ctl_error_reply(int err, const char *fmt, ...)
{
	char msg[sizeof(((struct ctl_err *)0)->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ctl_must(json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
				  ctl_errno_name(err), "message", msg));
}

/* Wait for a command that replies later, without the lock unless nested, then finish it. */
static int ctl_later_run(struct ctl *ctl, struct ctl_later *later, bool nested,
			 const atomic_bool *stop, json_t **result, struct ctl_err *e)
{
	int err = 0;

	const struct ctl_caller *caller = ctl->caller;

	if (later->wait && !nested) {
		ctl->depth--;
		pthread_mutex_unlock(&ctl->lock);
		err = later->wait(later, stop);
		pthread_mutex_lock(&ctl->lock);
		ctl->depth++;
		ctl->caller = caller; /* others ran meanwhile */
	} else if (later->wait) {
		err = later->wait(later, stop);
	}
	return later->finish(ctl, later, err, result, e);
}

/* May caller run cmd (its class, struct ctl_perm)? A nested call runs as its caller's. */
static int ctl_allowed(const struct ctl_caller *caller, const struct ctl_cmd *cmd,
		       struct ctl_err *e)
{
	if (caller && caller->member && cmd->perm == CTL_PERM_ADMIN)
		return ctl_args_fail(e, -EPERM,
				     "permission denied: %s is for root and the daemon's user "
				     "(it runs as them); members of the daemon's group may not",
				     cmd->name);
	return 0;
}

/* Run cmd for caller with the lock held (but while a command replying later waits). */
static int ctl_run(struct ctl *ctl, const struct ctl_cmd *cmd, json_t *args,
		   const struct ctl_caller *caller, const atomic_bool *stop, json_t **result,
		   struct ctl_err *e)
{
	struct ctl_later later = {0};
	bool nested;
	int err;

	pthread_mutex_lock(&ctl->lock);
	nested = ctl->depth++ > 0;
	if (!nested)
		ctl->caller = caller;
	err = ctl_allowed(ctl->caller, cmd, e);
	if (!err && cmd->fn) {
		err = cmd->fn(ctl, args, result, e);
	} else if (!err) {
		err = cmd->start(ctl, args, &later, e);
		if (!err)
			err = ctl_later_run(ctl, &later, nested, stop, result, e);
	}
	if (!nested)
		ctl->caller = NULL;
	ctl->depth--;
	pthread_mutex_unlock(&ctl->lock);
	return err;
}

/* ctl_dispatch() for caller, whose command, when it replies later, ends its wait once *stop is set.
 */
static json_t *ctl_dispatch_as(struct ctl *ctl, json_t *request, const struct ctl_caller *caller,
			       const atomic_bool *stop)
{
	const struct ctl_cmd *cmd = NULL;
	struct ctl_err e = {0};
	json_t *args = NULL, *result = NULL, *reply, *id;
	int err;

	err = ctl_request_parse(request, &cmd, &args, &e);
	if (!err)
		err = ctl_run(ctl, cmd, args, caller, stop, &result, &e);
	json_decref(args);
	if (err && !e.code)
		ctl_args_fail(&e, err, "%s: %s", cmd ? cmd->name : "request", strerror(-err));
	if (err) {
		json_decref(result);
		reply = ctl_error_reply(e.code, "%s", e.msg);
	} else {
		reply = ctl_must(json_pack("{s:b, s:o}", "ok", 1, "result",
					   result ? result : ctl_must(json_object())));
	}
	id = json_is_object(request) ? json_object_get(request, "id") : NULL;
	if (id)
		json_object_set(reply, "id", id);
	return reply;
}

json_t *ctl_dispatch(struct ctl *ctl, json_t *request)
{
	return ctl_dispatch_as(ctl, request, NULL, NULL);
}

char *ctl_dispatch_text_as(struct ctl *ctl, const char *text, size_t len,
			   const struct ctl_caller *caller, const atomic_bool *stop)
{
	json_error_t jerr;
	json_t *req, *reply;
	char *out;

	req = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
	if (req)
		reply = ctl_dispatch_as(ctl, req, caller, stop);
	else
		reply = ctl_error_reply(-EINVAL, "request: invalid JSON at column %d: %s",
					jerr.column, jerr.text);
	json_decref(req);
	out = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	if (!out) {
		fprintf(stderr, "tapyard: error: out of memory writing a reply\n");
		abort();
	}
	return out;
}

char *ctl_dispatch_text(struct ctl *ctl, const char *text, size_t len)
{
	return ctl_dispatch_text_as(ctl, text, len, NULL, NULL);
}

bool ctl_text_may_block(const char *text, size_t len)
{
	json_t *req = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
	const char *name = json_string_value(json_object_get(req, "cmd"));
	const struct ctl_cmd *cmd = name ? ctl_cmd_find(name) : NULL;
	/* A command replying later may wait, or build a large reply (capture/read): either way
	 * not on the server's poll thread. */
	bool may_block = cmd && cmd->start;

	json_decref(req);
	return may_block;
}

json_t *ctl_call(struct ctl *ctl, const char *cmd, json_t *args)
{
	json_t *req, *reply;

	req = ctl_must(
		json_pack("{s:s, s:o}", "cmd", cmd, "args", args ? args : ctl_must(json_object())));
	reply = ctl_dispatch(ctl, req);
	json_decref(req);
	return reply;
}

int ctl_reply_error(json_t *reply, const char **code, const char **message)
{
	json_t *ok = json_object_get(reply, "ok");
	json_t *error = json_object_get(reply, "error");

	if (code)
		*code = NULL;
	if (message)
		*message = NULL;
	if (json_is_true(ok) && json_object_get(reply, "result"))
		return 0;
	if (!json_is_false(ok) || !json_is_object(error))
		return -EPROTO;
	if (code)
		*code = json_string_value(json_object_get(error, "code"));
	if (message)
		*message = json_string_value(json_object_get(error, "message"));
	return -EINVAL;
}

void ctl_set_record(struct ctl *ctl, const struct ctl_record_ops *ops, void *ctx)
{
	ctl->record_ops = ops;
	ctl->record_ctx = ctx;
}

struct dp *ctl_dp(struct ctl *ctl)
{
	return ctl->dp;
}

int ctl_create(struct dp *dp, struct ctl **out)
{
	struct ctl *ctl = calloc(1, sizeof(*ctl));
	pthread_mutexattr_t attr;

	if (!ctl)
		return -ENOMEM;
	ctl->scratch = calloc(1, sizeof(*ctl->scratch));
	if (!ctl->scratch) {
		free(ctl);
		return -ENOMEM;
	}
	ctl->dp = dp;
	ctl->start_ns = clock_mono_ns();
	/* Recursive: a command may run others through ctl_call() (see struct ctl). */
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&ctl->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	*out = ctl;
	return 0;
}

void ctl_destroy(struct ctl *ctl)
{
	if (!ctl)
		return;
	ctl_capture_release(ctl);
	ctl_proc_release(ctl);
	ctl_guest_release(ctl);
	ctl_link_release(ctl);
	pthread_mutex_destroy(&ctl->lock);
	free(ctl->scratch);
	free(ctl);
}
