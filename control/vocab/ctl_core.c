/* SPDX-License-Identifier: MIT */
/*
 * ctl_core: the switch's own commands: status, bridges, ports (a port's QMP
 * socket and link/set are ctl_link's), partitions, counters, the MAC table
 * and the log level. Each handler checks its arguments, maps names to
 * dataplane ids, calls the dp API and builds its result.
 */
#include "ctl_core.h"

#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctl_link.h"
#include "log.h"

#ifndef TAPYARD_VERSION
#define TAPYARD_VERSION "unknown"
#endif

json_t *ctl_port_json(struct ctl *ctl, const struct dp_port_info *pi)
{
	char bridge[DP_BRIDGE_NAME_MAX] = "";
	json_t *obj;

	dp_bridge_name(ctl->dp, pi->bridge, bridge);
	obj = ctl_must(json_pack("{s:s, s:s, s:s?, s:b, s:b, s:b, s:b, s:s*}", "name", pi->name,
				 "bridge", bridge, "kind", pi->kind, "up", pi->up, "gone", pi->gone,
				 "created", pi->created, "offloads", pi->offloads, "changed",
				 pi->note[0] ? pi->note : NULL));
	ctl_link_describe(ctl, pi, obj);
	return obj;
}

/* The names of the ports of bridge (DP_ALL: of every bridge), as a JSON array. */
static json_t *ctl_port_names(struct ctl *ctl, uint32_t bridge)
{
	uint32_t ids[DP_MAX_PORTS];
	struct dp_port_info pi;
	json_t *names = ctl_must(json_array());
	size_t n = dp_port_list(ctl->dp, bridge, ids, DP_MAX_PORTS);

	for (size_t i = 0; i < n; i++) {
		if (dp_port_info(ctl->dp, ids[i], &pi) == 0)
			json_array_append_new(names, ctl_must(json_string(pi.name)));
	}
	return names;
}

static int cmd_status(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	uint32_t ids[DP_MAX_PORTS];
	struct dp_stats st;
	size_t bridges, ports;

	(void)args;
	(void)e;
	dp_get_stats(ctl->dp, &st);
	bridges = dp_bridge_list(ctl->dp, ids, DP_MAX_BRIDGES);
	ports = dp_port_list(ctl->dp, DP_ALL, ids, DP_MAX_PORTS);
	*result = ctl_must(json_pack(
		"{s:s, s:I, s:I, s:I, s:s, s:{s:b, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		"s:I, s:I}}",
		"version", TAPYARD_VERSION, "uptime_s",
		(json_int_t)((clock_mono_ns() - ctl->start_ns) / 1000000000ull), "bridges",
		(json_int_t)bridges, "ports", (json_int_t)ports, "log_level",
		log_level_name(log_get_level()), "loop", "running", st.running, "multishot",
		st.multishot, "batches", (json_int_t)st.batches, "cqes", (json_int_t)st.cqes,
		"reads", (json_int_t)st.reads, "writes", (json_int_t)st.writes, "read_rearms",
		(json_int_t)st.read_rearms, "no_buffer", (json_int_t)st.no_buffer, "commands",
		(json_int_t)st.commands, "floods", (json_int_t)st.floods, "gso_frames",
		(json_int_t)st.gso_frames, "bufs_free", (json_int_t)st.bufs_free));
	return 0;
}

static int cmd_bridge_add(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	const char *name;
	uint32_t id;
	int err;

	err = ctl_args_str(args, "name", true, &name, e);
	if (err)
		return err;
	if (strlen(name) >= DP_BRIDGE_NAME_MAX)
		return ctl_args_fail(e, -ENAMETOOLONG, "args.name: longer than %d bytes",
				     DP_BRIDGE_NAME_MAX - 1);
	err = dp_bridge_add(ctl->dp, name, &id);
	if (err == -EEXIST)
		return ctl_args_fail(e, err, "bridge \"%s\" already exists", name);
	if (err == -ENOSPC)
		return ctl_args_fail(e, err, "too many bridges (at most %d)", DP_MAX_BRIDGES);
	if (err)
		return ctl_dp_fail(e, err, "bridge/add");
	log_info("bridge %s added", name);
	*result = ctl_must(json_pack("{s:s, s:[]}", "name", name, "ports"));
	return 0;
}

