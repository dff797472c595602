/* SPDX-License-Identifier: MIT */
/*
 * cli_capture: the capture commands of `tapyard ctl`. Each command
 * parses its words into one request (follow: a series of capture/read
 * requests on one connection) and prints the reply for humans: a frame is one
 * tcpdump-like line built from the decoded fields capture/read returns.
 */
#include "cli_capture.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_opt.h"
#include "cli.h"
#include "cli_client.h"

#define CAPTURE_CLI_TIMEOUT_MS 60000
#define CAPTURE_CLI_WAIT_MS 1000 /* follow: how long one read waits for frames */

/* The parsed words of one capture command. */
struct cli_capture_words {
	const char *cmd;
	bool json, follow;
	char **pos; /* borrowed from res */
	int npos;
	struct ctl_opt_res res; /* the options: cli_capture_opt() */
};

/* The options of every capture command; each command ignores those it has no use for. */
enum { CAP_FOLLOW = 1, CAP_BRIDGE, CAP_SNAPLEN, CAP_WRITE, CAP_MODE, CAP_CURSOR, CAP_MAX };

static const struct ctl_opt cli_capture_opts[] = {
	{"follow", 0, false, CAP_FOLLOW, NULL},	 {"bridge", 0, true, CAP_BRIDGE, NULL},
	{"snaplen", 0, true, CAP_SNAPLEN, NULL}, {"write", 0, true, CAP_WRITE, NULL},
	{"mode", 0, true, CAP_MODE, NULL},	 {"cursor", 0, true, CAP_CURSOR, NULL},
	{"max", 0, true, CAP_MAX, NULL},	 {NULL, 0, false, 0, NULL},
};

/* A usage error: "tapyard: capture: MESSAGE (see tapyard ctl capture --help)". */
#define cli_capture_usage(...) ctl_opt_usage("capture", "ctl capture", __VA_ARGS__)

/* The value of option id (CAP_*), or NULL when it was not given. */
static const char *cli_capture_opt(const struct cli_capture_words *c, int id)
{
	return ctl_opt_get(&c->res, id);
}

static int cli_capture_parse(struct cli_capture_words *c, int argc, char **argv)
{
	struct ctl_opt_res *res = &c->res;
	int err = ctl_opt_parse(cli_capture_opts, 0, argc, argv, res);

	if (err)
		return err == -ENOMEM ? CTL_EXIT_ERROR : cli_capture_usage("%s", res->msg);
	if (res->npos > 2)
		return cli_capture_usage("unexpected word \"%s\"", res->pos[2]);
	c->follow = ctl_opt_has(res, CAP_FOLLOW);
	c->pos = res->pos;
	c->npos = res->npos;
	return 0;
}

/* Set args.key to option --key of c, a number (when given). */
static int cli_capture_set_num(struct cli_capture_words *c, json_t *args, const char *key, int id)
{
	const char *s = cli_capture_opt(c, id);
	long long v;

	if (!s)
		return 0;
	if (ctl_opt_int(s, 0, LLONG_MAX, &v))
		return cli_capture_usage("--%s needs a number", key);
	json_object_set_new(args, key, json_integer(v));
	return 0;
}

/* Set args.key to s when there is one. */
static void cli_capture_set_str(json_t *args, const char *key, const char *s)
{
	if (s)
		json_object_set_new(args, key, json_string(s));
}

/* Set args.path to file made absolute: the daemon does not share our working directory. */
static int cli_capture_set_path(json_t *args, const char *file)
{
	char cwd[PATH_MAX], path[PATH_MAX + 256];

	if (file[0] == '/') {
		json_object_set_new(args, "path", json_string(file));
		return 0;
	}
	if (!getcwd(cwd, sizeof(cwd)))
		return cli_capture_usage("cannot resolve \"%s\": no working directory", file);
	snprintf(path, sizeof(path), "%s/%s", cwd, file);
	json_object_set_new(args, "path", json_string(path));
	return 0;
}

