/* SPDX-License-Identifier: MIT */
/*
 * ctl_impl: what the command modules share (ctl_impl.h): reply building,
 * error messages, name lookups and the daemon's record.
 */
#include "ctl_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson returns NULL only when out of memory (or on a format bug): give up. */
json_t *ctl_must(json_t *v)
{
	if (!v) {
		fprintf(stderr, "tapyard: error: out of memory building a reply\n");
		abort();
	}
	return v;
}

const char *ctl_errno_name(int err)
{
	const char *name = strerrorname_np(err < 0 ? -err : err);

	return name ? name : "EIO";
}

/* Describe a dp error that has no more specific message. */
int ctl_dp_fail(struct ctl_err *e, int err, const char *what)
{
	return ctl_args_fail(e, err, "%s: %s", what, strerror(-err));
}

int ctl_find_bridge(struct ctl *ctl, const char *name, uint32_t *id, struct ctl_err *e)
{
	if (dp_bridge_find(ctl->dp, name, id) < 0)
		return ctl_args_fail(e, -ENOENT, "bridge \"%s\" not found", name);
	return 0;
}

int ctl_find_port(struct ctl *ctl, const char *name, uint32_t *id, struct ctl_err *e)
{
	if (dp_port_find(ctl->dp, name, id) < 0)
		return ctl_args_fail(e, -ENOENT, "port \"%s\" not found", name);
	return 0;
}

/* Find the bridge named by optional argument "bridge"; *id is DP_ALL when absent. */
int ctl_find_bridge_opt(struct ctl *ctl, json_t *args, uint32_t *id, struct ctl_err *e)
{
	const char *name;
	int err;

	*id = DP_ALL;
	err = ctl_args_str(args, "bridge", false, &name, e);
	if (err || !name)
		return err;
	return ctl_find_bridge(ctl, name, id, e);
}

int ctl_port_info(struct ctl *ctl, uint32_t id, struct dp_port_info *pi, struct ctl_err *e)
{
	int err = dp_port_info(ctl->dp, id, pi);

	if (err)
		return ctl_args_fail(e, err, "port %#x vanished: %s", id, strerror(-err));
	return 0;
}

bool ctl_recording(const struct ctl *ctl)
{
	return ctl->record_ops != NULL;
}

void ctl_record_add(struct ctl *ctl, const char *kind, const char *name, json_t *extra)
{
	if (ctl->record_ops)
		ctl->record_ops->add(ctl->record_ctx, kind, name, extra);
	else
		json_decref(extra);
}

void ctl_record_remove(struct ctl *ctl, const char *kind, const char *name)
{
	if (ctl->record_ops)
		ctl->record_ops->remove(ctl->record_ctx, kind, name);
}

int ctl_open_file(struct ctl *ctl, const char *path, const char *what, struct ctl_err *e)
{
	const struct ctl_caller *c = ctl->caller;
	int fd = openas_open(c && c->member ? &c->cred : NULL, path, O_WRONLY | O_CREAT | O_TRUNC,
			     0644);

	if (fd == -ELOOP)
		return ctl_args_fail(e, fd, "%s %s: it is a symbolic link", what, path);
	if (fd < 0)
		return ctl_args_fail(e, fd, "%s %s: %s", what, path, strerror(-fd));
	return fd;
}
