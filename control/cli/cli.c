/* SPDX-License-Identifier: MIT */
/*
 * cli: `tapyard ctl`. One table lists every command's words, usage,
 * wire command and how its positional words and options become args; the
 * request goes to the daemon through cli_client and the reply is printed by
 * cli_print (or as JSON). A CLI_WATCH command (watch) repeats its request
 * every --interval on one connection; the hidden global option --repeat N
 * sends any request N times and prints round-trip latencies instead.
 */
#include "cli.h"
#include "clock.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "counters.h"
#include "cli_capture.h"
#include "cli_impair.h"
#include "cli_client.h"
#include "cli_print.h"
#include "ctl.h"
#include "ctl_opt.h"
#include "interrupt.h"

#define CTL_CLI_TIMEOUT_MS 60000 /* longest wait for a reply */

/* Command-specific options (the ids of cli_cmd_opts) and how commands parse. */
enum {
	CLI_EXISTING = 1 << 0, /* --existing */
	CLI_ONEWAY = 1 << 1, /* --oneway */
	CLI_BRIDGE = 1 << 2, /* --bridge B */
	CLI_VALUE = 1 << 3, /* --value NAME */
	CLI_INTERVAL = 1 << 4, /* --interval S */
	CLI_COUNT = 1 << 5, /* --count N */
	CLI_WATCH = 1 << 6, /* repeat the request every --interval, print rates (no print fn) */
	CLI_RAW = 1 << 7, /* cli_capture() parses the words and runs the command */
	CLI_WORDS = 1 << 8, /* every word, options too, is positional: the build function parses */
	CLI_TAP = 1 << 9, /* --tap */
	CLI_NETDEV = 1 << 10, /* --netdev */
	CLI_QMP = 1 << 11, /* --qmp PATH */
	CLI_QMP_NETDEV = 1 << 12, /* --qmp-netdev ID */
	CLI_CLEAR = 1 << 13, /* --clear */
};

struct cli;

struct cli_cmd {
	const char *words; /* what the user types, e.g. "port add" */
	const char *usage; /* positional words and options after them */
	const char *help; /* one line */
	const char *name; /* wire command */
	unsigned int opts; /* CLI_* options accepted */
	int min, max; /* positional words; max < 0: any number */
	const char *keys[2]; /* args names of the first positional words */
	int (*build)(struct cli *cli, json_t *args); /* extra args; NULL: keys only */
	void (*print)(FILE *f, json_t *result); /* NULL: print nothing */
};

/* One invocation of `tapyard ctl`, as parsed. */
struct cli {
	const char *socket;
	bool json, help, existing, oneway;
	const char *type; /* --tap or --netdev: the port class */
	const char *bridge, *value, *interval, *count;
	const char *qmp, *qmp_netdev; /* --qmp, --qmp-netdev */
	bool clear; /* --clear */
	long long repeat; /* hidden --repeat N: measure N round trips */
	char **pos; /* positional words after the command's words */
	int npos;
	const struct cli_cmd *cmd;
	struct ctl_opt_res global; /* the global options; its pos: every other word */
	struct ctl_opt_res local; /* the command's options and positional words */
};

/* Global options, taken from anywhere on the line before the command is known. */
enum { CLI_OPT_SOCKET = 1, CLI_OPT_JSON, CLI_OPT_REPEAT, CLI_OPT_HELP };

static const struct ctl_opt cli_global_opts[] = {
	{"socket", 0, true, CLI_OPT_SOCKET, "PATH"},
	{"json", 0, false, CLI_OPT_JSON, NULL},
	{"repeat", 0, true, CLI_OPT_REPEAT, "count from 1 to 10000000"}, /* hidden */
	{"help", 'h', false, CLI_OPT_HELP, NULL},
	{NULL, 0, false, 0, NULL},
};

