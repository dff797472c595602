/* SPDX-License-Identifier: MIT */
/*
 * test_openas: a file opened with another user's rights is opened with
 * exactly those: refused where that user may not write, owned by that user
 * where it may, never through a symbolic link. A unix socket is connected to
 * the same way: refused (and never reached) where that user may not connect.
 * Needs root (exit 77 without).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "openas.h"

static char dir[64];
static const struct openas_cred nobody = {.uid = 65534, .gid = 65534};

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void test_refused_where_the_user_may_not_write(void **state)
{
	char p[128];

	(void)state;
	path_of(p, sizeof(p), "root.pcapng");
	assert_int_equal(openas_open(&nobody, p, O_WRONLY | O_CREAT | O_TRUNC, 0644), -EACCES);
	assert_int_equal(access(p, F_OK), -1);
}

static void test_the_file_is_the_users(void **state)
{
	char sub[128], p[160];
	struct stat st;
	int fd;

	(void)state;
	path_of(sub, sizeof(sub), "nobody");
	assert_int_equal(mkdir(sub, 0755), 0);
	assert_int_equal(chown(sub, 65534, 65534), 0);
	snprintf(p, sizeof(p), "%s/ok.pcapng", sub);
	fd = openas_open(&nobody, p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);
}

static void test_never_through_a_link(void **state)
{
	char victim[128], link[128];
	int fd;

	(void)state;
	path_of(victim, sizeof(victim), "victim");
	path_of(link, sizeof(link), "link");
	fd = open(victim, O_WRONLY | O_CREAT, 0666);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(chmod(victim, 0666),
			 0); /* nobody could write it: the link is refused still */
	assert_int_equal(symlink(victim, link), 0);
	assert_int_equal(openas_open(&nobody, link, O_WRONLY | O_TRUNC, 0644), -ELOOP);
	assert_int_equal(openas_open(NULL, link, O_WRONLY | O_TRUNC, 0644), -ELOOP);
	fd = open(victim, O_RDONLY);
	assert_int_equal(lseek(fd, 0, SEEK_END), 4);
	close(fd);
}

static void test_own_rights(void **state)
{
	char p[128];
	int fd;

	(void)state;
	path_of(p, sizeof(p), "self");
	fd = openas_open(NULL, p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(
		openas_open(&(struct openas_cred){.ngroups = OPENAS_GROUPS + 1}, p, O_WRONLY, 0),
		-EINVAL);
}

/* A listening non-blocking unix socket at path, with mode. */
static int listen_at(const char *path, mode_t mode)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(listen(s, 4), 0);
	return s;
}

/* Did a connection reach listener l? (Accepts and closes it.) */
static bool reached(int l)
{
	int c = accept(l, NULL, NULL);

	if (c < 0)
		return false;
	close(c);
	return true;
}

static void test_connect_with_the_users_rights(void **state)
{
	char open_sock[128], root_sock[128], sub[128], hidden[160], link[128];
	int lo, lr, lh, s;

	(void)state;
	path_of(open_sock, sizeof(open_sock), "open.sock");
	path_of(root_sock, sizeof(root_sock), "root.sock");
	path_of(sub, sizeof(sub), "private");
	path_of(link, sizeof(link), "link.sock");
	snprintf(hidden, sizeof(hidden), "%s/hidden.sock", sub);
	assert_int_equal(mkdir(sub, 0700), 0);
	lo = listen_at(open_sock, 0777);
	lr = listen_at(root_sock, 0700);
	lh = listen_at(hidden, 0777);
	/* A socket nobody may write, and one in a directory nobody may search. */
	assert_int_equal(openas_connect(&nobody, root_sock), -EACCES);
	assert_false(reached(lr));
	assert_int_equal(openas_connect(&nobody, hidden), -EACCES);
	assert_false(reached(lh));
	/* Root may; nobody may connect to a socket anyone may write. */
	s = openas_connect(NULL, root_sock);
	assert_true(s >= 0);
	close(s);
	assert_true(reached(lr));
	s = openas_connect(&nobody, open_sock);
	assert_true(s >= 0);
	assert_int_equal(fcntl(s, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(s);
	assert_true(reached(lo));
	/* Never through a symbolic link, for anyone; a non-socket is refused. */
	assert_int_equal(symlink(open_sock, link), 0);
	assert_int_equal(openas_connect(&nobody, link), -ELOOP);
	assert_int_equal(openas_connect(NULL, link), -ELOOP);
	assert_false(reached(lo));
	assert_int_equal(openas_connect(NULL, sub), -ENOTSOCK);
	close(lo);
	close(lr);
	close(lh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_where_the_user_may_not_write),
		cmocka_unit_test(test_the_file_is_the_users),
		cmocka_unit_test(test_never_through_a_link),
		cmocka_unit_test(test_own_rights),
		cmocka_unit_test(test_connect_with_the_users_rights),
	};
	char cmd[96];
	int rc;

	if (geteuid() != 0) {
		printf("skip: test_openas needs root (it takes uid 65534 in a child)\n");
		return 77;
	}
	snprintf(dir, sizeof(dir), "/tmp/tyopenas.XXXXXX");
	if (!mkdtemp(dir) || chmod(dir, 0755) < 0)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		rc = rc ? rc : 1;
	return rc;
}
