/* SPDX-License-Identifier: MIT */
/*
 * agent_proto: parsing and checking the agent's requests, building its
 * replies (see agent_proto.h). No I/O, no state.
 */
#include "agent_proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A command's name and the args it takes (NULL-terminated). */
struct agent_cmd_def {
	const char *name;
	const char *const args[10];
};

static const struct agent_cmd_def agent_cmds[] = {
	[AGENT_HELLO] = {"hello", {NULL}},
	[AGENT_RUN] = {"run",
		       {"cmd", "argv", "env", "cwd", "stdin", "timeout_ms", "max_output", "signal",
			NULL}},
	[AGENT_NIC] = {"nic", {"mac", "name", "addr", "prefix", "mtu", "up", NULL}},
	[AGENT_HOSTS] = {"hosts", {"text", NULL}},
	[AGENT_HOSTNAME] = {"hostname", {"name", NULL}},
	[AGENT_CARRIER] = {"carrier", {"name", "wait_for", "timeout_ms", NULL}},
	[AGENT_POWEROFF] = {"poweroff", {NULL}},
	[AGENT_PROC_START] = {"proc_start", {"cmd", "argv", "env", "cwd", "max_output", NULL}},
	[AGENT_PROC_WAIT] = {"proc_wait", {"id", "timeout_ms", NULL}},
	[AGENT_PROC_INFO] = {"proc_info", {"id", "output", "timed_out", NULL}},
	[AGENT_PROC_SIGNAL] = {"proc_signal", {"id", "signal", NULL}},
	[AGENT_PROC_WRITE] = {"proc_write", {"id", "data", NULL}},
	[AGENT_PROC_CLOSE_STDIN] = {"proc_close_stdin", {"id", NULL}},
	[AGENT_PROC_RELEASE] = {"proc_release", {"id", NULL}},
};

#define AGENT_NCMDS (sizeof(agent_cmds) / sizeof(agent_cmds[0]))

