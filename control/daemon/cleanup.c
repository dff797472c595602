/* SPDX-License-Identifier: MIT */
/*
 * cleanup: `tapyard cleanup`, and the clearing of what a dead daemon left.
 * It probes the socket (server.h) and clears the record (record.h), so that
 * neither of those needs the other.
 */
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl_opt.h"
#include "record.h"
#include "server.h"

int cleanup_socket(const char *socket, FILE *report, pid_t *owner)
{
	char why[PATH_MAX + 64];
	int err = record_dir_check(socket, false, why, sizeof(why));

	*owner = 0;
	if (err == -ENOENT)
		return 0; /* no directory: nothing was left there */
	if (err) {
		fprintf(report, "refusing the socket directory: %s\n", why);
		return err;
	}
	err = record_owner(socket, owner, report);
	if (err && err != -ENOENT)
		return err;
	if (server_probe(socket) == -EADDRINUSE)
		return -EADDRINUSE;
	return record_take_over(socket, report, owner);
}

int cleanup_report(cleanup_fn fn, const char *socket, pid_t *owner, char **text)
{
	size_t len = 0;
	FILE *m = open_memstream(text, &len);
	int err;

	*owner = 0;
	if (!m)
		return -errno;
	err = fn(socket, m, owner);
	fclose(m);
	return err;
}

static const char cleanup_usage[] =
	"usage: tapyard cleanup [--socket PATH]\n"
	"\n"
	"Remove what a tapyard daemon that died (kill -9, a crash) left behind: every\n"
	"object its record lists (TAPs, network namespaces, tc filters) that still exists,\n"
	"then its socket, pidfile, record and lock. The record is the socket's path with\n"
	".sock replaced by .state, the lock its path with .lock added. Refuses while the\n"
	"daemon still runs.\n"
	"\n"
	"  --socket PATH  the daemon's socket (default $TAPYARD_SOCKET, else\n"
	"                 " CTL_DEFAULT_SOCKET ")\n"
	"\n"
	"exit codes: 0 cleaned up or nothing to do, 1 the daemon still runs or an\n"
	"object could not be removed, 2 usage\n";

enum { CLEANUP_SOCKET = 1, CLEANUP_HELP };

static const struct ctl_opt cleanup_options[] = {
	{"socket", 0, true, CLEANUP_SOCKET, "PATH"},
	{"help", 'h', false, CLEANUP_HELP, NULL},
	{NULL, 0, false, 0, NULL},
};

static const struct ctl_opt_cmd cleanup_cmd = {
	.name = "cleanup",
	.opts = cleanup_options,
	.flags = CTL_OPT_STOP,
	.help = CLEANUP_HELP,
	.usage = cleanup_usage,
	.max = 0,
};

/* Parse `tapyard cleanup` options into *socket. Returns -1 to go on, or an exit code. */
static int cleanup_parse(int argc, char **argv, const char **socket)
{
	struct ctl_opt_res res;
	int rc = ctl_opt_main(&cleanup_cmd, argc, argv, &res);

	if (rc < 0 && ctl_opt_has(&res, CLEANUP_SOCKET))
		*socket = ctl_opt_get(&res, CLEANUP_SOCKET);
	ctl_opt_free(&res);
	return rc;
}

/* Remove socket's lock file unless a daemon holds it, saying so. Returns whether it did. */
static bool cleanup_unlock_stale(const char *socket)
{
	char path[280];
	bool removed;
	int fd;

	record_lock_path(socket, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return false;
	removed = flock(fd, LOCK_EX | LOCK_NB) == 0 && unlink(path) == 0;
	close(fd);
	if (removed)
		printf("removed lock %s\n", path);
	return removed;
}

/* Say on stderr why cleanup_socket() failed with err. */
static void cleanup_explain(const char *socket, int err, pid_t owner)
{
	if ((err == -EBUSY || err == -EADDRINUSE) && owner > 0)
		fprintf(stderr,
			"tapyard: error: the daemon (pid %d) of %s is still running;"
			" stop it with kill -TERM %d\n",
			(int)owner, socket, (int)owner);
	else if (err == -EADDRINUSE)
		fprintf(stderr, "tapyard: error: a daemon is serving %s; stop it instead\n",
			socket);
	else
		fprintf(stderr, "tapyard: error: cleanup of %s incomplete: %s\n", socket,
			strerror(-err));
}

int cleanup_main(int argc, char **argv)
{
	const char *socket = getenv("TAPYARD_SOCKET");
	char *text = NULL;
	pid_t owner;
	int rc, err;

	if (!socket || !socket[0])
		socket = CTL_DEFAULT_SOCKET;
	rc = cleanup_parse(argc, argv, &socket);
	if (rc >= 0)
		return rc;
	err = cleanup_report(cleanup_socket, socket, &owner, &text);
	if (text)
		fputs(text, stdout);
	if (!err && !cleanup_unlock_stale(socket) && (!text || !text[0]))
		printf("nothing to clean up for %s\n", socket);
	free(text);
	if (err)
		cleanup_explain(socket, err, owner);
	return err ? CTL_EXIT_ERROR : CTL_EXIT_OK;
}
