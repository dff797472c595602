/* SPDX-License-Identifier: MIT */
/*
 * daemon: `tapyard daemon`. Start-up order, each
 * check made once: block SIGINT/SIGTERM (so the loop thread inherits the mask
 * and only the signalfd sees them); lock SOCKET.lock (refused while another
 * daemon holds it); probe the socket (refused when a server answers); read
 * its record (refused when its daemon still runs, else what a
 * dead daemon left is removed and said so); start the dataplane; start this
 * daemon's record (the commands that create and delete TAPs keep it, see
 * record.h); apply --config then the bridges and TAPs of the command line
 * through the command vocabulary; listen; write the pidfile; log "ready";
 * serve until a signal, then undo it all.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_config.h"
#include "ctl_opt.h"
#include "cleanup.h"
#include "record.h"
#include "server.h"
#include "log.h"

/* A --bridge, --tap or --netdev, in command-line order. */
struct daemon_item {
	bool bridge;
	const char *name;
	const char *type; /* a port's args.type: "tap" or "netdev" */
};

struct daemon_opts {
	const char *socket;
	const char *pidfile;
	const char *config;
	const char *group;
	bool syslog;
	struct daemon_item *items;
	int nitems;
};

/* Everything the daemon holds while it runs, undone by daemon_stop(). */
struct daemon {
	int sigfd;
	struct dp *dp;
	struct ctl *ctl;
	struct server *srv;
	struct record *record;
	bool pidfile_written;
	int lockfd; /* SOCKET.lock, flocked for the daemon's life; -1: not held */
	char lock[280];
};

static const char daemon_usage[] =
	"usage: tapyard daemon [--socket PATH] [--config FILE]\n"
	"                      [--bridge NAME [--tap|--netdev IFNAME]...]...\n"
	"                      [--group GROUP] [--pidfile FILE] [--log-level LEVEL] [--syslog]\n"
	"\n"
	"Run the switch in the foreground, controlled through a Unix socket\n"
	"(see tapyard ctl --help). SIGINT or SIGTERM stops it and deletes the TAPs it created.\n"
	"What it owns is recorded next to the socket (NAME.state), so that\n"
	"`tapyard cleanup` can remove it after the daemon was killed.\n"
	"\n"
	"  --socket PATH      control socket (default " CTL_DEFAULT_SOCKET ")\n"
	"  --config FILE      apply a JSON configuration at start (bridges, ports,\n"
	"                     partitions, commands; see README), before --bridge/--tap\n"
	"  --bridge NAME      add a bridge (or name one of --config, to add --tap ports)\n"
	"  --tap IFNAME       attach a TAP to the last --bridge: created, or opened if it\n"
	"                     exists and is a TAP no other program holds; brought up\n"
	"  --netdev IFNAME    attach an existing interface (a TAP a hypervisor holds, a\n"
	"                     veth, a vxlan device) through a packet socket; brought up,\n"
	"                     its IPv4 addresses removed and IPv6 disabled\n"
	"  --group GROUP      socket mode 0660 owned by GROUP, whose members may use it\n"
	"                     (default: mode 0600, root and the daemon's user only)\n"
	"  --pidfile FILE     write the daemon's pid to FILE\n"
	"  --log-level LEVEL  error, warn, info (default) or debug\n"
	"  --syslog           log to syslog (facility daemon) instead of stderr\n"
	"\n"
	"exit codes: 0 stopped cleanly, 1 start-up failed, 2 usage\n";

