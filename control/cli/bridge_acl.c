/* SPDX-License-Identifier: MIT */
/* bridge_acl: the bridge-helper's access list (bridge.conf rules); see bridge_acl.h. */
#include "bridge_acl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BRIDGE_ACL_DEPTH 8 /* include nesting at most */
#define BRIDGE_ACL_LINE 4096

/* What the rules read so far say about one bridge. */
struct bridge_acl {
	const char *bridge;
	bool allowed, denied;
	char *why;
	size_t size;
};

static int bridge_acl_file(struct bridge_acl *a, const char *path, int depth);

/* Open path for reading if root owns it and nobody else may write it. */
static FILE *bridge_acl_open(struct bridge_acl *a, const char *path, int *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	FILE *f;

	if (fd < 0) {
		*err = -errno;
		snprintf(a->why, a->size, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		*err = -EPERM;
		snprintf(a->why, a->size,
			 "%s must be a regular file owned by root and writable by root only", path);
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		*err = -errno;
		close(fd);
	}
	return f;
}

/* Trim leading and trailing white space of s in place; returns the start. */
static char *bridge_acl_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Apply one rule: cmd is allow, deny or include, arg its word. */
static int bridge_acl_rule(struct bridge_acl *a, const char *cmd, const char *arg, int depth)
{
	bool match = strcmp(arg, "all") == 0 || strcmp(arg, a->bridge) == 0;
	int err;

	if (strcmp(cmd, "allow") == 0) {
		a->allowed |= match;
	} else if (strcmp(cmd, "deny") == 0) {
		a->denied |= match;
	} else if (strcmp(cmd, "include") == 0) {
		err = bridge_acl_file(a, arg, depth + 1);
		if (err && err != -ENOENT)
			return err;
	} else {
		snprintf(a->why, a->size, "unknown rule \"%s\" (allow, deny or include)", cmd);
		return -EINVAL;
	}
	return 0;
}

/* One line: blank, a comment, or "RULE ARG". */
static int bridge_acl_line(struct bridge_acl *a, char *line, int depth)
{
	char *cmd = bridge_acl_trim(line), *arg;

	if (*cmd == '#' || *cmd == '\0')
		return 0;
	arg = cmd + strcspn(cmd, " \t");
	if (*arg == '\0') {
		snprintf(a->why, a->size, "rule \"%s\" lacks its argument", cmd);
		return -EINVAL;
	}
	*arg++ = '\0';
	return bridge_acl_rule(a, cmd, bridge_acl_trim(arg), depth);
}

static int bridge_acl_file(struct bridge_acl *a, const char *path, int depth)
{
	char line[BRIDGE_ACL_LINE], msg[256];
	int err = 0, n = 0;
	FILE *f;

	if (depth > BRIDGE_ACL_DEPTH) {
		snprintf(a->why, a->size, "includes nested deeper than %d at %s", BRIDGE_ACL_DEPTH,
			 path);
		return -ELOOP;
	}
	f = bridge_acl_open(a, path, &err);
	if (!f)
		return err;
	while (!err && fgets(line, sizeof(line), f)) {
		n++;
		err = bridge_acl_line(a, line, depth);
	}
	fclose(f);
	if (err == -EINVAL) { /* say where */
		snprintf(msg, sizeof(msg), "%s", a->why);
		snprintf(a->why, a->size, "%s:%d: %s", path, n, msg);
	}
	return err;
}

int bridge_acl_check(const char *path, const char *bridge, char *why, size_t size)
{
	struct bridge_acl a = {.bridge = bridge, .why = why, .size = size};
	int err;

	why[0] = '\0';
	err = bridge_acl_file(&a, path, 0);
	if (err)
		return err;
	if (a.denied || !a.allowed) {
		snprintf(why, size, "bridge \"%s\" is %s by %s", bridge,
			 a.denied ? "denied" : "not allowed", path);
		return -EACCES;
	}
	return 0;
}