/* Every command option; a command accepts those whose id is in its opts. */
static const struct ctl_opt cli_cmd_opts[] = {
	{"existing", 0, false, CLI_EXISTING, NULL},
	{"oneway", 0, false, CLI_ONEWAY, NULL},
	{"bridge", 0, true, CLI_BRIDGE, NULL},
	{"value", 0, true, CLI_VALUE, NULL},
	{"interval", 0, true, CLI_INTERVAL, NULL},
	{"count", 0, true, CLI_COUNT, NULL},
	{"tap", 0, false, CLI_TAP, NULL},
	{"netdev", 0, false, CLI_NETDEV, NULL},
	{"qmp", 0, true, CLI_QMP, NULL},
	{"qmp-netdev", 0, true, CLI_QMP_NETDEV, NULL},
	{"clear", 0, false, CLI_CLEAR, NULL},
	{NULL, 0, false, 0, NULL},
};

#define CLI_NOPTS (sizeof(cli_cmd_opts) / sizeof(cli_cmd_opts[0]))

static int cli_build_link(struct cli *cli, json_t *args);
static int cli_build_qmp(struct cli *cli, json_t *args);
static int cli_build_partition(struct cli *cli, json_t *args);
static int cli_build_counters(struct cli *cli, json_t *args);
static int cli_build_impair(struct cli *cli, json_t *args);
static int cli_build_impair_timer(struct cli *cli, json_t *args);
static int cli_build_impair_schedule(struct cli *cli, json_t *args);