/* A start-up error: one line on stderr (and in syslog when logging there). */
static int daemon_fail(const struct daemon_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int daemon_fail(const struct daemon_opts *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tapyard: error: %s\n", msg);
	if (o->syslog)
		log_error("%s", msg);
	return 1;
}

/* A usage error: "tapyard: daemon: MESSAGE (see tapyard daemon --help)". */
#define daemon_usage_error(...) ctl_opt_usage("daemon", "daemon", __VA_ARGS__)

enum {
	DAEMON_SOCKET = 1,
	DAEMON_CONFIG,
	DAEMON_GROUP,
	DAEMON_BRIDGE,
	DAEMON_TAP,
	DAEMON_NETDEV,
	DAEMON_PIDFILE,
	DAEMON_LOG_LEVEL,
	DAEMON_SYSLOG,
	DAEMON_HELP,
};

static const struct ctl_opt daemon_options[] = {
	{"socket", 0, true, DAEMON_SOCKET, "PATH"},
	{"config", 0, true, DAEMON_CONFIG, "FILE"},
	{"group", 0, true, DAEMON_GROUP, "GROUP"},
	{"bridge", 0, true, DAEMON_BRIDGE, "NAME"},
	{"tap", 0, true, DAEMON_TAP, "IFNAME"},
	{"netdev", 0, true, DAEMON_NETDEV, "IFNAME"},
	{"pidfile", 0, true, DAEMON_PIDFILE, "FILE"},
	{"log-level", 0, true, DAEMON_LOG_LEVEL, "LEVEL"},
	{"syslog", 0, false, DAEMON_SYSLOG, NULL},
	{"help", 'h', false, DAEMON_HELP, NULL},
	{NULL, 0, false, 0, NULL},
};

static const struct ctl_opt_cmd daemon_cmd = {
	.name = "daemon",
	.opts = daemon_options,
	.flags = CTL_OPT_STOP,
	.help = DAEMON_HELP,
	.usage = daemon_usage,
	.max = 0,
};

/* Apply one option, in command-line order. Returns -1 to go on, or an exit code. */
static int daemon_option(struct daemon_opts *o, const struct ctl_opt_hit *h)
{
	enum log_level level;

	switch (h->id) {
	case DAEMON_SOCKET:
		o->socket = h->value;
		break;
	case DAEMON_CONFIG:
		o->config = h->value;
		break;
	case DAEMON_GROUP:
		o->group = h->value;
		break;
	case DAEMON_TAP:
	case DAEMON_NETDEV:
	case DAEMON_BRIDGE:
		if (h->id != DAEMON_BRIDGE && !o->nitems)
			return daemon_usage_error("--%s %s comes before any --bridge",
						  h->id == DAEMON_TAP ? "tap" : "netdev", h->value);
		o->items[o->nitems++] =
			(struct daemon_item){h->id == DAEMON_BRIDGE, h->value,
					     h->id == DAEMON_NETDEV ? "netdev" : "tap"};
		break;
	case DAEMON_PIDFILE:
		o->pidfile = h->value;
		break;
	case DAEMON_LOG_LEVEL:
		if (log_level_parse(h->value, &level) < 0)
			return daemon_usage_error(
				"unknown log level \"%s\" (error, warn, info, debug)", h->value);
		log_set_level(level);
		break;
	case DAEMON_SYSLOG:
		o->syslog = true;
		break;
	}
	return -1;
}

/* Parse options. Returns -1 to go on, or an exit code (0 after --help). */
static int daemon_parse(int argc, char **argv, struct daemon_opts *o)
{
	struct ctl_opt_res res;
	int rc = ctl_opt_main(&daemon_cmd, argc, argv, &res);

	for (int i = 0; rc < 0 && i < res.nhits; i++)
		rc = daemon_option(o, &res.hits[i]);
	ctl_opt_free(&res);
	return rc;
}

/* Was bridge name i already named by an earlier --bridge? */
static bool daemon_bridge_repeated(const struct daemon_opts *o, int i)
{
	for (int j = 0; j < i; j++) {
		if (o->items[j].bridge && strcmp(o->items[j].name, o->items[i].name) == 0)
			return true;
	}
	return false;
}

/*
 * Create the bridges and TAPs of the command line through the command
 * vocabulary. A --bridge naming a bridge of --config only selects it.
 */
static int daemon_populate(struct daemon *d, const struct daemon_opts *o)
{
	const char *bridge = NULL, *code, *message;
	json_t *reply;
	int err = 0;

	for (int i = 0; !err && i < o->nitems; i++) {
		if (o->items[i].bridge) {
			bridge = o->items[i].name;
			reply = ctl_call(d->ctl, "bridge/add", json_pack("{s:s}", "name", bridge));
		} else {
			reply = ctl_call(d->ctl, "port/add",
					 json_pack("{s:s, s:s, s:b, s:s}", "bridge", bridge, "name",
						   o->items[i].name, "up", 1, "type",
						   o->items[i].type));
		}
		err = ctl_reply_error(reply, &code, &message);
		if (err && o->items[i].bridge && o->config && code &&
		    strcmp(code, "EEXIST") == 0 && !daemon_bridge_repeated(o, i))
			err = 0;
		if (err)
			daemon_fail(o, "%s", message ? message : "malformed reply");
		json_decref(reply);
	}
	return err;
}

/* Apply --config, then --bridge/--tap, quietly. Returns 0 or 1 (said why). */
static int daemon_configure(struct daemon *d, const struct daemon_opts *o)
{
	enum log_level level = log_get_level();
	struct ctl_err e = {0};
	int err = 0;

	/* At the default level start-up says only "ready" (or one error line). */
	if (level == LOG_LVL_INFO)
		log_set_level(LOG_LVL_WARN);
	if (o->config) {
		err = ctl_config_load(d->ctl, o->config, &e);
		if (err)
			daemon_fail(o, "%s", e.msg);
	}
	if (!err)
		err = daemon_populate(d, o);
	/* Unless the configuration set a level of its own. */
	if (log_get_level() == LOG_LVL_WARN)
		log_set_level(level);
	return err ? 1 : 0;
}

/* Log each line of text at info level with a prefix. */
static void daemon_log_lines(const char *prefix, char *text)
{
	for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
		log_info("%s%s", prefix, line);
}

/*
 * Make the socket ours: refuse when a server answers on it or when its
 * record's daemon still runs; else remove what a dead daemon left, saying so.
 */
static int daemon_take_over(const struct daemon_opts *o)
{
	char *text = NULL;
	pid_t owner;
	int err;

	err = server_probe(o->socket);
	if (err == -EADDRINUSE)
		return daemon_fail(o, "another tapyard daemon is already serving %s", o->socket);
	if (err)
		return daemon_fail(o, "cannot use socket %s: %s", o->socket, strerror(-err));
	err = cleanup_report(record_take_over, o->socket, &owner, &text);
	daemon_log_lines("leftovers of a previous daemon: ", text);
	free(text);
	if (err == -EBUSY)
		return daemon_fail(o, "another tapyard daemon (pid %d) owns %s", (int)owner,
				   o->socket);
	if (err)
		return daemon_fail(o,
				   "cannot remove the leftovers of a previous daemon on %s: %s "
				   "(try tapyard cleanup --socket %s)",
				   o->socket, strerror(-err), o->socket);
	return 0;
}

static int daemon_write_pidfile(const char *path)
{
	char text[32];

	snprintf(text, sizeof(text), "%d\n", (int)getpid());
	return record_write_file(path, text, 0644);
}

/* The gid of a group name or number. */
static int daemon_group(const char *name, gid_t *gid)
{
	struct group *g = getgrnam(name);
	unsigned long v;
	char *end;

	if (g) {
		*gid = g->gr_gid;
		return 0;
	}
	v = strtoul(name, &end, 10);
	if (!name[0] || *end || v >= (gid_t)-1)
		return -ENOENT;
	*gid = (gid_t)v;
	return 0;
}

/* Listen on the socket (of the group, if any) and write the pidfile. */
static int daemon_listen(struct daemon *d, const struct daemon_opts *o)
{
	struct server_opts so = {0};
	int err;

	if (o->group && daemon_group(o->group, &so.group) < 0)
		return daemon_fail(o, "--group %s: no such group", o->group);
	so.group_set = o->group != NULL;
	err = server_create(d->ctl, o->socket, &so, &d->srv);
	if (err)
		return daemon_fail(o, "cannot listen on %s: %s", o->socket,
				   err == -EADDRINUSE ? "another tapyard daemon is serving it"
						      : strerror(-err));
	if (o->pidfile) {
		err = daemon_write_pidfile(o->pidfile);
		if (err)
			return daemon_fail(o, "cannot write pidfile %s: %s", o->pidfile,
					   strerror(-err));
		d->pidfile_written = true;
	}
	return 0;
}

/* Block SIGINT and SIGTERM (later threads inherit the mask); a signalfd reads them. */
static int daemon_signals(struct daemon *d, const struct daemon_opts *o)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return daemon_fail(o, "signalfd: %s", strerror(errno));
	return 0;
}

