/* SPDX-License-Identifier: MIT */
/*
 * ctl_harness: the shared way tests drive the control dispatcher. A test
 * selects its struct ctl with th_use(), runs commands whose arguments are
 * written as JSON text with single quotes ('x' for "x") and printf
 * formatting, and checks the last reply with th_last_ok() / th_last_err(),
 * or in one step with OK(...) and ERR(code, substring, ...). The harness
 * keeps one reply at a time: each request frees the previous reply.
 */
#ifndef TAPYARD_TESTS_CTL_HARNESS_H
#define TAPYARD_TESTS_CTL_HARNESS_H

#include <stdarg.h>

#include <jansson.h>

struct ctl;

struct dp;
struct dp_config;

/*
 * th_open() - a running switch and a dispatcher over it, selected with
 * th_use(); log level warn. Fails the test when anything cannot start.
 */
void th_open(const struct dp_config *cfg, struct dp **dp, struct ctl **ctl);

/* Undo th_open(): forget the last reply, free the dispatcher, stop and free the switch. */
void th_close(struct dp *dp, struct ctl *ctl);

/*
 * th_add_pairs() - open n `pair` ports p0..p(n-1) and attach the first on_br0
 * of them to bridge br0, the others to br1; peer[i] receives the test's end
 * of port i. Fails the test on error.
 */
void th_add_pairs(struct ctl *ctl, int *peer, int n, int on_br0);

/*
 * th_open_pairs() - th_open() with bridges br0 and br1 and n `pair` ports
 * p0..p(n-1): the last one on br1, the others on br0. peer[i] receives the
 * test's end of port i.
 */
void th_open_pairs(const struct dp_config *cfg, struct dp **dp, struct ctl **ctl, int *peer,
		   int n);

/* Undo th_open_pairs(): th_close(), then close the n peers. */
void th_close_pairs(struct dp *dp, struct ctl *ctl, int *peer, int n);

/*
 * th_use() - select the dispatcher later requests go to.
 * @ctl: the dispatcher (NULL to forget it); any kept reply is freed.
 */
void th_use(struct ctl *ctl);

/*
 * th_vjson() - parse printf-formatted JSON text written with single quotes.
 * @fmt, @ap: the text and its arguments; fails the test when it is not JSON
 * Return: a new reference.
 */
json_t *th_vjson(const char *fmt, va_list ap);

/*
 * th_run() - call cmd with arguments given as JSON text ('x' for "x").
 * @cmd: the command name
 * @args_fmt: printf format of the arguments' JSON text
 * Return: the reply, borrowed and kept as the last one until the next request.
 */
json_t *th_run(const char *cmd, const char *args_fmt, ...) __attribute__((format(printf, 2, 3)));

struct ctl_caller;

/*
 * th_run_as() - th_run() as a socket client would: for caller (NULL: this
 * process), through ctl_dispatch_text_as().
 * Return: the reply, borrowed and kept as the last one.
 */
json_t *th_run_as(const struct ctl_caller *caller, const char *cmd, const char *args_fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * th_call() - call cmd with arguments already built.
 * @cmd: the command name
 * @args: the arguments (stolen)
 * Return: the reply, borrowed and kept as the last one.
 */
json_t *th_call(const char *cmd, json_t *args);

/*
 * th_set_last() - keep a reply obtained some other way as the last one.
 * @reply: the reply (stolen; may be NULL)
 */
void th_set_last(json_t *reply);

/*
 * th_last() - the last reply.
 * Return: a borrowed reference (NULL before the first request).
 */
json_t *th_last(void);

/*
 * th_dump_last() - print the last reply as compact JSON after why.
 * @why: a short prefix saying what was expected
 */
void th_dump_last(const char *why);

/*
 * th_last_ok() - the result of the last reply, which must be ok.
 * Return: the borrowed "result" member; fails the test on an error reply.
 */
json_t *th_last_ok(void);

/*
 * th_last_err() - the last reply must be an error.
 * @code: the expected error code ("ENOENT"), or NULL for any code
 * @substring: a part the error message must contain
 */
void th_last_err(const char *code, const char *substring);

#define OK(...) (th_run(__VA_ARGS__), th_last_ok())
#define ERR(code, substring, ...) (th_run(__VA_ARGS__), th_last_err(code, substring))

#endif