/* Delete the bridge or port named by args.name. */
static int ctl_del_named(struct ctl *ctl, json_t *args, struct ctl_err *e, const char *what,
			 int (*find)(struct ctl *, const char *, uint32_t *, struct ctl_err *),
			 int (*del)(struct dp *, uint32_t))
{
	const char *name;
	uint32_t id;
	int err;

	err = ctl_args_str(args, "name", true, &name, e);
	if (!err)
		err = find(ctl, name, &id, e);
	if (err)
		return err;
	err = del(ctl->dp, id);
	if (err)
		return ctl_args_fail(e, err, "cannot delete %s \"%s\": %s", what, name,
				     strerror(-err));
	log_info("%s %s deleted", what, name);
	return 0;
}

/*
 * The daemon's record of the TAPs it creates (ctl_set_record(); none outside a
 * daemon): a TAP is recorded before it is created, so that `tapyard cleanup`
 * finds it after a crash, and forgotten after it was deleted. A name that
 * exists already is opened, not created, and never recorded: cleanup must not
 * delete what tapyard did not make. Returns whether name was recorded.
 */
static bool ctl_tap_record(struct ctl *ctl, const char *name, const char *bridge)
{
	if (!ctl_recording(ctl) || if_nametoindex(name) || errno != ENODEV)
		return false;
	ctl_record_add(ctl, "tap", name, ctl_must(json_pack("{s:s}", "bridge", bridge)));
	return true;
}

/* Forget the TAP of a deleted port (nothing to do for a port that is no TAP we created). */
static void ctl_tap_forget(struct ctl *ctl, const char *name)
{
	ctl_record_remove(ctl, "tap", name);
}

static int cmd_bridge_del(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	const char *name = json_string_value(json_object_get(args, "name"));
	json_t *ports = NULL;
	uint32_t br;
	int err;

	(void)result;
	/* Its ports go with it: list them first, to forget their TAPs after. */
	if (ctl_recording(ctl) && name && dp_bridge_find(ctl->dp, name, &br) == 0)
		ports = ctl_port_names(ctl, br);
	err = ctl_del_named(ctl, args, e, "bridge", ctl_find_bridge, dp_bridge_del);
	for (size_t i = 0; !err && i < json_array_size(ports); i++)
		ctl_tap_forget(ctl, json_string_value(json_array_get(ports, i)));
	json_decref(ports);
	return err;
}

static int cmd_bridge_list(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	uint32_t ids[DP_MAX_BRIDGES];
	char name[DP_BRIDGE_NAME_MAX];
	size_t n;

	(void)args;
	(void)e;
	n = dp_bridge_list(ctl->dp, ids, DP_MAX_BRIDGES);
	*result = ctl_must(json_array());
	for (size_t i = 0; i < n; i++) {
		if (dp_bridge_name(ctl->dp, ids[i], name) < 0)
			continue;
		json_array_append_new(*result,
				      ctl_must(json_pack("{s:s, s:o}", "name", name, "ports",
							 ctl_port_names(ctl, ids[i]))));
	}
	return 0;
}

/* Attach port to bridge br and describe it in *result. */
static int ctl_port_attach(struct ctl *ctl, uint32_t br, struct port *port, uint32_t *id,
			   struct ctl_err *e)
{
	char name[PORT_NAME_MAX];
	int err;

	snprintf(name, sizeof(name), "%s", port_name(port));
	err = dp_port_add(ctl->dp, br, port, id);
	if (err == -EEXIST)
		return ctl_args_fail(e, err, "port \"%s\" already exists", name);
	if (err == -ENOSPC)
		return ctl_args_fail(e, err, "too many ports (at most %d)", DP_MAX_PORTS);
	if (err)
		return ctl_args_fail(e, err, "cannot attach port \"%s\": %s", name, strerror(-err));
	return 0;
}

/*
 * Open name as a port of type (a TAP is created when it does not exist, and
 * recorded first), attach it to br.
 */
