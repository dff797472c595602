/* SPDX-License-Identifier: MIT */
/*
 * ctl_daemon: `tapyard daemon`. Start-up order: block SIGINT/SIGTERM (so
 * the loop thread inherits the mask and only the signalfd sees them), check
 * that no daemon serves the socket, start the dataplane, create the bridges
 * and TAPs of the command line through the command vocabulary, listen, write
 * the pidfile, log "ready", serve until a signal, then undo it all.
 */
#include "ctl_daemon.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_cli.h"
#include "ctl_server.h"
#include "log.h"

/* A --bridge or --tap, in command-line order. */
struct daemon_item {
	bool bridge;
	const char *name;
};

struct daemon_opts {
	const char *socket;
	const char *pidfile;
	bool syslog;
	struct daemon_item *items;
	int nitems;
};

/* Everything the daemon holds while it runs, undone by daemon_cleanup(). */
struct daemon {
	int sigfd;
	struct dp *dp;
	struct ctl *ctl;
	struct ctl_server *srv;
	bool pidfile_written;
};

static const char daemon_usage[] =
	"usage: tapyard daemon [--socket PATH] [--bridge NAME [--tap IFNAME]...]...\n"
	"                      [--pidfile FILE] [--log-level LEVEL] [--syslog]\n"
	"\n"
	"Run the switch in the foreground, controlled through a Unix socket\n"
	"(see tapyard ctl --help). SIGINT or SIGTERM stops it and deletes the TAPs it created.\n"
	"\n"
	"  --socket PATH      control socket (default " CTL_SERVER_DEFAULT_SOCKET ")\n"
	"  --bridge NAME      add a bridge\n"
	"  --tap IFNAME       attach a TAP to the last --bridge: created, or opened if it\n"
	"                     exists and is a TAP; brought up\n"
	"  --pidfile FILE     write the daemon's pid to FILE\n"
	"  --log-level LEVEL  error, warn, info (default) or debug\n"
	"  --syslog           log to syslog instead of stderr\n";

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

static int daemon_usage_error(const char *fmt, const char *arg)
{
	fputs("tapyard: daemon: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\n(see tapyard daemon --help)\n", stderr);
	return CTL_EXIT_USAGE;
}

/* Parse options. Returns -1 to go on, or an exit code (0 after --help). */
static int daemon_parse(int argc, char **argv, struct daemon_opts *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"bridge", required_argument, NULL, 'b'},
		{"tap", required_argument, NULL, 't'},
		{"pidfile", required_argument, NULL, 'p'},
		{"log-level", required_argument, NULL, 'l'},
		{"syslog", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum log_level level;
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o->socket = optarg;
			break;
		case 'b':
		case 't':
			if (c == 't' && !o->nitems)
				return daemon_usage_error("--tap %s comes before any --bridge",
							  optarg);
			o->items[o->nitems++] = (struct daemon_item){c == 'b', optarg};
			break;
		case 'p':
			o->pidfile = optarg;
			break;
		case 'l':
			if (log_level_parse(optarg, &level) < 0)
				return daemon_usage_error(
					"unknown log level \"%s\" (error, warn, info, debug)",
					optarg);
			log_set_level(level);
			break;
		case 'S':
			o->syslog = true;
			break;
		case 'h':
			fputs(daemon_usage, stdout);
			return 0;
		default:
			return daemon_usage_error("bad option or missing value: %s",
						  argv[optind - 1]);
		}
	}
	if (optind < argc)
		return daemon_usage_error("unexpected argument \"%s\"", argv[optind]);
	return -1;
}

/* Create the bridges and TAPs of the command line through the command vocabulary. */
static int daemon_populate(struct daemon *d, const struct daemon_opts *o)
{
	enum log_level level = log_get_level();
	const char *bridge = NULL, *message;
	json_t *reply;
	int err = 0;

	/* At the default level start-up says only "ready" (or one error line). */
	if (level == LOG_LVL_INFO)
		log_set_level(LOG_LVL_WARN);
	for (int i = 0; !err && i < o->nitems; i++) {
		if (o->items[i].bridge) {
			bridge = o->items[i].name;
			reply = ctl_call(d->ctl, "bridge/add", json_pack("{s:s}", "name", bridge));
		} else {
			reply = ctl_call(d->ctl, "port/add",
					 json_pack("{s:s, s:s, s:b}", "bridge", bridge, "name",
						   o->items[i].name, "up", 1));
		}
		err = ctl_reply_error(reply, NULL, &message);
		if (err)
			daemon_fail(o, "%s", message ? message : "malformed reply");
		json_decref(reply);
	}
	log_set_level(level);
	return err;
}

/* Create the socket's directory (one level) when it is missing. */
static void daemon_mkdir(const char *path)
{
	char dir[256];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_debug("cannot create %s: %s", dir, strerror(errno));
}

static int daemon_write_pidfile(const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	if (fclose(f) != 0)
		return -errno;
	return 0;
}

/* Everything up to serving: signals, dataplane, command-line objects, socket, pidfile. */
static int daemon_start(struct daemon *d, const struct daemon_opts *o)
{
	struct dp_config cfg = {0};
	sigset_t mask;
	int err;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->sigfd < 0)
		return daemon_fail(o, "signalfd: %s", strerror(errno));
	err = ctl_server_probe(o->socket);
	if (err == -EADDRINUSE)
		return daemon_fail(o, "another tapyard daemon is already serving %s", o->socket);
	if (err)
		return daemon_fail(o, "cannot use socket %s: %s", o->socket, strerror(-err));
	err = dp_create(&cfg, &d->dp);
	if (!err)
		err = dp_start(d->dp);
	if (err)
		return daemon_fail(o, "cannot start the dataplane: %s", strerror(-err));
	err = ctl_create(d->dp, &d->ctl);
	if (err)
		return daemon_fail(o, "%s", strerror(-err));
	if (daemon_populate(d, o))
		return 1;
	daemon_mkdir(o->socket);
	err = ctl_server_create(d->ctl, o->socket, NULL, &d->srv);
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

static void daemon_cleanup(struct daemon *d, const struct daemon_opts *o)
{
	ctl_server_destroy(d->srv);
	ctl_destroy(d->ctl);
	dp_destroy(d->dp);
	if (d->pidfile_written)
		unlink(o->pidfile);
	if (d->sigfd >= 0)
		close(d->sigfd);
}

/* Serve until SIGINT or SIGTERM. Returns the exit code. */
static int daemon_serve(struct daemon *d, const struct daemon_opts *o)
{
	struct signalfd_siginfo si;
	int err;

	log_info("ready: socket %s", o->socket);
	err = ctl_server_run(d->srv, d->sigfd);
	if (err) {
		log_error("control socket: %s", strerror(-err));
		return 1;
	}
	if (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		log_info("stopping on %s", strsignal((int)si.ssi_signo));
	return 0;
}

int ctl_daemon_main(int argc, char **argv)
{
	struct daemon_opts o = {.socket = CTL_SERVER_DEFAULT_SOCKET};
	struct daemon d = {.sigfd = -1};
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
	daemon_cleanup(&d, &o);
out:
	free(o.items);
	return rc;
}
