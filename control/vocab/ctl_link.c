/* SPDX-License-Identifier: MIT */
/*
 * ctl_link: link/set and link/qmp, and the QMP sockets of ports (one entry
 * per port that has one, keyed by the port's name and dataplane id, so an
 * entry of a deleted port never passes to a new port of the same name).
 * The vocabulary keeps this, not the dataplane: the switch only forwards.
 */
#include "ctl_link.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_core.h"
#include "log.h"
#include "qmp.h"

/* The longest netdev id QEMU is given (its ids are short names). */
#define CTL_LINK_NETDEV_MAX 128

/* A port's QMP socket, and whose rights connect to it. */
struct ctl_link_entry {
	char port[PORT_NAME_MAX];
	uint32_t id; /* the port's dataplane id when the socket was given */
	char *path; /* NULL: the slot is free */
	char *netdev;
	bool member; /* connect with cred (a --group member gave it), else as the daemon */
	struct openas_cred cred;
};

/* Every port's QMP socket (ctl->links), made by the first one. */
struct ctl_links {
	struct ctl_link_entry e[DP_MAX_PORTS];
};

static void ctl_link_entry_clear(struct ctl_link_entry *le)
{
	free(le->path);
	free(le->netdev);
	memset(le, 0, sizeof(*le));
}

/* Is le the entry of a port that still exists (same name, same id)? */
static bool ctl_link_live(struct ctl *ctl, const struct ctl_link_entry *le)
{
	uint32_t id;

	return le->path && dp_port_find(ctl->dp, le->port, &id) == 0 && id == le->id;
}

/* The entry of port name, or NULL. */
static struct ctl_link_entry *ctl_link_find(struct ctl *ctl, const char *name)
{
	for (size_t i = 0; ctl->links && i < DP_MAX_PORTS; i++) {
		struct ctl_link_entry *le = &ctl->links->e[i];

		if (le->path && strcmp(le->port, name) == 0 && ctl_link_live(ctl, le))
			return le;
	}
	return NULL;
}

/* A free slot, freeing the entries of ports gone or named name; NULL: out of memory. */
static struct ctl_link_entry *ctl_link_slot(struct ctl *ctl, const char *name)
{
	struct ctl_link_entry *free_slot = NULL;

	if (!ctl->links)
		ctl->links = calloc(1, sizeof(*ctl->links));
	for (size_t i = 0; ctl->links && i < DP_MAX_PORTS; i++) {
		struct ctl_link_entry *le = &ctl->links->e[i];

		if (le->path && (strcmp(le->port, name) == 0 || !ctl_link_live(ctl, le)))
			ctl_link_entry_clear(le);
		if (!le->path && !free_slot)
			free_slot = le;
	}
	return free_slot;
}

int ctl_link_qmp_args(json_t *args, struct ctl_link_qmp *q, struct ctl_err *e)
{
	int err;

	err = ctl_args_str(args, "qmp", false, &q->path, e);
	if (!err)
		err = ctl_args_str(args, "qmp_netdev", false, &q->netdev, e);
	if (err)
		return err;
	if (!q->path != !q->netdev)
		return ctl_args_fail(e, -EINVAL,
				     "args.%s: needed with args.%s (a QMP socket and "
				     "the id of the VM's -netdev)",
				     q->path ? "qmp_netdev" : "qmp",
				     q->path ? "qmp" : "qmp_netdev");
	if (q->path && (q->path[0] != '/' || strlen(q->path) >= PATH_MAX))
		return ctl_args_fail(e, -EINVAL,
				     "args.qmp: expected an absolute path of a QMP socket");
	if (q->netdev && strlen(q->netdev) >= CTL_LINK_NETDEV_MAX)
		return ctl_args_fail(e, -EINVAL, "args.qmp_netdev: longer than %d bytes",
				     CTL_LINK_NETDEV_MAX - 1);
	return 0;
}

int ctl_link_qmp_set(struct ctl *ctl, const char *port, const struct ctl_link_qmp *q)
{
	struct ctl_link_entry *le = ctl_link_slot(ctl, port);

	if (!q->path)
		return 0; /* ctl_link_slot() forgot it */
	if (!le || dp_port_find(ctl->dp, port, &le->id) < 0)
		return le ? -ENOENT : -ENOMEM;
	snprintf(le->port, sizeof(le->port), "%s", port);
	le->path = strdup(q->path);
	le->netdev = strdup(q->netdev);
	le->member = ctl->caller && ctl->caller->member;
	if (le->member)
		le->cred = ctl->caller->cred;
	if (!le->path || !le->netdev) {
		ctl_link_entry_clear(le);
		return -ENOMEM;
	}
	log_info("port %s: link state through QMP socket %s, netdev %s%s", port, q->path, q->netdev,
		 le->member ? " (connected to with the caller's rights)" : "");
	return 0;
}