static int ctl_port_open_add(struct ctl *ctl, uint32_t br, const char *bridge, const char *name,
			     enum port_type type, const struct port_tap_opts *opts,
			     struct dp_port_info *pi, struct ctl_err *e)
{
	bool recorded =
		!opts->must_exist && type != PORT_TYPE_NETDEV && ctl_tap_record(ctl, name, bridge);
	enum port_type tried;
	struct port *port;
	uint32_t id;
	int err;

	err = port_open(name, type, opts, &port, &tried);
	if (err && tried == PORT_TYPE_NETDEV)
		ctl_args_fail(e, err, "cannot attach interface \"%s\" as a netdev port: %s", name,
			      port_strerror(err));
	else if (err)
		ctl_args_fail(e, err, "cannot open TAP \"%s\": %s%s", name, port_strerror(err),
			      err == -EBUSY || err == -EMLINK || err == -EEXIST
				      ? " (attach it as a netdev port: type \"netdev\", --netdev)"
				      : "");
	else
		err = ctl_port_attach(ctl, br, port, &id, e);
	if (!err)
		err = ctl_port_info(ctl, id, pi, e);
	/* Not created after all (failed, or someone made it meanwhile): not ours to clean up. */
	if (recorded && (err || !pi->created))
		ctl_tap_forget(ctl, name);
	return err;
}

/* The port class args.type names: absent picks one (port_open()). */
static enum port_type ctl_port_type(const char *type)
{
	if (!type)
		return PORT_TYPE_AUTO;
	return strcmp(type, "netdev") == 0 ? PORT_TYPE_NETDEV : PORT_TYPE_TAP;
}

static int cmd_port_add(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct port_tap_opts opts = {0};
	struct ctl_link_qmp qmp = {0};
	const char *bridge, *name, *type;
	struct dp_port_info pi;
	bool existing, up;
	uint32_t br, id;
	int err;

	err = ctl_args_str(args, "bridge", true, &bridge, e);
	if (!err)
		err = ctl_args_str(args, "name", true, &name, e);
	if (!err)
		err = ctl_args_str(args, "type", false, &type, e);
	if (!err)
		err = ctl_args_bool(args, "existing", 0, &existing, e);
	if (!err)
		err = ctl_args_bool(args, "up", 1, &up, e);
	if (!err)
		err = ctl_link_qmp_args(args, &qmp, e);
	if (err)
		return err;
	if (type && strcmp(type, "tap") != 0 && strcmp(type, "netdev") != 0)
		return ctl_args_fail(e, -EINVAL,
				     "args.type: unsupported port type \"%s\" (known: tap, netdev)",
				     type);
	err = ctl_find_bridge(ctl, bridge, &br, e);
	if (err)
		return err;
	if (dp_port_find(ctl->dp, name, &id) == 0)
		return ctl_args_fail(e, -EEXIST, "port \"%s\" already exists", name);
	opts.must_exist = existing;
	opts.up = up;
	err = ctl_port_open_add(ctl, br, bridge, name, ctl_port_type(type), &opts, &pi, e);
	if (!err && ctl_link_qmp_set(ctl, name, &qmp) < 0)
		err = ctl_args_fail(e, -ENOMEM, "port \"%s\": out of memory", name);
	if (err)
		return err;
	log_info("port %s added to bridge %s (%s, %s%s%s)", name, bridge, pi.kind,
		 pi.created ? "created" : "existing", pi.note[0] ? "; " : "", pi.note);
	*result = ctl_port_json(ctl, &pi);
	return 0;
}

static int cmd_port_del(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	int err;

	(void)result;
	err = ctl_del_named(ctl, args, e, "port", ctl_find_port, dp_port_del);
	if (!err)
		ctl_tap_forget(ctl, json_string_value(json_object_get(args, "name")));
	return err;
}