/* Start the dataplane and its dispatcher. */
static int daemon_dataplane(struct daemon *d, const struct daemon_opts *o)
{
	struct dp_config cfg = {0};
	int err;

	err = dp_create(&cfg, &d->dp);
	if (!err)
		err = dp_start(d->dp);
	if (err)
		return daemon_fail(o, "cannot start the dataplane: %s", strerror(-err));
	err = ctl_create(d->dp, &d->ctl);
	if (err)
		return daemon_fail(o, "%s", strerror(-err));
	return 0;
}

/*
 * Hold SOCKET.lock for the daemon's life, our pid in it: of two daemons
 * started at once on one socket, the second stops here, before it touches
 * the record, TAPs or socket the first one is setting up. A killed daemon's
 * lock goes with it (the file stays until stop or `tapyard cleanup`).
 */
static int daemon_lock(struct daemon *d, const struct daemon_opts *o)
{
	char pid[24] = "", why[PATH_MAX + 64];
	struct stat st;
	int fd;

	if (record_dir_check(o->socket, true, why, sizeof(why)))
		return daemon_fail(o, "refusing the socket directory: %s", why);
	record_lock_path(o->socket, d->lock, sizeof(d->lock));
	fd = open(d->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return daemon_fail(o, "cannot create %s: %s", d->lock, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		return daemon_fail(o, "refusing %s: not a plain file of its own", d->lock);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		if (pread(fd, pid, sizeof(pid) - 1, 0) <= 0)
			pid[0] = '\0';
		close(fd);
		if (err == EWOULDBLOCK && atoi(pid) > 0)
			return daemon_fail(o,
					   "another tapyard daemon (pid %d) owns %s (it is already "
					   "serving or starting)",
					   atoi(pid), o->socket);
		if (err == EWOULDBLOCK)
			return daemon_fail(o, "another tapyard daemon owns %s (it is starting)",
					   o->socket);
		return daemon_fail(o, "cannot lock %s: %s", d->lock, strerror(err));
	}
	d->lockfd = fd;
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, strlen(pid), 0) < 0)
		log_warn("cannot write the pid into %s: %s", d->lock, strerror(errno));
	return 0;
}