/* clang-format off */
static const struct cli_cmd cli_cmds[] = {
	{"status", "", "show version, uptime and loop statistics", "status", 0, 0, 0, {0}, NULL,
	 cli_print_status},
	{"bridge add", "NAME", "add a bridge", "bridge/add", 0, 1, 1, {"name"}, NULL, NULL},
	{"bridge del", "NAME", "delete a bridge and its ports", "bridge/del", 0, 1, 1, {"name"},
	 NULL, NULL},
	{"bridge list", "", "list bridges and their ports", "bridge/list", 0, 0, 0, {0}, NULL,
	 cli_print_bridges},
	{"port add", "BRIDGE IFNAME [--existing] [--tap|--netdev] [--qmp PATH --qmp-netdev ID]",
	 "attach a TAP (created, or opened if free) or an interface (--netdev)", "port/add",
	 CLI_EXISTING | CLI_TAP | CLI_NETDEV | CLI_QMP | CLI_QMP_NETDEV, 2, 2, {"bridge", "name"},
	 cli_build_qmp, cli_print_port_added},
	{"port del", "IFNAME", "detach a port (deleting a TAP tapyard created)", "port/del", 0, 1,
	 1, {"name"}, NULL, NULL},
	{"port list", "[BRIDGE]", "list ports", "port/list", 0, 0, 1, {"bridge"}, NULL,
	 cli_print_ports},
	{"link set", "PORT up|down", "set a port's link (the guest sees the carrier)",
	 "link/set", 0, 2, 2, {"port"}, cli_build_link, NULL},
	{"link qmp", "PORT --qmp PATH --qmp-netdev ID | PORT --clear",
	 "tell a VM's guest of link changes through QEMU's QMP socket (or stop)", "link/qmp",
	 CLI_QMP | CLI_QMP_NETDEV | CLI_CLEAR, 1, 1, {"port"}, cli_build_qmp, cli_print_ports},
	{"partition cut", "A B [--oneway]",
	 "cut A from B (a,b,...: several ports) both ways",
	 "partition/cut", CLI_ONEWAY, 2, 2, {0}, cli_build_partition, NULL},
	{"partition heal", "A B [--oneway]", "heal what partition cut did", "partition/heal",
	 CLI_ONEWAY, 2, 2, {0}, cli_build_partition, NULL},
	{"partition isolate", "PORT", "cut PORT from every other port of its bridge",
	 "partition/isolate", 0, 1, 1, {"port"}, NULL, NULL},
	{"partition unisolate", "PORT", "heal every path to and from PORT", "partition/unisolate",
	 0, 1, 1, {"port"}, NULL, NULL},
	{"partition heal-all", "[BRIDGE]", "heal every cut path (of one bridge)",
	 "partition/heal_all", 0, 0, 1, {"bridge"}, NULL, NULL},
	{"partition list", "[BRIDGE]", "list cut paths", "partition/list", 0, 0, 1, {"bridge"},
	 NULL, cli_print_partitions},
	{"counters", "[PORT...] [--bridge B] [--value NAME]",
	 "port counters (--value: one number per port)", "counters/get",
	 CLI_BRIDGE | CLI_VALUE, 0, -1, {0}, cli_build_counters, cli_print_counters},
	{"counters reset", "[PORT]", "zero the counters of one port or of all",
	 "counters/reset", 0, 0, 1, {"port"}, NULL, NULL},
	{"watch", "[PORT...] [--bridge B] [--interval S] [--count N]",
	 "live counters and rates, like top (S: 1 s)", "counters/get",
	 CLI_BRIDGE | CLI_INTERVAL | CLI_COUNT | CLI_WATCH, 0, -1, {0}, cli_build_counters, NULL},
	{"fdb show", "BRIDGE", "list learned MAC addresses", "fdb/show", 0, 1, 1, {"bridge"},
	 NULL, cli_print_fdb},
	{"fdb flush", "BRIDGE [PORT]", "forget learned addresses (of one port)", "fdb/flush", 0, 1,
	 2, {"bridge", "port"}, NULL, NULL},
	{"log set", "LEVEL", "log level: error, warn, info or debug", "log/set", 0,
	 1, 1, {"level"}, NULL, NULL},
	{"impair set", "TARGET KNOB VALUE... [--replace]",
	 "impair --bridge B, --port P --dir tx|rx or --from A --to B (netem words)",
	 "impair/set", CLI_WORDS, 3, -1, {0}, cli_build_impair, cli_impair_print},
	{"impair show", "TARGET", "an impairment's knobs and counters", "impair/get", CLI_WORDS,
	 2, 4, {0}, cli_build_impair, cli_impair_print},
	{"impair clear", "TARGET", "remove one target's impairment", "impair/clear", CLI_WORDS, 2,
	 4, {0}, cli_build_impair, NULL},
	{"impair clear-all", "[BRIDGE]", "remove every impairment (of one bridge)",
	 "impair/clear_all", 0, 0, 1, {"bridge"}, NULL, NULL},
	{"impair list", "[BRIDGE]", "list impairments with their counters", "impair/list", 0, 0,
	 1, {"bridge"}, NULL, cli_impair_print_list},
	{"impair schedule", "TARGET [--period P] at TIME KNOB VALUE... [at TIME ...]...",
	 "change knobs at set times (each step updates the last; P: repeat)",
	 "impair/schedule", CLI_WORDS, 4, -1, {0}, cli_build_impair_schedule, cli_impair_print},
	{"impair timer", "[SPIN|auto]",
	 "delay precision; SPIN (e.g. 100us, 0: sleep): poll for the last SPIN before a send; auto "
	 "(default): learned",
	 "impair/timer", 0, 0, 1, {0}, cli_build_impair_timer, cli_impair_print_timer},
	{"capture start", "PORT|--bridge B [--snaplen N] [--write F] [--mode M]",
	 "capture a NIC or bridge (M: auto, bpf, loop); prints its id", "capture/start", CLI_RAW,
	 0, -1, {0}, NULL, NULL},
	{"capture stop", "ID", "stop a capture; prints its counts", "capture/stop", CLI_RAW, 0, -1,
	 {0}, NULL, NULL},
	{"capture list", "[--bridge B]", "list captures", "capture/list", CLI_RAW, 0, -1, {0}, NULL,
	 NULL},
	{"capture save", "ID FILE", "write what a capture kept as pcapng", "capture/save", CLI_RAW,
	 0, -1, {0}, NULL, NULL},
	{"capture read", "ID [--cursor N] [--max N]", "print captured frames, one line each",
	 "capture/read", CLI_RAW, 0, -1, {0}, NULL, NULL},
	{"capture follow", "ID [--cursor N]", "print frames as they come until the capture stops",
	 "capture/follow", CLI_RAW, 0, -1, {0}, NULL, NULL},
	{"capture", "--follow ID", "the same as capture follow ID", "capture/follow", CLI_RAW, 0,
	 -1, {0}, NULL, NULL},
};
/* clang-format on */