static int cmd_port_list(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	uint32_t ids[DP_MAX_PORTS], br;
	struct dp_port_info pi;
	size_t n;
	int err;

	err = ctl_find_bridge_opt(ctl, args, &br, e);
	if (err)
		return err;
	n = dp_port_list(ctl->dp, br, ids, DP_MAX_PORTS);
	*result = ctl_must(json_array());
	for (size_t i = 0; i < n; i++) {
		if (dp_port_info(ctl->dp, ids[i], &pi) == 0)
			json_array_append_new(*result, ctl_port_json(ctl, &pi));
	}
	return 0;
}

/* A set of ports named by a string-or-array argument, resolved to ids and bridges. */
struct ctl_port_set {
	size_t n;
	const char *names[DP_MAX_PORTS];
	uint32_t ids[DP_MAX_PORTS];
	uint32_t bridges[DP_MAX_PORTS];
};

static int ctl_port_set_get(struct ctl *ctl, json_t *args, const char *key, bool required,
			    struct ctl_port_set *set, struct ctl_err *e)
{
	struct dp_port_info pi;
	int err;

	err = ctl_args_strs(args, key, required, set->names, DP_MAX_PORTS, &set->n, e);
	for (size_t i = 0; !err && i < set->n; i++) {
		err = ctl_find_port(ctl, set->names[i], &set->ids[i], e);
		if (!err)
			err = ctl_port_info(ctl, set->ids[i], &pi, e);
		set->bridges[i] = err ? DP_ALL : pi.bridge;
	}
	return err;
}

/* Cut or heal every path between two sets of ports, in one or both directions. */
static int ctl_partition_apply(struct ctl *ctl, json_t *args, bool cut, json_t **result,
			       struct ctl_err *e)
{
	struct dp_path *list = ctl->scratch->paths;
	struct ctl_port_set from = {.n = 0}, to = {.n = 0};
	unsigned int paths = 0;
	bool oneway;
	int err;

	err = ctl_port_set_get(ctl, args, "from", true, &from, e);
	if (!err)
		err = ctl_port_set_get(ctl, args, "to", true, &to, e);
	if (!err)
		err = ctl_args_bool(args, "oneway", 0, &oneway, e);
	for (size_t i = 0; !err && i < from.n; i++) {
		for (size_t j = 0; !err && j < to.n; j++) {
			if (from.bridges[i] != to.bridges[j])
				err = ctl_args_fail(
					e, -EINVAL,
					"ports \"%s\" and \"%s\" are on different bridges",
					from.names[i], to.names[j]);
		}
	}
	if (err)
		return err;
	for (size_t i = 0; i < from.n; i++) {
		for (size_t j = 0; j < to.n; j++) {
			if (from.ids[i] == to.ids[j])
				continue;
			list[paths++] = (struct dp_path){from.ids[i], to.ids[j]};
			if (!oneway)
				list[paths++] = (struct dp_path){to.ids[j], from.ids[i]};
		}
	}
	err = paths ? dp_partition_apply(ctl->dp, list, paths, cut) : 0;
	if (err)
		return ctl_dp_fail(e, err, cut ? "partition/cut" : "partition/heal");
	if (!paths)
		return ctl_args_fail(e, -EINVAL, "args.to: names only the ports of args.from");
	log_info("partition: %s %u path(s)", cut ? "cut" : "healed", paths);
	*result = ctl_must(json_pack("{s:i}", "paths", paths));
	return 0;
}

static int cmd_partition_cut(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	return ctl_partition_apply(ctl, args, true, result, e);
}

static int cmd_partition_heal(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	return ctl_partition_apply(ctl, args, false, result, e);
}

/* Cut or heal both ways between the port named by "port" and the rest of its bridge. */
static int ctl_partition_isolate(struct ctl *ctl, json_t *args, bool cut, json_t **result,
				 struct ctl_err *e)
{
	struct dp_path list[2 * DP_MAX_PORTS];
	uint32_t ids[DP_MAX_PORTS], id;
	struct dp_port_info pi;
	unsigned int paths = 0;
	const char *name;
	size_t n;
	int err;