/* capture/start: PORT or --bridge B, and the options. */
static int cli_capture_start(struct cli_capture_words *c, json_t *args)
{
	const char *bridge = cli_capture_opt(c, CAP_BRIDGE), *write = cli_capture_opt(c, CAP_WRITE);
	int rc;

	if ((c->npos == 1) == (bridge != NULL) || c->npos > 1)
		return cli_capture_usage("start: give PORT or --bridge BRIDGE");
	cli_capture_set_str(args, "bridge", bridge);
	cli_capture_set_str(args, "port", bridge ? NULL : c->pos[0]);
	cli_capture_set_str(args, "mode", cli_capture_opt(c, CAP_MODE));
	rc = cli_capture_set_num(c, args, "snaplen", CAP_SNAPLEN);
	if (!rc && write)
		rc = cli_capture_set_path(args, write);
	return rc;
}

/* args.id from the first word. */
static int cli_capture_id(struct cli_capture_words *c, json_t *args)
{
	long long id;

	if (!c->npos || ctl_opt_int(c->pos[0], 1, LLONG_MAX, &id))
		return cli_capture_usage("expected a capture ID");
	json_object_set_new(args, "id", json_integer(id));
	return 0;
}

/* The request's args for command c. */
static int cli_capture_args(struct cli_capture_words *c, json_t *args)
{
	int rc;

	if (strcmp(c->cmd, "capture/start") == 0)
		return cli_capture_start(c, args);
	if (strcmp(c->cmd, "capture/list") == 0) {
		if (c->npos)
			return cli_capture_usage("list takes no words, not \"%s\"", c->pos[0]);
		cli_capture_set_str(args, "bridge", cli_capture_opt(c, CAP_BRIDGE));
		return 0;
	}
	rc = cli_capture_id(c, args);
	if (!rc && strcmp(c->cmd, "capture/save") == 0) {
		if (c->npos != 2)
			return cli_capture_usage("save: give ID FILE");
		rc = cli_capture_set_path(args, c->pos[1]);
	} else if (!rc && c->npos > 1) {
		rc = cli_capture_usage("unexpected word \"%s\"", c->pos[1]);
	}
	if (!rc)
		rc = cli_capture_set_num(c, args, "cursor", CAP_CURSOR);
	if (!rc)
		rc = cli_capture_set_num(c, args, "max", CAP_MAX);
	return rc;
}

/* ---- output ---- */

static const char *cli_capture_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static json_int_t cli_capture_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

/* "port:typ0" for {"port": "typ0"}: one word, for awk. */
static void cli_capture_target(json_t *target, char *buf, size_t size)
{
	const char *key;
	json_t *v;

	snprintf(buf, size, "?");
	json_object_foreach(target, key, v)
		snprintf(buf, size, "%s:%s", key, json_string_value(v) ? json_string_value(v) : "");
}

static const char *cli_capture_ethertype(json_int_t type)
{
	switch (type) {
	case 0x0800:
		return "IPv4";
	case 0x86dd:
		return "IPv6";
	case 0x0806:
		return "ARP";
	default:
		return NULL;
	}
}

/* " echo request" and the like for ICMP and ARP, else "". */
static const char *cli_capture_what(json_t *fr, const char *proto)
{
	json_int_t type = cli_capture_int(fr, "icmp_type");

	if (strcmp(proto, "icmp") == 0 && json_object_get(fr, "icmp_type"))
		return type == 8 ? " echo request" : type == 0 ? " echo reply" : "";
	if (strcmp(proto, "icmpv6") == 0 && json_object_get(fr, "icmp_type"))
		return type == 128 ? " echo request" : type == 129 ? " echo reply" : "";
	if (strcmp(proto, "arp") == 0)
		return cli_capture_int(fr, "arp_op") == 1 ? " request" : " reply";
	return "";
}

/* An address with its port when it has one: "10.0.0.1.5201". */
static void cli_capture_endpoint(json_t *fr, const char *ip, const char *port, char *buf,
				 size_t size)
{
	if (json_object_get(fr, port))
		snprintf(buf, size, "%s.%lld", cli_capture_str(fr, ip),
			 (long long)cli_capture_int(fr, port));
	else
		snprintf(buf, size, "%s", cli_capture_str(fr, ip));
}