#define CLI_NCMDS (sizeof(cli_cmds) / sizeof(cli_cmds[0]))

/* A usage error: "tapyard: MESSAGE (see tapyard ctl --help)". Returns CTL_EXIT_USAGE. */
#define cli_usage_error(...) ctl_opt_usage(NULL, "ctl", __VA_ARGS__)

static void cli_print_cmd(FILE *f, const struct cli_cmd *c)
{
	char line[96];

	snprintf(line, sizeof(line), "%s%s%s", c->words, c->usage[0] ? " " : "", c->usage);
	fprintf(f, "  %-46s  %s\n", line, c->help);
}

/* Is the first word of c's words group? */
static bool cli_in_group(const struct cli_cmd *c, const char *group)
{
	size_t len = strlen(group);

	return strncmp(c->words, group, len) == 0 && (c->words[len] == ' ' || !c->words[len]);
}

/* How many commands start with word. */
static int cli_group_size(const char *word)
{
	int n = 0;

	for (size_t i = 0; i < CLI_NCMDS; i++)
		n += cli_in_group(&cli_cmds[i], word);
	return n;
}

/* Print the usage of every command whose first word is group (NULL: all). */
static void cli_print_usage(FILE *f, const char *group)
{
	fprintf(f, "usage: tapyard ctl [--socket PATH] [--json] COMMAND ...\n\ncommands:\n");
	for (size_t i = 0; i < CLI_NCMDS; i++) {
		if (!group || cli_in_group(&cli_cmds[i], group))
			cli_print_cmd(f, &cli_cmds[i]);
	}
	if (group)
		return;
	fprintf(f,
		"\noptions:\n"
		"  --socket PATH  the daemon's socket (default $TAPYARD_SOCKET, else %s)\n"
		"  --json         print the daemon's JSON reply\n"
		"  --help         help for any command, e.g. tapyard ctl port add --help\n"
		"\nexit codes: 0 ok, 1 command failed, 2 usage, 3 cannot reach the daemon\n",
		CTL_DEFAULT_SOCKET);
}

/* How many of argv's words match the words of c (0: not all of them). */
static int cli_match_words(const struct cli_cmd *c, char **argv, int argc)
{
	const char *w = c->words;
	int n = 0;
	size_t len;

	while (*w) {
		len = strcspn(w, " ");
		if (n >= argc || strlen(argv[n]) != len || strncmp(argv[n], w, len) != 0)
			return 0;
		n++;
		w += len + (w[len] == ' ');
	}
	return n;
}

/* The command argv starts with (the longest match), and how many words it took. */
static const struct cli_cmd *cli_find(char **argv, int argc, int *used)
{
	const struct cli_cmd *best = NULL;
	int n;

	*used = 0;
	for (size_t i = 0; i < CLI_NCMDS; i++) {
		n = cli_match_words(&cli_cmds[i], argv, argc);
		if (n > *used) {
			best = &cli_cmds[i];
			*used = n;
		}
	}
	return best;
}

/* Take --socket, --json, --help and --repeat from anywhere; the rest goes to global.pos. */
static int cli_parse_global(struct cli *cli, int argc, char **argv)
{
	const char *repeat;
	int err;

	err = ctl_opt_parse(cli_global_opts, CTL_OPT_PASS, argc - 1, argv + 1, &cli->global);
	if (err)
		return err == -ENOMEM ? CTL_EXIT_ERROR : cli_usage_error("%s", cli->global.msg);
	if (ctl_opt_has(&cli->global, CLI_OPT_SOCKET))
		cli->socket = ctl_opt_get(&cli->global, CLI_OPT_SOCKET);
	cli->json = ctl_opt_has(&cli->global, CLI_OPT_JSON);
	cli->help = ctl_opt_has(&cli->global, CLI_OPT_HELP);
	repeat = ctl_opt_get(&cli->global, CLI_OPT_REPEAT);
	if (repeat && ctl_opt_int(repeat, 1, 10000000, &cli->repeat))
		return cli_usage_error("--repeat needs a count from 1 to 10000000");
	return CTL_EXIT_OK;
}