	err = ctl_args_str(args, "port", true, &name, e);
	if (!err)
		err = ctl_find_port(ctl, name, &id, e);
	if (!err)
		err = ctl_port_info(ctl, id, &pi, e);
	if (err)
		return err;
	n = dp_port_list(ctl->dp, pi.bridge, ids, DP_MAX_PORTS);
	for (size_t i = 0; i < n; i++) {
		if (ids[i] == id)
			continue;
		list[paths++] = (struct dp_path){id, ids[i]};
		list[paths++] = (struct dp_path){ids[i], id};
	}
	err = dp_partition_apply(ctl->dp, list, paths, cut);
	if (err)
		return ctl_dp_fail(e, err, cut ? "partition/isolate" : "partition/unisolate");
	log_info("partition: port %s %s", name, cut ? "isolated" : "unisolated");
	*result = ctl_must(json_pack("{s:i}", "paths", paths));
	return 0;
}

static int cmd_partition_isolate(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	return ctl_partition_isolate(ctl, args, true, result, e);
}

static int cmd_partition_unisolate(struct ctl *ctl, json_t *args, json_t **result,
				   struct ctl_err *e)
{
	return ctl_partition_isolate(ctl, args, false, result, e);
}

static int cmd_partition_heal_all(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	uint32_t br;
	int err;

	(void)result;
	err = ctl_find_bridge_opt(ctl, args, &br, e);
	if (err)
		return err;
	err = dp_partition_heal_all(ctl->dp, br);
	if (err)
		return ctl_dp_fail(e, err, "partition/heal_all");
	log_info("partition: healed all");
	return 0;
}

/* Append {from, to} to list for every cut path among the ports of bridge br. */
static void ctl_partition_list_bridge(struct ctl *ctl, uint32_t br, json_t *list)
{
	struct dp_path *cut = ctl->scratch->cut;
	size_t n = dp_partition_dump(ctl->dp, br, cut, DP_MAX_PORTS * DP_MAX_PORTS);
	struct dp_port_info from, to;

	for (size_t i = 0; i < n; i++) {
		if (dp_port_info(ctl->dp, cut[i].from, &from) ||
		    dp_port_info(ctl->dp, cut[i].to, &to))
			continue;
		json_array_append_new(
			list, ctl_must(json_pack("{s:s, s:s}", "from", from.name, "to", to.name)));
	}
}

static int cmd_partition_list(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	uint32_t ids[DP_MAX_BRIDGES], br;
	size_t n = 1;
	int err;

	err = ctl_find_bridge_opt(ctl, args, &br, e);
	if (err)
		return err;
	if (br == DP_ALL)
		n = dp_bridge_list(ctl->dp, ids, DP_MAX_BRIDGES);
	else
		ids[0] = br;
	*result = ctl_must(json_array());
	for (size_t i = 0; i < n; i++)
		ctl_partition_list_bridge(ctl, ids[i], *result);
	return 0;
}

/* {"name", "bridge", "counters": {...}} for port id, or NULL when it vanished. */
static json_t *ctl_counters_json(struct ctl *ctl, uint32_t id)
{
	char bridge[DP_BRIDGE_NAME_MAX] = "";
	struct dp_port_info pi;
	struct dp_counters c;
	json_t *obj;

	if (dp_port_info(ctl->dp, id, &pi) < 0 || dp_port_counters(ctl->dp, id, &c) < 0)
		return NULL;
	dp_bridge_name(ctl->dp, pi.bridge, bridge);
	obj = ctl_must(json_object());
	for (unsigned int i = 0; i < dp_counter_count; i++)
		json_object_set_new(obj, dp_counter_names[i],
				    ctl_must(json_integer((json_int_t)counters_get(&c, i))));
	return ctl_must(
		json_pack("{s:s, s:s, s:o}", "name", pi.name, "bridge", bridge, "counters", obj));
}

static int cmd_counters_get(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_port_set set;
	json_t *ports, *entry;
	uint32_t br;
	int err;

	err = ctl_port_set_get(ctl, args, "port", false, &set, e);
	if (!err)
		err = ctl_find_bridge_opt(ctl, args, &br, e);
	if (err)
		return err;
	if (set.n && br != DP_ALL)
		return ctl_args_fail(e, -EINVAL, "args: give port or bridge, not both");
	if (!set.n)
		set.n = dp_port_list(ctl->dp, br, set.ids, DP_MAX_PORTS);
	ports = ctl_must(json_array());
	for (size_t i = 0; i < set.n; i++) {
		entry = ctl_counters_json(ctl, set.ids[i]);
		if (entry)
			json_array_append_new(ports, entry);
	}
	*result = ctl_must(json_pack("{s:o}", "ports", ports));
	return 0;
}

