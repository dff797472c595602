/* SPDX-License-Identifier: MIT */
/*
 * agent_proto: the guest agent's line protocol, both directions, as pure
 * functions (no I/O): one JSON object per line, shaped like the control
 * vocabulary's requests and replies.
 *
 *   request  {"id": ANY, "cmd": "run", "args": {...}}
 *   reply    {"id": ANY, "ok": true, "result": {...}}
 *            {"id": ANY, "ok": false, "error": {"code": "EINVAL", "message": "..."}}
 *   event    {"event": "ready", "agent": "tapyard-agent", "version": "...", "kernel": "..."}
 *
 * Commands: hello, run, nic, hosts, hostname, carrier, poweroff, and the
 * background processes' proc_* (agent_proc.h); README: "The guest agent".
 * Every field is checked and bounded; a bad line gets an error reply naming
 * what was wrong.
 */
#ifndef TAPYARD_AGENT_PROTO_H
#define TAPYARD_AGENT_PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_run.h"

#define AGENT_PORT_NAME "org.tapyard.agent" /* the virtio-serial port's name */
#define AGENT_LINE_MAX (8u << 20) /* longest request line (a run's stdin is inside it) */
#define AGENT_TEXT_MAX (1u << 20) /* longest hosts file */
#define AGENT_OUTPUT_MAX (16u << 20) /* largest max_output a run may ask for */

enum agent_cmd {
	AGENT_HELLO,
	AGENT_RUN,
	AGENT_NIC,
	AGENT_HOSTS,
	AGENT_HOSTNAME,
	AGENT_CARRIER,
	AGENT_POWEROFF,
	AGENT_PROC_START,
	AGENT_PROC_WAIT,
	AGENT_PROC_INFO,
	AGENT_PROC_SIGNAL,
	AGENT_PROC_WRITE,
	AGENT_PROC_CLOSE_STDIN,
	AGENT_PROC_RELEASE,
};

/* What went wrong with a request: an errno name and a message naming the field. */
struct agent_err {
	int err; /* negative errno */
	char msg[256];
};

/* A parsed request; free with agent_req_free(). */
struct agent_req {
	enum agent_cmd cmd;
	json_t *root; /* the whole request (owned) */
	json_t *id; /* borrowed from root; NULL when the request had none */
	json_t *args; /* borrowed from root, or an empty object (owned by root's reference) */
};

/*
 * agent_req_parse() - parse one request line (without its newline) and check
 * its envelope and the names and types of its args.
 * Return: 0, or a negative errno with e filled (req->id is still set when the
 * line had one, so that the error reply can carry it).
 */
int agent_req_parse(const char *line, size_t len, struct agent_req *req, struct agent_err *e);

/* Free what agent_req_parse() kept. */
void agent_req_free(struct agent_req *req);

/* A run's request, with storage for its lists; free with agent_run_free(). */
struct agent_run {
	struct guest_run_req req;
	const char **argv; /* strings borrowed from the request's JSON */
	char **env; /* "K=V", allocated */
};

/*
 * agent_run_args() - fill run from a run request's args: cmd or argv
 * (exactly one), env, cwd, stdin, timeout_ms, max_output, signal.
 * Return: 0 or a negative errno with e filled.
 */
int agent_run_args(json_t *args, struct agent_run *run, struct agent_err *e);

/* Free the lists of a run. */
void agent_run_free(struct agent_run *run);

/*
 * agent_run_result() - a run's result as JSON, field for field the RunResult
 * of namespace guests: exit_code, status, signal, timed_out, stdout, stderr,
 * stdout_truncated, stderr_truncated, interrupted.
 */
json_t *agent_run_result(const struct guest_run_result *r);

/*
 * agent_proc_result() - what a background process wrote and whether it runs
 * (proc_info's result): agent_run_result()'s fields once it ended (done),
 * else status "running" with stdout and stderr so far; "running" either way.
 */
json_t *agent_proc_result(const struct guest_run_result *r, bool done);

/* agent_int_arg() - args[key] as an integer in [min, max]; absent leaves *out alone. */
int agent_int_arg(json_t *args, const char *key, int64_t min, int64_t max, int64_t *out,
		  struct agent_err *e);

/* What a nic request asks for. */
struct agent_nic {
	uint8_t mac[6]; /* the NIC to configure */
	char name[16]; /* its new name */
	uint32_t addr; /* IPv4, network byte order; 0 for none */
	unsigned int prefix;
	unsigned int mtu; /* 0: unchanged */
	bool up;
};

/* agent_nic_args() - fill nic from args {mac, name, addr, prefix, mtu, up}. */
int agent_nic_args(json_t *args, struct agent_nic *nic, struct agent_err *e);

/* What a carrier request asks for. */
struct agent_carrier {
	char name[16];
	int want; /* -1: report now; 0 or 1: wait until the carrier is that */
	uint64_t timeout_ms; /* for want >= 0 */
};

/* agent_carrier_args() - fill c from args {name, wait_for, timeout_ms}. */
int agent_carrier_args(json_t *args, struct agent_carrier *c, struct agent_err *e);

/* agent_text_arg() - args[key] as a string of at most max bytes (*len set). */
int agent_text_arg(json_t *args, const char *key, size_t max, const char **text, size_t *len,
		   struct agent_err *e);

/* agent_fail() - fill e and return err. */
int agent_fail(struct agent_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * agent_reply_ok() - the reply line to request id (may be NULL) with result
 * (stolen; NULL: {}), newline-terminated, malloc'ed; NULL when out of memory.
 */
char *agent_reply_ok(json_t *id, json_t *result);

/* agent_reply_err() - the error reply line to request id (may be NULL). */
char *agent_reply_err(json_t *id, const struct agent_err *e);

/* agent_hello() - the hello result (and ready event's fields): agent, version, kernel. */
json_t *agent_hello(const char *version, const char *kernel);

/* agent_event_ready() - the line the agent writes when it starts. */
char *agent_event_ready(const char *version, const char *kernel);

#endif