/* Parse the options the command accepts; the other words are positional. */
static int cli_parse_opts(struct cli *cli, char **argv, int argc)
{
	struct ctl_opt opts[CLI_NOPTS] = {0};
	struct ctl_opt_res *res = &cli->local;
	int n = 0, err;

	for (size_t i = 0; i < CLI_NOPTS - 1; i++) {
		if (cli->cmd->opts & (unsigned int)cli_cmd_opts[i].id)
			opts[n++] = cli_cmd_opts[i];
	}
	err = ctl_opt_parse(opts, 0, argc, argv, res);
	if (err)
		return err == -ENOMEM ? CTL_EXIT_ERROR : cli_usage_error("%s", res->msg);
	cli->existing = ctl_opt_has(res, CLI_EXISTING);
	cli->oneway = ctl_opt_has(res, CLI_ONEWAY);
	if (ctl_opt_has(res, CLI_TAP) && ctl_opt_has(res, CLI_NETDEV))
		return cli_usage_error("--tap and --netdev exclude each other");
	if (ctl_opt_has(res, CLI_TAP) || ctl_opt_has(res, CLI_NETDEV))
		cli->type = ctl_opt_has(res, CLI_TAP) ? "tap" : "netdev";
	cli->bridge = ctl_opt_get(res, CLI_BRIDGE);
	cli->value = ctl_opt_get(res, CLI_VALUE);
	cli->interval = ctl_opt_get(res, CLI_INTERVAL);
	cli->count = ctl_opt_get(res, CLI_COUNT);
	cli->qmp = ctl_opt_get(res, CLI_QMP);
	cli->qmp_netdev = ctl_opt_get(res, CLI_QMP_NETDEV);
	cli->clear = ctl_opt_has(res, CLI_CLEAR);
	cli->pos = res->pos;
	cli->npos = res->npos;
	return CTL_EXIT_OK;
}