/* counters/names: every counter a port has, in the order counters/get gives them. */
static int cmd_counters_names(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	(void)ctl;
	(void)args;
	(void)e;
	*result = ctl_must(json_array());
	for (unsigned int i = 0; i < dp_counter_count; i++)
		json_array_append_new(*result, ctl_must(json_string(dp_counter_names[i])));
	return 0;
}

static int cmd_counters_reset(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	const char *name;
	uint32_t id = DP_ALL;
	int err;

	(void)result;
	err = ctl_args_str(args, "port", false, &name, e);
	if (!err && name)
		err = ctl_find_port(ctl, name, &id, e);
	if (err)
		return err;
	err = dp_counters_reset(ctl->dp, id);
	if (err)
		return ctl_dp_fail(e, err, "counters/reset");
	return 0;
}

/* Copy the MAC table of br into a buffer grown until it holds every entry. */
static int ctl_fdb_dump(struct ctl *ctl, uint32_t br, struct dp_fdb_entry **out, size_t *n)
{
	struct dp_fdb_entry *buf = NULL, *grown;
	size_t max = 1024;
	int err;

	for (;;) {
		grown = realloc(buf, max * sizeof(*buf));
		if (!grown) {
			free(buf);
			return -ENOMEM;
		}
		buf = grown;
		err = dp_fdb_dump(ctl->dp, br, buf, max, n);
		if (err || *n < max || max >= (1u << 24))
			break;
		max *= 2;
	}
	if (err) {
		free(buf);
		return err;
	}
	*out = buf;
	return 0;
}

static json_t *ctl_fdb_entry_json(struct ctl *ctl, const struct dp_fdb_entry *f)
{
	struct dp_port_info pi;
	char mac[18];

	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", f->mac[0], f->mac[1], f->mac[2],
		 f->mac[3], f->mac[4], f->mac[5]);
	if (dp_port_info(ctl->dp, f->port, &pi) < 0)
		return NULL;
	return ctl_must(json_pack("{s:s, s:s, s:I}", "mac", mac, "port", pi.name, "idle_ms",
				  (json_int_t)f->idle_ms));
}

static int cmd_fdb_show(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct dp_fdb_entry *entries;
	const char *name;
	json_t *entry;
	uint32_t br;
	size_t n;
	int err;

	err = ctl_args_str(args, "bridge", true, &name, e);
	if (!err)
		err = ctl_find_bridge(ctl, name, &br, e);
	if (err)
		return err;
	err = ctl_fdb_dump(ctl, br, &entries, &n);
	if (err)
		return ctl_dp_fail(e, err, "fdb/show");
	*result = ctl_must(json_array());
	for (size_t i = 0; i < n; i++) {
		entry = ctl_fdb_entry_json(ctl, &entries[i]);
		if (entry)
			json_array_append_new(*result, entry);
	}
	free(entries);
	return 0;
}

static int cmd_fdb_flush(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	const char *bridge, *port = NULL;
	struct dp_port_info pi;
	uint32_t br, id = DP_ALL;
	int err;

	(void)result;
	err = ctl_args_str(args, "bridge", true, &bridge, e);
	if (!err)
		err = ctl_args_str(args, "port", false, &port, e);
	if (!err)
		err = ctl_find_bridge(ctl, bridge, &br, e);
	if (!err && port)
		err = ctl_find_port(ctl, port, &id, e);
	if (!err && port)
		err = ctl_port_info(ctl, id, &pi, e);
	if (err)
		return err;
	if (port && pi.bridge != br)
		return ctl_args_fail(e, -EINVAL, "port \"%s\" is not on bridge \"%s\"", port,
				     bridge);
	err = dp_fdb_flush(ctl->dp, br, id);
	if (err)
		return ctl_dp_fail(e, err, "fdb/flush");
	return 0;
}