int agent_fail(struct agent_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	e->err = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

/* Is key one of the command's args? */
static bool agent_arg_known(const struct agent_cmd_def *d, const char *key)
{
	for (size_t i = 0; d->args[i]; i++) {
		if (strcmp(d->args[i], key) == 0)
			return true;
	}
	return false;
}

/* The envelope's fields: cmd, args, id; nothing else. */
static int agent_envelope(json_t *root, struct agent_req *req, struct agent_err *e)
{
	const char *key, *name;
	json_t *v;

	json_object_foreach(root, key, v) {
		if (strcmp(key, "cmd") && strcmp(key, "args") && strcmp(key, "id"))
			return agent_fail(e, -EINVAL, "%.64s: unknown request field", key);
	}
	name = json_string_value(json_object_get(root, "cmd"));
	if (!name)
		return agent_fail(e, -EINVAL, "cmd: missing or not a string");
	for (size_t i = 0; i < AGENT_NCMDS; i++) {
		if (strcmp(agent_cmds[i].name, name) == 0) {
			req->cmd = (enum agent_cmd)i;
			return 0;
		}
	}
	return agent_fail(e, -ENOSYS, "unknown command \"%.64s\"", name);
}

int agent_req_parse(const char *line, size_t len, struct agent_req *req, struct agent_err *e)
{
	const struct agent_cmd_def *d;
	json_error_t jerr;
	const char *key;
	json_t *v;
	int err;

	memset(req, 0, sizeof(*req));
	req->root = json_loadb(line, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!req->root)
		return agent_fail(e, -EINVAL, "request: not JSON: %s", jerr.text);
	if (!json_is_object(req->root))
		return agent_fail(e, -EINVAL, "request: expected an object");
	req->id = json_object_get(req->root, "id");
	err = agent_envelope(req->root, req, e);
	if (err)
		return err;
	req->args = json_object_get(req->root, "args");
	if (!req->args || json_is_null(req->args)) {
		req->args = json_object();
		if (!req->args || json_object_set_new(req->root, "args", req->args))
			return agent_fail(e, -ENOMEM, "out of memory");
	}
	if (!json_is_object(req->args))
		return agent_fail(e, -EINVAL, "args: expected an object");
	d = &agent_cmds[req->cmd];
	json_object_foreach(req->args, key, v) {
		if (!agent_arg_known(d, key))
			return agent_fail(e, -EINVAL, "args.%.64s: unknown field for %s", key,
					  d->name);
	}
	return 0;
}

void agent_req_free(struct agent_req *req)
{
	json_decref(req->root);
	memset(req, 0, sizeof(*req));
}

int agent_int_arg(json_t *args, const char *key, int64_t min, int64_t max, int64_t *out,
		  struct agent_err *e)
{
	json_t *v = json_object_get(args, key);

	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return agent_fail(e, -EINVAL, "args.%s: expected an integer in [%lld, %lld]", key,
				  (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

/* args[key] as a string without NULs (absent: *out NULL). */
static int agent_str_arg(json_t *args, const char *key, const char **out, struct agent_err *e)
{
	json_t *v = json_object_get(args, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return agent_fail(e, -EINVAL, "args.%s: expected a string without NUL", key);
	*out = json_string_value(v);
	return 0;
}

int agent_text_arg(json_t *args, const char *key, size_t max, const char **text, size_t *len,
		   struct agent_err *e)
{
	json_t *v = json_object_get(args, key);

	if (!json_is_string(v))
		return agent_fail(e, -EINVAL, "args.%s: expected a string", key);
	if (json_string_length(v) > max)
		return agent_fail(e, -E2BIG, "args.%s: longer than %zu bytes", key, max);
	*text = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

/* args.argv: a non-empty array of strings, borrowed into run->argv. */
static int agent_argv_arg(json_t *a, struct agent_run *run, struct agent_err *e)
{
	json_t *v;
	size_t i;

	if (!json_is_array(a) || !json_array_size(a) || json_array_size(a) > 4096)
		return agent_fail(e, -EINVAL, "args.argv: expected 1 to 4096 strings");
	run->argv = calloc(json_array_size(a) + 1, sizeof(*run->argv));
	if (!run->argv)
		return agent_fail(e, -ENOMEM, "out of memory");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
			return agent_fail(e, -EINVAL, "args.argv[%zu]: expected a string", i);
		run->argv[i] = json_string_value(v);
	}
	return 0;
}

/* args.env: an object of strings, made into "K=V" entries in run->env. */
static int agent_env_arg(json_t *en, struct agent_run *run, struct agent_err *e)
{
	const char *key;
	json_t *v;
	size_t i = 0;

	if (!json_is_object(en) || json_object_size(en) > 4096)
		return agent_fail(e, -EINVAL, "args.env: expected an object of strings");
	run->env = calloc(json_object_size(en) + 1, sizeof(*run->env));
	if (!run->env)
		return agent_fail(e, -ENOMEM, "out of memory");
	json_object_foreach(en, key, v) {
		if (!json_is_string(v) || !*key || strchr(key, '=') ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return agent_fail(e, -EINVAL, "args.env.%.64s: expected a string value",
					  key);
		if (asprintf(&run->env[i++], "%s=%s", key, json_string_value(v)) < 0)
			return agent_fail(e, -ENOMEM, "out of memory");
	}
	return 0;
}

/* The numbers of a run: timeout_ms, max_output, signal. */
static int agent_run_numbers(json_t *args, struct guest_run_req *req, struct agent_err *e)
{
	int64_t timeout = 0, max = 0, sig = SIGKILL;
	int err;

	err = agent_int_arg(args, "timeout_ms", 0, INT32_MAX, &timeout, e);
	if (!err)
		err = agent_int_arg(args, "max_output", 0, AGENT_OUTPUT_MAX, &max, e);
	if (!err)
		err = agent_int_arg(args, "signal", 1, NSIG - 1, &sig, e);
	req->timeout_ms = (uint64_t)timeout;
	req->max_output = (size_t)max;
	req->kill_signal = (int)sig;
	return err;
}

int agent_run_args(json_t *args, struct agent_run *run, struct agent_err *e)
{
	json_t *a = json_object_get(args, "argv"), *en = json_object_get(args, "env");
	json_t *in = json_object_get(args, "stdin");
	int err;

	memset(run, 0, sizeof(*run));
	err = agent_str_arg(args, "cmd", &run->req.cmd, e);
	if (!err)
		err = agent_str_arg(args, "cwd", &run->req.cwd, e);
	if (!err && !run->req.cmd == !a)
		err = agent_fail(e, -EINVAL, "args: give cmd or argv (exactly one)");
	if (!err && a)
		err = agent_argv_arg(a, run, e);
	if (!err && en)
		err = agent_env_arg(en, run, e);
	if (!err && in && !json_is_string(in))
		err = agent_fail(e, -EINVAL, "args.stdin: expected a string");
	if (!err)
		err = agent_run_numbers(args, &run->req, e);
	if (err)
		return err;
	run->req.argv = run->argv;
	run->req.env = (const char *const *)run->env;
	run->req.stdin_data = json_string_value(in);
	run->req.stdin_len = in ? json_string_length(in) : 0;
	return 0;
}

void agent_run_free(struct agent_run *run)
{
	for (size_t i = 0; run->env && run->env[i]; i++)
		free(run->env[i]);
	free(run->env);
	free(run->argv);
	memset(run, 0, sizeof(*run));
}

/* Length of the valid UTF-8 sequence at s (of n bytes), or 0 when it is not one. */
static size_t agent_utf8_len(const unsigned char *s, size_t n)
{
	size_t want = s[0] < 0x80		    ? 1
		      : s[0] >= 0xc2 && s[0] < 0xe0 ? 2
		      : s[0] >= 0xe0 && s[0] < 0xf0 ? 3
		      : s[0] >= 0xf0 && s[0] < 0xf5 ? 4
						    : 0;

	if (!want || want > n)
		return 0;
	for (size_t i = 1; i < want; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	}
	/* overlong three-byte forms, surrogates, and beyond U+10FFFF */
	if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) ||
	    (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))
		return 0;
	return want;
}

/*
 * Output bytes as a JSON string: as they are when they are UTF-8 (NULs
 * included), else with each byte that is not replaced by U+FFFD, since a
 * reply line must be valid JSON.
 */
static json_t *agent_bytes(const char *data, size_t len)
{
	const unsigned char *s = (const unsigned char *)(data ? data : "");
	json_t *str = json_stringn(data ? data : "", len);
	size_t i = 0, o = 0, n;
	char *fixed;

	if (str || !data)
		return str;
	fixed = malloc(len * 3 + 1);
	if (!fixed)
		return NULL;
	while (i < len) {
		n = agent_utf8_len(s + i, len - i);
		if (n) {
			memcpy(fixed + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	str = json_stringn(fixed, o);
	free(fixed);
	return str;
}

json_t *agent_run_result(const struct guest_run_result *r)
{
	return guest_run_result_json(r, agent_bytes);
}

json_t *agent_proc_result(const struct guest_run_result *r, bool done)
{
	json_t *res = done ? agent_run_result(r)
			   : json_pack("{s:s, s:o, s:o}", "status", "running", "stdout",
				       agent_bytes(r->out, r->out_len), "stderr",
				       agent_bytes(r->err, r->err_len));

	if (res && json_object_set_new(res, "running", json_boolean(!done))) {
		json_decref(res);
		res = NULL;
	}
	return res;
}

/* "52:54:00:12:34:56" into mac. */
static int agent_parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* A Linux interface name: 1 to 15 bytes, no '/', ':', whitespace; not "." or "..". */
static bool agent_ifname_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (!n || n > 15 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return strcspn(s, "/: \t\n\r") == n;
}

/* args.name as an interface name into out[16]. */
static int agent_ifname_arg(json_t *args, char out[16], struct agent_err *e)
{
	const char *s;
	int err = agent_str_arg(args, "name", &s, e);

	if (!err && !agent_ifname_ok(s))
		err = agent_fail(e, -EINVAL, "args.name: expected an interface name (1-15 bytes)");
	if (!err)
		snprintf(out, 16, "%s", s);
	return err;
}

int agent_nic_args(json_t *args, struct agent_nic *nic, struct agent_err *e)
{
	int64_t prefix = 32, mtu = 0;
	json_t *up = json_object_get(args, "up");
	const char *mac, *addr;
	struct in_addr in;
	int err;

	memset(nic, 0, sizeof(*nic));
	err = agent_str_arg(args, "mac", &mac, e);
	if (!err && (!mac || agent_parse_mac(mac, nic->mac)))
		err = agent_fail(e, -EINVAL, "args.mac: expected xx:xx:xx:xx:xx:xx");
	if (!err)
		err = agent_ifname_arg(args, nic->name, e);
	if (!err)
		err = agent_str_arg(args, "addr", &addr, e);
	if (!err && addr && inet_pton(AF_INET, addr, &in) != 1)
		err = agent_fail(e, -EINVAL, "args.addr: expected an IPv4 address");
	if (!err)
		err = agent_int_arg(args, "prefix", 0, 32, &prefix, e);
	if (!err)
		err = agent_int_arg(args, "mtu", 68, 65535, &mtu, e);
	if (!err && up && !json_is_boolean(up))
		err = agent_fail(e, -EINVAL, "args.up: expected a boolean");
	if (err)
		return err;
	nic->addr = addr ? in.s_addr : 0;
	nic->prefix = (unsigned int)prefix;
	nic->mtu = (unsigned int)mtu;
	nic->up = !up || json_is_true(up);
	return 0;
}

int agent_carrier_args(json_t *args, struct agent_carrier *c, struct agent_err *e)
{
	json_t *w = json_object_get(args, "wait_for");
	int64_t timeout = 2000;
	int err;

	memset(c, 0, sizeof(*c));
	err = agent_ifname_arg(args, c->name, e);
	if (!err && w && !json_is_boolean(w))
		err = agent_fail(e, -EINVAL, "args.wait_for: expected a boolean");
	if (!err)
		err = agent_int_arg(args, "timeout_ms", 0, 600000, &timeout, e);
	c->want = w ? json_is_true(w) : -1;
	c->timeout_ms = (uint64_t)timeout;
	return err;
}

/* One JSON object as a newline-terminated line (consumes obj). */
static char *agent_line(json_t *obj)
{
	char *s = NULL, *line;
	size_t n;

	if (obj)
		s = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!s)
		return NULL;
	n = strlen(s);
	line = realloc(s, n + 2);
	if (!line) {
		free(s);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = '\0';
	return line;
}

/* Add the request's id to a reply (when there was one). */
static json_t *agent_with_id(json_t *reply, json_t *id)
{
	if (reply && id && json_object_set(reply, "id", id)) {
		json_decref(reply);
		return NULL;
	}
	return reply;
}

char *agent_reply_ok(json_t *id, json_t *result)
{
	json_t *reply = json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_object());

	return agent_line(agent_with_id(reply, id));
}

char *agent_reply_err(json_t *id, const struct agent_err *e)
{
	const char *code = strerrorname_np(-e->err);
	json_t *reply = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
				  code ? code : "EIO", "message", e->msg);

	return agent_line(agent_with_id(reply, id));
}

json_t *agent_hello(const char *version, const char *kernel)
{
	return json_pack("{s:s, s:s, s:s}", "agent", "tapyard-agent", "version", version, "kernel",
			 kernel);
}

char *agent_event_ready(const char *version, const char *kernel)
{
	json_t *ev = agent_hello(version, kernel);

	if (ev && json_object_set_new(ev, "event", json_string("ready"))) {
		json_decref(ev);
		ev = NULL;
	}
	return agent_line(ev);
}