/* Parse the words after the command's: all positional for CLI_WORDS commands. */
static int cli_parse_cmd(struct cli *cli, char **argv, int argc)
{
	const struct cli_cmd *c = cli->cmd;
	int rc = CTL_EXIT_OK;

	if (c->opts & CLI_WORDS) {
		cli->pos = argv;
		cli->npos = argc;
	} else {
		rc = cli_parse_opts(cli, argv, argc);
	}
	if (rc)
		return rc;
	if (cli->npos < c->min || (c->max >= 0 && cli->npos > c->max)) {
		fprintf(stderr, "tapyard: usage: tapyard ctl %s %s\n", c->words, c->usage);
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_OK;
}

static int cli_build_link(struct cli *cli, json_t *args)
{
	const char *state = cli->pos[1];

	if (strcmp(state, "up") != 0 && strcmp(state, "down") != 0)
		return cli_usage_error("link set: expected up or down, not \"%s\"", state);
	json_object_set_new(args, "up", json_boolean(strcmp(state, "up") == 0));
	return CTL_EXIT_OK;
}

/* --qmp PATH --qmp-netdev ID (both or neither), or link qmp's --clear. */
static int cli_build_qmp(struct cli *cli, json_t *args)
{
	bool link = strcmp(cli->cmd->name, "link/qmp") == 0;

	if (!cli->qmp != !cli->qmp_netdev)
		return cli_usage_error("%s needs %s too", cli->qmp ? "--qmp" : "--qmp-netdev",
				       cli->qmp ? "--qmp-netdev" : "--qmp");
	if (link && !cli->qmp == !cli->clear)
		return cli_usage_error("link qmp: give --qmp PATH --qmp-netdev ID, or --clear");
	if (!cli->qmp)
		return CTL_EXIT_OK;
	json_object_set_new(args, "qmp", json_string(cli->qmp));
	json_object_set_new(args, "qmp_netdev", json_string(cli->qmp_netdev));
	return CTL_EXIT_OK;
}

/* "a,b,c" as a JSON array of names. */
static int cli_names(const char *list, json_t **out)
{
	const char *p = list;
	size_t len;

	*out = json_array();
	for (;;) {
		len = strcspn(p, ",");
		if (!len) {
			json_decref(*out);
			return cli_usage_error("empty port name in \"%s\"", list);
		}
		json_array_append_new(*out, json_stringn(p, len));
		if (!p[len])
			return CTL_EXIT_OK;
		p += len + 1;
	}
}

static int cli_build_partition(struct cli *cli, json_t *args)
{
	json_t *from, *to;
	int rc;

	rc = cli_names(cli->pos[0], &from);
	if (rc)
		return rc;
	rc = cli_names(cli->pos[1], &to);
	if (rc) {
		json_decref(from);
		return rc;
	}
	json_object_set_new(args, "from", from);
	json_object_set_new(args, "to", to);
	return CTL_EXIT_OK;
}

static int cli_build_impair(struct cli *cli, json_t *args)
{
	return cli_impair_args(cli->pos, cli->npos, args);
}

static int cli_build_impair_schedule(struct cli *cli, json_t *args)
{
	return cli_impair_schedule(cli->pos, cli->npos, args);
}

static int cli_build_impair_timer(struct cli *cli, json_t *args)
{
	return cli_impair_timer(cli->pos, cli->npos, args);
}

static int cli_build_counters(struct cli *cli, json_t *args)
{
	json_t *ports;
	unsigned int i;

	if (cli->value) {
		for (i = 0; i < dp_counter_count; i++) {
			if (strcmp(cli->value, dp_counter_names[i]) == 0)
				break;
		}
		if (i == dp_counter_count)
			return cli_usage_error("unknown counter \"%s\"", cli->value);
	}
	if (cli->bridge)
		json_object_set_new(args, "bridge", json_string(cli->bridge));
	if (!cli->npos)
		return CTL_EXIT_OK;
	ports = json_array();
	for (int j = 0; j < cli->npos; j++)
		json_array_append_new(ports, json_string(cli->pos[j]));
	json_object_set_new(args, "port", ports);
	return CTL_EXIT_OK;
}

/* The request for the parsed command. */
static int cli_request(struct cli *cli, json_t **req)
{
	const struct cli_cmd *c = cli->cmd;
	json_t *args = json_object();
	int rc = CTL_EXIT_OK;

	for (int i = 0; i < 2 && c->keys[i] && i < cli->npos; i++)
		json_object_set_new(args, c->keys[i], json_string(cli->pos[i]));
	if (cli->existing)
		json_object_set_new(args, "existing", json_true());
	if (cli->oneway)
		json_object_set_new(args, "oneway", json_true());
	if (cli->type)
		json_object_set_new(args, "type", json_string(cli->type));
	if (c->build)
		rc = c->build(cli, args);
	if (rc) {
		json_decref(args);
		return rc;
	}
	*req = json_pack("{s:s, s:o}", "cmd", c->name, "args", args);
	return CTL_EXIT_OK;
}

static void cli_print_values(const char *counter, json_t *result)
{
	json_t *port;
	size_t i;

	json_array_foreach(json_object_get(result, "ports"), i, port)
		printf("%" JSON_INTEGER_FORMAT "\n",
		       json_integer_value(
			       json_object_get(json_object_get(port, "counters"), counter)));
}

/* Print a reply; returns the exit code it means. */
static int cli_output(struct cli *cli, json_t *reply)
{
	const char *message;
	char *text;

	if (cli->json) {
		text = json_dumps(reply, JSON_INDENT(2));
		if (text)
			puts(text);
		free(text);
	}
	if (ctl_reply_error(reply, NULL, &message)) {
		fprintf(stderr, "tapyard: error: %s\n", message ? message : "malformed reply");
		return CTL_EXIT_ERROR;
	}
	if (cli->json)
		return CTL_EXIT_OK;
	if (cli->value)
		cli_print_values(cli->value, json_object_get(reply, "result"));
	else if (cli->cmd->print)
		cli->cmd->print(stdout, json_object_get(reply, "result"));
	return CTL_EXIT_OK;
}

/* Say why the daemon cannot be reached. Returns CTL_EXIT_UNREACHABLE. */
static int cli_unreachable(struct cli *cli, int err)
{
	fprintf(stderr, "tapyard: cannot reach the daemon at %s: %s%s\n", cli->socket,
		strerror(-err),
		err == -ENOENT || err == -ECONNREFUSED ? " (is tapyard daemon running?)" : "");
	return CTL_EXIT_UNREACHABLE;
}

/* Send the request and print the reply. */
static int cli_run(struct cli *cli, json_t *req)
{
	struct cli_client *client;
	json_t *reply;
	int err, rc;

	err = cli_client_connect(cli->socket, CTL_CLI_TIMEOUT_MS, &client);
	if (!err) {
		err = cli_client_call(client, req, &reply);
		cli_client_close(client);
	}
	if (err)
		return cli_unreachable(cli, err);
	rc = cli_output(cli, reply);
	json_decref(reply);
	return rc;
}

static int cli_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Hidden --repeat N: send the request N times on one connection, print latencies. */
static int cli_repeat(struct cli *cli, json_t *req)
{
	struct cli_client *client = NULL;
	double *us, t, sum = 0;
	json_t *reply = NULL;
	int err, rc = CTL_EXIT_OK;
	long long n = 0;

	us = calloc((size_t)cli->repeat, sizeof(*us));
	if (!us)
		return CTL_EXIT_ERROR;
	err = cli_client_connect(cli->socket, CTL_CLI_TIMEOUT_MS, &client);
	for (; !err && n < cli->repeat; n++) {
		t = clock_mono_s();
		err = cli_client_call(client, req, &reply);
		us[n] = (clock_mono_s() - t) * 1e6;
		sum += us[n];
		if (!err && ctl_reply_error(reply, NULL, NULL))
			rc = cli_output(cli, reply);
		json_decref(reply);
		if (rc)
			break;
	}
	cli_client_close(client);
	if (err)
		rc = cli_unreachable(cli, err);
	if (!rc) {
		qsort(us, (size_t)n, sizeof(*us), cli_cmp_double);
		printf("%lld round trips of %s: mean %.1f us, p50 %.1f us, p99 %.1f us, max %.1f "
		       "us\n",
		       n, cli->cmd->name, sum / (double)n, us[n / 2], us[(99 * n + 99) / 100 - 1],
		       us[n - 1]);
	}
	free(us);
	return rc;
}

/* Parse --interval and --count of watch. */
static int cli_watch_opts(struct cli *cli, double *interval, long long *count)
{
	*interval = 1.0;
	*count = 0;
	if (cli->interval && ctl_opt_real(cli->interval, 0.01, 86400, interval))
		return cli_usage_error("--interval: expected seconds from 0.01 to 86400, not \"%s\"",
				       cli->interval);
	if (cli->count && ctl_opt_int(cli->count, 1, LLONG_MAX, count))
		return cli_usage_error("--count: expected a positive number, not \"%s\"",
				       cli->count);
	return CTL_EXIT_OK;
}

/* Sleep for seconds unless a signal asks to stop. */
static void cli_sleep(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};

	while (!interrupt_pending() && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Print one sample of watch: a screen (tty) or a block (anything else). */
static void cli_watch_show(struct cli *cli, json_t *reply, json_t *before, double dt, long n)
{
	char *text;

	if (cli->json) {
		text = json_dumps(reply, JSON_COMPACT);
		if (text)
			puts(text);
		free(text);
		fflush(stdout);
		return;
	}
	if (isatty(STDOUT_FILENO))
		fputs("\033[H\033[2J", stdout);
	else if (n)
		putchar('\n');
	printf("tapyard ctl watch: sample %ld", n + 1);
	if (before)
		printf(", rates over %.2f s", dt);
	printf(" (Ctrl-C stops)\n");
	cli_print_rates(stdout, json_object_get(reply, "result"),
			before ? json_object_get(before, "result") : NULL, dt);
	fflush(stdout);
}

/* watch: the request every --interval on one connection, until Ctrl-C or --count samples. */
static int cli_watch(struct cli *cli, json_t *req)
{
	struct cli_client *client = NULL;
	json_t *reply = NULL, *before = NULL;
	double interval, t, last = 0;
	int err, rc;
	long long count;

	rc = cli_watch_opts(cli, &interval, &count);
	if (rc)
		return rc;
	interrupt_install(false);
	err = cli_client_connect(cli->socket, CTL_CLI_TIMEOUT_MS, &client);
	for (long n = 0; !err && !rc && !interrupt_pending() && (!count || n < count); n++) {
		if (n)
			cli_sleep(interval);
		if (interrupt_pending())
			break;
		err = cli_client_call(client, req, &reply);
		if (err)
			break;
		t = clock_mono_s();
		if (ctl_reply_error(reply, NULL, NULL))
			rc = cli_output(cli, reply);
		else
			cli_watch_show(cli, reply, before, n ? t - last : interval, n);
		json_decref(before);
		before = reply;
		last = t;
	}
	json_decref(before);
	cli_client_close(client);
	return err ? cli_unreachable(cli, err) : rc;
}

/* No command matched: help or a usage error for the group or everything. */
static int cli_no_command(struct cli *cli, char **words, int nwords)
{
	const char *group = nwords && cli_group_size(words[0]) ? words[0] : NULL;

	if (cli->help) {
		cli_print_usage(stdout, group);
		return CTL_EXIT_OK;
	}
	if (!nwords) {
		cli_print_usage(stderr, NULL);
		return CTL_EXIT_USAGE;
	}
	if (!group)
		return cli_usage_error("unknown command \"%s\"", words[0]);
	fprintf(stderr, "tapyard: unknown %s command%s%s\n", group, nwords > 1 ? " " : "",
		nwords > 1 ? words[1] : "");
	cli_print_usage(stderr, group);
	return CTL_EXIT_USAGE;
}

/* --help after a command: the usage of its group (when it names one) or of the command. */
static int cli_help(const struct cli *cli, char **words, int used)
{
	if (used == 1 && cli_group_size(words[0]) > 1)
		cli_print_usage(stdout, words[0]);
	else
		printf("usage: tapyard ctl [--socket PATH] [--json] %s %s\n  %s\n", cli->cmd->words,
		       cli->cmd->usage, cli->cmd->help);
	return CTL_EXIT_OK;
}

/* Find the command words start with, parse the rest of them and run it. */
static int cli_exec(struct cli *cli, char **words, int nwords)
{
	json_t *req = NULL;
	int used, rc;

	cli->cmd = cli_find(words, nwords, &used);
	if (!cli->cmd)
		return cli_no_command(cli, words, nwords);
	if (cli->help)
		return cli_help(cli, words, used);
	if (cli->cmd->opts & CLI_RAW)
		return cli_capture(cli->socket, cli->json, cli->cmd->name, nwords - used,
				   words + used);
	rc = cli_parse_cmd(cli, words + used, nwords - used);
	if (!rc)
		rc = cli_request(cli, &req);
	if (!rc && cli->repeat)
		rc = cli_repeat(cli, req);
	else if (!rc && (cli->cmd->opts & CLI_WATCH))
		rc = cli_watch(cli, req);
	else if (!rc)
		rc = cli_run(cli, req);
	json_decref(req);
	return rc;
}

int cli_main(int argc, char **argv)
{
	struct cli cli = {0};
	int rc;

	cli.socket = getenv("TAPYARD_SOCKET");
	if (!cli.socket || !cli.socket[0])
		cli.socket = CTL_DEFAULT_SOCKET;
	rc = cli_parse_global(&cli, argc, argv);
	if (!rc)
		rc = cli_exec(&cli, cli.global.pos, cli.global.npos);
	ctl_opt_free(&cli.global);
	ctl_opt_free(&cli.local);
	return rc;
}