/* The network part of a frame's line: "IPv4 10.0.0.1 > 10.0.0.2 ICMP echo request". */
static void cli_capture_l3(json_t *fr, char *buf, size_t size)
{
	json_int_t ethertype = cli_capture_int(fr, "ethertype");
	const char *name = cli_capture_ethertype(ethertype), *proto = cli_capture_str(fr, "proto");
	char src[64], dst[64], upper[16];
	size_t i;

	if (!name) {
		snprintf(buf, size, "ethertype 0x%04llx", (long long)ethertype);
		return;
	}
	for (i = 0; proto[i] && i < sizeof(upper) - 1; i++)
		upper[i] = (char)(proto[i] >= 'a' && proto[i] <= 'z' ? proto[i] - 32 : proto[i]);
	upper[i] = '\0';
	if (!json_object_get(fr, "src_ip")) {
		snprintf(buf, size, "%s", name);
		return;
	}
	cli_capture_endpoint(fr, "src_ip", "sport", src, sizeof(src));
	cli_capture_endpoint(fr, "dst_ip", "dport", dst, sizeof(dst));
	if (ethertype == 0x0806)
		snprintf(buf, size, "ARP%s %s > %s", cli_capture_what(fr, proto), src, dst);
	else
		snprintf(buf, size, "%s %s > %s %s%s", name, src, dst, upper,
			 cli_capture_what(fr, proto));
}

/* One frame as a tcpdump-like line. */
static void cli_capture_frame(FILE *f, json_t *fr)
{
	double ts = json_number_value(json_object_get(fr, "ts"));
	time_t sec = (time_t)ts;
	char clock[16] = "", l3[192];
	struct tm tm;

	if (localtime_r(&sec, &tm))
		strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	cli_capture_l3(fr, l3, sizeof(l3));
	fprintf(f, "%s.%06ld %s %s %s > %s %s len %lld", clock, (long)((ts - (double)sec) * 1e6),
		cli_capture_str(fr, "nic"), cli_capture_str(fr, "dir"),
		cli_capture_str(fr, "src_mac"), cli_capture_str(fr, "dst_mac"), l3,
		(long long)cli_capture_int(fr, "len"));
	if (json_object_get(fr, "drop_reason"))
		fprintf(f, " (dropped: %s%s%s)", cli_capture_str(fr, "drop_reason"),
			json_object_get(fr, "peer") ? ", peer " : "", cli_capture_str(fr, "peer"));
	fputc('\n', f);
}

static void cli_capture_print_list(json_t *list)
{
	char target[64];
	json_t *c;
	size_t i;

	printf("%-4s %-24s %-5s %-8s %10s %8s  %s\n", "ID", "TARGET", "MODE", "STATE", "FRAMES",
	       "DROPPED", "PATH");
	json_array_foreach(list, i, c) {
		cli_capture_target(json_object_get(c, "target"), target, sizeof(target));
		printf("%-4lld %-24s %-5s %-8s %10lld %8lld  %s\n",
		       (long long)cli_capture_int(c, "id"), target, cli_capture_str(c, "mode"),
		       json_is_true(json_object_get(c, "running")) ? "running" : "stopped",
		       (long long)cli_capture_int(c, "frames"),
		       (long long)cli_capture_int(c, "dropped"),
		       json_is_string(json_object_get(c, "path")) ? cli_capture_str(c, "path")
								  : "-");
	}
}

/* Print a command's result for humans. */
static void cli_capture_print(const char *cmd, json_t *res)
{
	json_t *fr;
	size_t i;

	if (strcmp(cmd, "capture/start") == 0) {
		printf("%lld\n", (long long)cli_capture_int(res, "id"));
	} else if (strcmp(cmd, "capture/stop") == 0) {
		printf("frames %lld dropped %lld evicted %lld\n",
		       (long long)cli_capture_int(res, "frames"),
		       (long long)cli_capture_int(res, "dropped"),
		       (long long)cli_capture_int(res, "evicted"));
	} else if (strcmp(cmd, "capture/list") == 0) {
		cli_capture_print_list(res);
	} else if (strcmp(cmd, "capture/save") == 0) {
		printf("%lld frames written to %s\n", (long long)cli_capture_int(res, "frames"),
		       cli_capture_str(res, "path"));
	} else {
		json_array_foreach(json_object_get(res, "frames"), i, fr)
			cli_capture_frame(stdout, fr);
	}
}

/* ---- running ---- */