/* Start this daemon's record next to the socket; the dispatcher keeps it from now on. */
static int daemon_record(struct daemon *d, const struct daemon_opts *o)
{
	int err;

	err = record_create(o->socket, o->pidfile, &d->record); /* daemon_lock made the dir */
	if (err)
		return daemon_fail(o, "cannot write the record next to %s: %s", o->socket,
				   strerror(-err));
	ctl_set_record(d->ctl, &record_ops, d->record);
	return 0;
}

/* Everything up to serving, in this order. Returns 0, or 1 after saying why. */
static int daemon_start(struct daemon *d, const struct daemon_opts *o)
{
	if (daemon_signals(d, o) || daemon_lock(d, o) || daemon_take_over(o) ||
	    daemon_dataplane(d, o) || daemon_record(d, o) || daemon_configure(d, o) ||
	    daemon_listen(d, o))
		return 1;
	return 0;
}

/* Undo daemon_start(), whatever part of it was done. */
static void daemon_stop(struct daemon *d, const struct daemon_opts *o)
{
	server_destroy(d->srv);
	ctl_destroy(d->ctl);
	dp_destroy(d->dp);
	/* After the modules had their chance to delete (and unrecord) what they made. */
	record_destroy(d->record);
	if (d->pidfile_written)
		unlink(o->pidfile);
	if (d->lockfd >= 0) { /* last: until here, nobody else may start on the socket */
		unlink(d->lock);
		close(d->lockfd);
	}
	if (d->sigfd >= 0)
		close(d->sigfd);
}

/* Serve until SIGINT or SIGTERM. Returns the exit code. */
static int daemon_serve(struct daemon *d, const struct daemon_opts *o)
{
	struct signalfd_siginfo si;
	int err;

	log_info("ready: socket %s", o->socket);
	err = server_run(d->srv, d->sigfd);
	if (err) {
		log_error("control socket: %s", strerror(-err));
		return 1;
	}
	if (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		log_info("stopping on %s", strsignal((int)si.ssi_signo));
	return 0;
}

int daemon_main(int argc, char **argv)
{
	struct daemon_opts o = {.socket = CTL_DEFAULT_SOCKET};
	struct daemon d = {.sigfd = -1, .lockfd = -1};
	int rc;

	o.items = calloc((size_t)argc + 1, sizeof(*o.items));
	if (!o.items)
		return 1;
	rc = daemon_parse(argc, argv, &o);
	if (rc >= 0)
		goto out;
	if (o.syslog)
		log_use_syslog(true);
	rc = daemon_start(&d, &o);
	if (!rc)
		rc = daemon_serve(&d, &o);
	daemon_stop(&d, &o);
out:
	free(o.items);
	return rc;
}