void ctl_link_describe(struct ctl *ctl, const struct dp_port_info *pi, json_t *obj)
{
	struct ctl_link_entry *le = ctl_link_find(ctl, pi->name);
	const char *via = le					     ? "qmp"
			  : pi->kind && strcmp(pi->kind, "tap") == 0 ? "carrier"
								     : "switch";

	json_object_set_new(obj, "link_via", ctl_must(json_string(via)));
	if (!le)
		return;
	json_object_set_new(obj, "qmp", ctl_must(json_string(le->path)));
	json_object_set_new(obj, "qmp_netdev", ctl_must(json_string(le->netdev)));
}

void ctl_link_release(struct ctl *ctl)
{
	for (size_t i = 0; ctl->links && i < DP_MAX_PORTS; i++)
		ctl_link_entry_clear(&ctl->links->e[i]);
	free(ctl->links);
	ctl->links = NULL;
}

/* What link/set carries from its start to its finish. */
struct ctl_link_set {
	char port[PORT_NAME_MAX];
	bool up;
	struct ctl_link_entry qmp; /* a copy of the port's entry; path NULL: no QMP */
	struct qmp_error qe;
};

/* Without the lock: tell QEMU. */
static int ctl_link_set_wait(struct ctl_later *l, const atomic_bool *stop)
{
	struct ctl_link_set *s = l->state;
	struct qmp *q = NULL;
	int err;

	(void)stop; /* bounded by QMP_TIMEOUT_MS per answer */
	err = qmp_open(s->qmp.path, s->qmp.member ? &s->qmp.cred : NULL, QMP_TIMEOUT_MS, &q,
		       &s->qe);
	if (!err)
		err = qmp_set_link(q, s->qmp.netdev, s->up, &s->qe);
	qmp_close(q);
	return err;
}

/* Under the lock again: change forwarding unless QEMU could not be told. */
static int ctl_link_set_finish(struct ctl *ctl, struct ctl_later *l, int err, json_t **result,
			       struct ctl_err *e)
{
	struct ctl_link_set *s = l->state;
	struct dp_port_info pi;
	uint32_t id;

	if (err)
		ctl_args_fail(e, err, "port \"%s\": link left %s, the guest could not be told: %s",
			      s->port, s->up ? "down" : "up", s->qe.msg);
	if (!err)
		err = ctl_find_port(ctl, s->port, &id, e);
	if (!err) {
		err = dp_port_set_link(ctl->dp, id, s->up);
		if (err)
			ctl_dp_fail(e, err, "link/set");
	}
	if (!err)
		err = ctl_port_info(ctl, id, &pi, e);
	if (!err) {
		log_info("port %s link %s%s", s->port, s->up ? "up" : "down",
			 s->qmp.path ? " (guest told through QMP)" : "");
		*result = ctl_port_json(ctl, &pi);
	}
	ctl_link_entry_clear(&s->qmp);
	free(s);
	return err;
}

static int cmd_link_set(struct ctl *ctl, json_t *args, struct ctl_later *l, struct ctl_err *e)
{
	struct ctl_link_entry *le;
	struct ctl_link_set *s;
	const char *name;
	uint32_t id;
	bool up;
	int err;

	err = ctl_args_str(args, "port", true, &name, e);
	if (!err)
		err = ctl_args_bool(args, "up", CTL_ARGS_REQUIRED, &up, e);
	if (!err)
		err = ctl_find_port(ctl, name, &id, e);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	snprintf(s->port, sizeof(s->port), "%s", name);
	s->up = up;
	le = ctl_link_find(ctl, name);
	if (le) {
		s->qmp = *le;
		s->qmp.path = strdup(le->path);
		s->qmp.netdev = strdup(le->netdev);
		l->wait = ctl_link_set_wait;
	}
	l->finish = ctl_link_set_finish;
	l->state = s;
	if (le && (!s->qmp.path || !s->qmp.netdev)) {
		l->finish(ctl, l, -ENOMEM, NULL, e);
		return -ENOMEM;
	}
	return 0;
}

static int cmd_link_qmp(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_link_qmp q = {0};
	struct dp_port_info pi;
	const char *name;
	uint32_t id;
	int err;

	err = ctl_args_str(args, "port", true, &name, e);
	if (!err)
		err = ctl_link_qmp_args(args, &q, e);
	if (!err)
		err = ctl_find_port(ctl, name, &id, e);
	if (!err)
		err = ctl_link_qmp_set(ctl, name, &q);
	if (!err)
		err = ctl_port_info(ctl, id, &pi, e);
	if (err)
		return err;
	if (!q.path)
		log_info("port %s: no QMP socket any more", name);
	*result = ctl_port_json(ctl, &pi);
	return 0;
}

const struct ctl_cmd ctl_link_cmds[] = {
	CTL_LATER("link/set", cmd_link_set, CTL_ARGS("port", "up"), CTL_PERM_LAB),
	CTL_CMD("link/qmp", cmd_link_qmp, CTL_ARGS("port", "qmp", "qmp_netdev")),
};

_Static_assert(sizeof(ctl_link_cmds) / sizeof(ctl_link_cmds[0]) == CTL_LINK_NCMDS,
	       "CTL_LINK_NCMDS must count ctl_link_cmds");