/* Send req; on success *res borrows the reply's result (*reply holds it). */
static int cli_capture_call(struct cli_client *client, json_t *req, json_t **reply, json_t **res,
			    bool json)
{
	const char *message;
	char *text;
	int err;

	err = cli_client_call(client, req, reply);
	if (err) {
		fprintf(stderr, "tapyard: the daemon did not answer: %s\n", strerror(-err));
		return CTL_EXIT_UNREACHABLE;
	}
	if (json && strcmp(json_string_value(json_object_get(req, "cmd")), "capture/read") != 0) {
		text = json_dumps(*reply, JSON_INDENT(2));
		if (text)
			puts(text);
		free(text);
	}
	if (ctl_reply_error(*reply, NULL, &message)) {
		fprintf(stderr, "tapyard: error: %s\n", message ? message : "malformed reply");
		return CTL_EXIT_ERROR;
	}
	*res = json_object_get(*reply, "result");
	return CTL_EXIT_OK;
}

/* Print the frames of a read reply, as lines or (json) one object per line. */
static void cli_capture_frames(json_t *res, bool json)
{
	json_t *fr;
	char *text;
	size_t i;

	json_array_foreach(json_object_get(res, "frames"), i, fr) {
		if (!json) {
			cli_capture_frame(stdout, fr);
			continue;
		}
		text = json_dumps(fr, JSON_COMPACT);
		if (text)
			puts(text);
		free(text);
	}
	if (cli_capture_int(res, "dropped"))
		fprintf(stderr, "tapyard: %lld frames were let go of before they were read\n",
			(long long)cli_capture_int(res, "dropped"));
	fflush(stdout);
}

/* Read frame after frame until the capture stops and everything it kept was read. */
static int cli_capture_follow(struct cli_client *client, json_t *args, bool json)
{
	json_t *req, *reply = NULL, *res;
	int rc = CTL_EXIT_OK;
	bool more = true;

	json_object_set_new(args, "data", json_boolean(json));
	/* The daemon answers when frames come or the capture stops (other clients meanwhile). */
	json_object_set_new(args, "wait_ms", json_integer(CAPTURE_CLI_WAIT_MS));
	while (more && !rc) {
		req = json_pack("{s:s, s:O}", "cmd", "capture/read", "args", args);
		rc = cli_capture_call(client, req, &reply, &res, json);
		json_decref(req);
		if (!rc) {
			cli_capture_frames(res, json);
			json_object_set(args, "cursor", json_object_get(res, "next_cursor"));
			more = json_array_size(json_object_get(res, "frames")) ||
			       json_is_true(json_object_get(res, "running"));
		}
		json_decref(reply);
		reply = NULL;
	}
	return rc;
}

int cli_capture(const char *socket, bool json, const char *cmd, int argc, char **argv)
{
	struct cli_capture_words c = {.cmd = cmd, .json = json};
	struct cli_client *client = NULL;
	json_t *args = json_object(), *req = NULL, *reply = NULL, *res;
	int rc, err;

	rc = cli_capture_parse(&c, argc, argv);
	if (!rc && strcmp(cmd, "capture/follow") == 0 && !c.npos)
		rc = cli_capture_usage("give a capture ID to follow");
	if (!rc && strcmp(cmd, "capture/follow") == 0)
		c.cmd = "capture/read", c.follow = true;
	if (!rc)
		rc = cli_capture_args(&c, args);
	if (!rc) {
		err = cli_client_connect(socket, CAPTURE_CLI_TIMEOUT_MS, &client);
		if (err) {
			fprintf(stderr, "tapyard: cannot reach the daemon at %s: %s\n", socket,
				strerror(-err));
			rc = CTL_EXIT_UNREACHABLE;
		}
	}
	if (!rc && c.follow) {
		rc = cli_capture_follow(client, args, json);
	} else if (!rc) {
		req = json_pack("{s:s, s:O}", "cmd", c.cmd, "args", args);
		rc = cli_capture_call(client, req, &reply, &res, json);
		if (!rc && json && strcmp(c.cmd, "capture/read") == 0)
			cli_capture_frames(res, true);
		else if (!rc && !json)
			cli_capture_print(c.cmd, res);
	}
	cli_client_close(client);
	json_decref(req);
	json_decref(reply);
	json_decref(args);
	ctl_opt_free(&c.res);
	return rc;
}