static int cmd_fdb_set_age(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	const char *bridge;
	uint64_t age_ms;
	uint32_t br;
	int err;

	(void)result;
	err = ctl_args_str(args, "bridge", true, &bridge, e);
	if (!err)
		err = ctl_args_uint(args, "age_ms", 1, UINT32_MAX, &age_ms, e);
	if (!err)
		err = ctl_find_bridge(ctl, bridge, &br, e);
	if (err)
		return err;
	err = dp_fdb_set_age(ctl->dp, br, (uint32_t)age_ms);
	if (err)
		return ctl_dp_fail(e, err, "fdb/set_age");
	return 0;
}

static int cmd_log_set(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	enum log_level level;
	const char *name;
	int err;

	(void)ctl;
	err = ctl_args_str(args, "level", true, &name, e);
	if (err)
		return err;
	if (log_level_parse(name, &level) < 0)
		return ctl_args_fail(e, -EINVAL,
				     "args.level: unknown level \"%s\" (error, warn, info, debug)",
				     name);
	log_set_level(level);
	*result = ctl_must(json_pack("{s:s}", "level", log_level_name(level)));
	return 0;
}

const struct ctl_cmd ctl_core_cmds[] = {
	CTL_READ("status", cmd_status, CTL_NO_ARGS),
	CTL_CMD("bridge/add", cmd_bridge_add, CTL_ARGS("name")),
	CTL_CMD("bridge/del", cmd_bridge_del, CTL_ARGS("name")),
	CTL_READ("bridge/list", cmd_bridge_list, CTL_NO_ARGS),
	CTL_CMD("port/add", cmd_port_add,
		CTL_ARGS("bridge", "name", "type", "existing", "up", "qmp", "qmp_netdev")),
	CTL_CMD("port/del", cmd_port_del, CTL_ARGS("name")),
	CTL_READ("port/list", cmd_port_list, CTL_ARGS("bridge")),
	CTL_CMD("partition/cut", cmd_partition_cut, CTL_ARGS("from", "to", "oneway")),
	CTL_CMD("partition/heal", cmd_partition_heal, CTL_ARGS("from", "to", "oneway")),
	CTL_CMD("partition/isolate", cmd_partition_isolate, CTL_ARGS("port")),
	CTL_CMD("partition/unisolate", cmd_partition_unisolate, CTL_ARGS("port")),
	CTL_CMD("partition/heal_all", cmd_partition_heal_all, CTL_ARGS("bridge")),
	CTL_READ("partition/list", cmd_partition_list, CTL_ARGS("bridge")),
	CTL_READ("counters/get", cmd_counters_get, CTL_ARGS("port", "bridge")),
	CTL_CMD("counters/reset", cmd_counters_reset, CTL_ARGS("port")),
	CTL_READ("counters/names", cmd_counters_names, CTL_NO_ARGS),
	CTL_READ("fdb/show", cmd_fdb_show, CTL_ARGS("bridge")),
	CTL_CMD("fdb/flush", cmd_fdb_flush, CTL_ARGS("bridge", "port")),
	CTL_CMD("fdb/set_age", cmd_fdb_set_age, CTL_ARGS("bridge", "age_ms")),
	CTL_ADMIN("log/set", cmd_log_set, CTL_ARGS("level")),
};

_Static_assert(sizeof(ctl_core_cmds) / sizeof(ctl_core_cmds[0]) == CTL_CORE_NCMDS,
	       "CTL_CORE_NCMDS must count ctl_core_cmds");

int ctl_attach_port(struct ctl *ctl, const char *bridge, struct port *port, uint32_t *id)
{
	struct ctl_err e = {0};
	uint32_t br, pid;
	int err;

	pthread_mutex_lock(&ctl->lock);
	err = ctl_find_bridge(ctl, bridge, &br, &e);
	if (err)
		port_destroy(port);
	else
		err = ctl_port_attach(ctl, br, port, &pid, &e);
	pthread_mutex_unlock(&ctl->lock);
	if (!err && id)
		*id = pid;
	return err;
}
