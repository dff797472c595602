/* SPDX-License-Identifier: MIT */
/*
 * ctl_harness: the selected dispatcher and the last reply for the tests that
 * drive ctl_call(); see ctl_harness.h.
 */
#include "ctl_harness.h"

#include <errno.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "dp.h"
#include "log.h"
#include "port.h"

static struct ctl *th_ctl;
static json_t *th_reply;

void th_use(struct ctl *ctl)
{
	th_set_last(NULL);
	th_ctl = ctl;
}

json_t *th_vjson(const char *fmt, va_list ap)
{
	char text[2048];
	json_error_t jerr;
	json_t *v;

	vsnprintf(text, sizeof(text), fmt, ap);
	for (char *c = text; *c; c++)
		if (*c == '\'')
			*c = '"';
	v = json_loads(text, JSON_DECODE_ANY, &jerr);
	if (!v)
		fail_msg("bad test JSON %s: %s", text, jerr.text);
	return v;
}

json_t *th_run(const char *cmd, const char *args_fmt, ...)
{
	json_t *args;
	va_list ap;

	va_start(ap, args_fmt);
	args = th_vjson(args_fmt, ap);
	va_end(ap);
	return th_call(cmd, args);
}

json_t *th_run_as(const struct ctl_caller *caller, const char *cmd, const char *args_fmt, ...)
{
	json_t *args, *req;
	va_list ap;
	char *text, *out;

	va_start(ap, args_fmt);
	args = th_vjson(args_fmt, ap);
	va_end(ap);
	req = json_pack("{s:s, s:o}", "cmd", cmd, "args", args);
	text = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	assert_non_null(text);
	out = ctl_dispatch_text_as(th_ctl, text, strlen(text), caller, NULL);
	th_set_last(json_loads(out, 0, NULL));
	free(text);
	free(out);
	return th_reply;
}

json_t *th_call(const char *cmd, json_t *args)
{
	th_set_last(ctl_call(th_ctl, cmd, args));
	return th_reply;
}

void th_set_last(json_t *reply)
{
	json_decref(th_reply);
	th_reply = reply;
}

json_t *th_last(void)
{
	return th_reply;
}

void th_dump_last(const char *why)
{
	char *s = json_dumps(th_reply, JSON_COMPACT);

	print_error("%s: %s\n", why, s ? s : "?");
	free(s);
}

json_t *th_last_ok(void)
{
	if (ctl_reply_error(th_reply, NULL, NULL) != 0) {
		th_dump_last("expected ok");
		fail();
	}
	return json_object_get(th_reply, "result");
}

void th_last_err(const char *code, const char *substring)
{
	const char *c = NULL, *m = NULL;

	if (ctl_reply_error(th_reply, &c, &m) != -EINVAL || !m || !strstr(m, substring) ||
	    (code && (!c || strcmp(c, code) != 0))) {
		if (code)
			print_error("expected error %s containing \"%s\"\n", code, substring);
		else
			print_error("expected an error containing \"%s\"\n", substring);
		th_dump_last("got");
		fail();
	}
}

void th_open(const struct dp_config *cfg, struct dp **dp, struct ctl **ctl)
{
	log_set_level(LOG_LVL_WARN);
	assert_int_equal(dp_create(cfg, dp), 0);
	assert_int_equal(dp_start(*dp), 0);
	assert_int_equal(ctl_create(*dp, ctl), 0);
	th_use(*ctl);
}

void th_close(struct dp *dp, struct ctl *ctl)
{
	th_use(NULL);
	ctl_destroy(ctl);
	dp_destroy(dp);
}

void th_add_pairs(struct ctl *ctl, int *peer, int n, int on_br0)
{
	for (int i = 0; i < n; i++) {
		struct port *p;
		char name[16];

		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(port_pair_open(name, &p, &peer[i]), 0);
		assert_int_equal(ctl_attach_port(ctl, i < on_br0 ? "br0" : "br1", p, NULL), 0);
	}
}

void th_open_pairs(const struct dp_config *cfg, struct dp **dp, struct ctl **ctl, int *peer,
		   int n)
{
	th_open(cfg, dp, ctl);
	OK("bridge/add", "{'name': 'br0'}");
	OK("bridge/add", "{'name': 'br1'}");
	th_add_pairs(*ctl, peer, n, n - 1);
}

void th_close_pairs(struct dp *dp, struct ctl *ctl, int *peer, int n)
{
	th_close(dp, ctl);
	for (int i = 0; i < n; i++)
		close(peer[i]);
}
