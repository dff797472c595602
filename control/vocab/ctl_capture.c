/* SPDX-License-Identifier: MIT */
/*
 * ctl_capture: the capture commands. Each dispatcher gets one capture set
 * (bpf/capset.h) at its first capture/start, kept in a small registry keyed
 * by the dispatcher, as ctl_guest keeps its guests. Handlers map names to
 * dataplane ids, call the capture set and turn frames into JSON: a decoded
 * summary (addresses, protocol, ports) and the captured bytes in base64.
 */
#include "ctl_capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capdecode.h"
#include "capset.h"
#include "frame.h"
#include "log.h"

#define CTL_CAPTURE_READ_MAX 1000 /* frames per read by default */
#define CTL_CAPTURE_READ_LIMIT 100000 /* frames per read at most */
#define CTL_CAPTURE_READ_BYTES (8u << 20) /* captured bytes per read reply at most */
#define CTL_CAPTURE_WAIT_MAX 60000 /* ms */

/* Register (add) or forget the two tc filters of a tap in the daemon's record. */
static void ctl_capture_record(void *ctx, bool add, const struct cap_link *link)
{
	static const char *const parents[2] = {"egress", "ingress"};
	struct ctl *ctl = ctx;
	char name[128];
	json_t *extra;

	if (!ctl_recording(ctl))
		return;
	if (!link->netns[0] && !link->host_netns) {
		if (add)
			log_warn("capture: %s is in an unnamed network namespace; "
				 "`tapyard cleanup` cannot find its tap",
				 link->ifname);
		return;
	}
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "capture:%s/%s/%s",
			 link->netns[0] ? link->netns : "host", link->ifname, parents[i]);
		if (!add) {
			ctl_record_remove(ctl, "tc", name);
			continue;
		}
		extra = ctl_must(json_pack("{s:s, s:s, s:I, s:I, s:b}", "ifname", link->ifname,
					   "parent", parents[i], "pref", (json_int_t)link->prio[i],
					   "handle", (json_int_t)link->handle[i], "qdisc_created",
					   link->qdisc_created));
		if (link->netns[0])
			json_object_set_new(extra, "netns", ctl_must(json_string(link->netns)));
		ctl_record_add(ctl, "tc", name, extra);
	}
}

/* The capture set of ctl (its lock held), created when create is true; NULL when absent. */
static struct capset *ctl_capture_set(struct ctl *ctl, bool create)
{
	if (!ctl->capset && create && capset_create(ctl->dp, ctl_capture_record, ctl, &ctl->capset))
		ctl->capset = NULL;
	return ctl->capset;
}

void ctl_capture_release(struct ctl *ctl)
{
	capset_destroy(ctl->capset);
	ctl->capset = NULL;
}

/* ---- arguments ---- */

static void ctl_capture_set_str(json_t *obj, const char *key, const char *v)
{
	json_object_set_new(obj, key, ctl_must(json_string(v)));
}

static void ctl_capture_set_int(json_t *obj, const char *key, json_int_t v)
{
	json_object_set_new(obj, key, ctl_must(json_integer(v)));
}

/* The capture named by args.id, in set *s. */
static int ctl_capture_id(struct ctl *ctl, json_t *args, struct capset **s, uint32_t *id,
			  struct ctl_err *e)
{
	struct capset_info info;
	uint64_t v;
	int err;

	err = ctl_args_uint(args, "id", 1, UINT32_MAX, &v, e);
	if (err)
		return err;
	*id = (uint32_t)v;
	*s = ctl_capture_set(ctl, false);
	if (!*s || capset_info(*s, *id, &info))
		return ctl_args_fail(e, -ENOENT, "capture %u not found", *id);
	return 0;
}

/* The ports args names (port or bridge), the bridge's name and a target label. */
static int ctl_capture_target(struct ctl *ctl, json_t *args, struct capset_opts *o, uint32_t *ports,
			      char *bridge, char *target, size_t size, struct ctl_err *e)
{
	const char *port, *br;
	struct dp_port_info pi;
	uint32_t id;
	int err;

	err = ctl_args_str(args, "port", false, &port, e);
	if (!err)
		err = ctl_args_str(args, "bridge", false, &br, e);
	if (err)
		return err;
	if (!port == !br)
		return ctl_args_fail(e, -EINVAL, "args: give port or bridge (one of them)");
	if (port) {
		err = ctl_find_port(ctl, port, &ports[0], e);
		if (!err)
			err = ctl_port_info(ctl, ports[0], &pi, e);
		if (err)
			return err;
		dp_bridge_name(ctl->dp, pi.bridge, bridge);
		o->nports = 1;
		snprintf(target, size, "port:%s", port);
	} else {
		err = ctl_find_bridge(ctl, br, &id, e);
		if (err)
			return err;
		o->nports = dp_port_list(ctl->dp, id, ports, DP_MAX_PORTS);
		if (!o->nports)
			return ctl_args_fail(e, -EINVAL, "bridge \"%s\" has no ports", br);
		snprintf(bridge, DP_BRIDGE_NAME_MAX, "%s", br);
		snprintf(target, size, "bridge:%s", br);
	}
	o->ports = ports;
	o->bridge = bridge;
	o->target = target;
	return 0;
}

static int ctl_capture_mode(json_t *args, enum capset_mode *mode, struct ctl_err *e)
{
	const char *name;
	int err;

	*mode = CAPSET_AUTO;
	err = ctl_args_str(args, "mode", false, &name, e);
	if (err || !name)
		return err;
	if (strcmp(name, "bpf") == 0)
		*mode = CAPSET_BPF;
	else if (strcmp(name, "loop") == 0)
		*mode = CAPSET_LOOP;
	else if (strcmp(name, "auto") != 0)
		return ctl_args_fail(e, -EINVAL,
				     "args.mode: expected auto, bpf or loop, not \"%s\"", name);
	return 0;
}

/* "port:x" as {"port": "x"}. */
static json_t *ctl_capture_target_json(const char *target)
{
	size_t kind = strcspn(target, ":");
	json_t *obj = ctl_must(json_object());
	char key[16];

	snprintf(key, sizeof(key), "%.*s", (int)kind, target);
	ctl_capture_set_str(obj, key, target[kind] ? target + kind + 1 : "");
	return obj;
}

/* ---- commands ---- */

static json_t *ctl_capture_nics(struct capset *s, uint32_t id)
{
	const char *names[DP_MAX_PORTS];
	size_t n = capset_nics(s, id, names, DP_MAX_PORTS);
	json_t *nics = ctl_must(json_array());

	for (size_t i = 0; i < n; i++)
		json_array_append_new(nics, ctl_must(json_string(names[i])));
	return nics;
}

/* args.filter (an object of keys to strings, numbers or booleans) into f. */
static int ctl_capture_filter(json_t *args, struct capfilter *f, struct ctl_err *e)
{
	json_t *filter = json_object_get(args, "filter"), *v;
	const char *key;
	char num[32];
	int err;

	capfilter_init(f);
	if (filter && !json_is_object(filter))
		return ctl_args_fail(e, -EINVAL, "args.filter: expected an object");
	json_object_foreach(filter, key, v) {
		if (json_is_integer(v))
			snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		else if (!json_is_string(v))
			return ctl_args_fail(e, -EINVAL,
					     "args.filter.%s: expected a string or a number", key);
		err = capfilter_set(f, key, json_is_string(v) ? json_string_value(v) : num,
				    json_is_string(v) ? json_string_length(v) : strlen(num));
		if (err == -ENOENT)
			return ctl_args_fail(
				e, -EINVAL,
				"args.filter.%s: unknown key (proto src dst host src_mac "
				"dst_mac port dir ethertype drop_reason min_len contains)",
				key);
		if (err)
			return ctl_args_fail(e, -EINVAL, "args.filter.%s: %s", key,
					     err == -E2BIG ? "too long" : "bad value");
	}
	return 0;
}

static int cmd_capture_start(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct capfilter filter;
	char bridge[DP_BRIDGE_NAME_MAX] = "", target[CAPSET_TARGET_MAX], why[256];
	uint32_t ports[DP_MAX_PORTS], id;
	struct capset_opts o = {0};
	struct capset_info info;
	struct capset *s;
	uint64_t snaplen;
	int err;

	err = ctl_capture_target(ctl, args, &o, ports, bridge, target, sizeof(target), e);
	if (!err)
		err = ctl_args_uint_opt(args, "snaplen", 1, 65535, CAPSET_DEFAULT_SNAPLEN, &snaplen,
					e);
	if (!err)
		err = ctl_args_str(args, "path", false, &o.path, e);
	if (!err)
		err = ctl_capture_mode(args, &o.mode, e);
	if (!err)
		err = ctl_capture_filter(args, &filter, e);
	if (err)
		return err;
	o.filter = &filter;
	o.snaplen = (uint32_t)snaplen;
	s = ctl_capture_set(ctl, true);
	if (!s)
		return ctl_args_fail(e, -ENOMEM, "out of memory");
	o.fd = o.path ? ctl_open_file(ctl, o.path, "cannot start the capture: cannot write", e)
		      : -1;
	if (o.fd < 0 && o.path)
		return o.fd;
	err = capset_start(s, &o, &id, why, sizeof(why));
	if (err)
		return ctl_args_fail(e, err, "cannot start the capture: %s",
				     why[0] ? why : strerror(-err));
	capset_info(s, id, &info);
	*result = ctl_must(json_pack(
		"{s:i, s:s, s:o, s:o, s:i, s:s?}", "id", id, "mode", capset_mode_name(info.mode),
		"target", ctl_capture_target_json(info.target), "nics", ctl_capture_nics(s, id),
		"snaplen", info.snaplen, "path", o.path));
	return 0;
}

/* The counts of a capture, as stop and list report them. */
static json_t *ctl_capture_info_json(const struct capset_info *info)
{
	json_t *obj = ctl_must(json_pack(
		"{s:i, s:o, s:s, s:b, s:i, s:I, s:I, s:I, s:I, s:I}", "id", info->id, "target",
		ctl_capture_target_json(info->target), "mode", capset_mode_name(info->mode),
		"running", info->running, "snaplen", info->snaplen, "frames",
		(json_int_t)info->frames, "dropped", (json_int_t)info->dropped, "ring_lost",
		(json_int_t)info->ring_lost, "file_lost", (json_int_t)info->file_lost, "evicted",
		(json_int_t)info->evicted));

	json_object_set_new(obj, "path",
			    info->path[0] ? ctl_must(json_string(info->path)) : json_null());
	if (info->file_error)
		json_object_set_new(obj, "file_error",
				    ctl_must(json_string(strerror(-info->file_error))));
	return obj;
}

static int cmd_capture_stop(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct capset_info info;
	struct capset *s;
	uint32_t id;
	int err;

	err = ctl_capture_id(ctl, args, &s, &id, e);
	if (err)
		return err;
	if (capset_stop(s, id, &info))
		return ctl_args_fail(e, -ENOENT, "capture %u not found", id);
	*result = ctl_capture_info_json(&info);
	return 0;
}

static int cmd_capture_release(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct capset *s;
	uint32_t id;
	int err;

	(void)result;
	err = ctl_capture_id(ctl, args, &s, &id, e);
	if (!err && (err = capset_release(s, id)))
		ctl_args_fail(e, err, "capture %u: %s", id,
			      err == -EBUSY ? "a capture/read is waiting for it" : "not found");
	return err;
}

/* Does capture id have a NIC on bridge br? */
static bool ctl_capture_on_bridge(struct ctl *ctl, struct capset *s, uint32_t id, uint32_t br)
{
	const char *names[DP_MAX_PORTS];
	size_t n = capset_nics(s, id, names, DP_MAX_PORTS);
	struct dp_port_info pi;
	uint32_t port;

	for (size_t i = 0; i < n; i++) {
		if (dp_port_find(ctl->dp, names[i], &port) == 0 &&
		    dp_port_info(ctl->dp, port, &pi) == 0 && pi.bridge == br)
			return true;
	}
	return false;
}

static int cmd_capture_list(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct capset *s = ctl_capture_set(ctl, false);
	uint32_t ids[256], br;
	struct capset_info info;
	size_t n = 0;
	int err;

	err = ctl_find_bridge_opt(ctl, args, &br, e);
	if (err)
		return err;
	if (s)
		n = capset_list(s, ids, sizeof(ids) / sizeof(ids[0]));
	*result = ctl_must(json_array());
	for (size_t i = 0; i < n; i++) {
		if (br != DP_ALL && !ctl_capture_on_bridge(ctl, s, ids[i], br))
			continue;
		if (capset_info(s, ids[i], &info) == 0)
			json_array_append_new(*result, ctl_capture_info_json(&info));
	}
	return 0;
}

/* ---- frames as JSON ---- */

static json_t *ctl_capture_base64(const uint8_t *data, size_t len)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = malloc((len + 2) / 3 * 4 + 1), *p = out;
	json_t *s;

	if (!out)
		return ctl_must(NULL);
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)data[i] << 16;

		v |= i + 1 < len ? (uint32_t)data[i + 1] << 8 : 0;
		v |= i + 2 < len ? data[i + 2] : 0;
		*p++ = abc[v >> 18 & 63];
		*p++ = abc[v >> 12 & 63];
		*p++ = (char)(i + 1 < len ? abc[v >> 6 & 63] : '=');
		*p++ = (char)(i + 2 < len ? abc[v & 63] : '=');
	}
	*p = '\0';
	s = ctl_must(json_stringn(out, (size_t)(p - out)));
	free(out);
	return s;
}

/* Set obj[key] to the string v unless it is empty, or to the integer n unless negative. */
static void ctl_capture_str_opt(json_t *obj, const char *key, const char *v)
{
	if (v[0])
		ctl_capture_set_str(obj, key, v);
}

static void ctl_capture_int_opt(json_t *obj, const char *key, int n)
{
	if (n >= 0)
		ctl_capture_set_int(obj, key, n);
}

/* What the captured bytes show (capdecode) into obj. */
static void ctl_capture_decode(json_t *obj, const uint8_t *data, size_t len)
{
	struct capdecode d;

	capdecode(data, len, &d);
	if (!d.eth)
		return;
	ctl_capture_set_str(obj, "src_mac", d.src_mac);
	ctl_capture_set_str(obj, "dst_mac", d.dst_mac);
	ctl_capture_set_int(obj, "ethertype", d.ethertype);
	if (d.vlan)
		ctl_capture_set_int(obj, "vlan", d.vlan);
	ctl_capture_str_opt(obj, "proto", d.proto);
	ctl_capture_str_opt(obj, "src_ip", d.src_ip);
	ctl_capture_str_opt(obj, "dst_ip", d.dst_ip);
	ctl_capture_int_opt(obj, "arp_op", d.arp_op);
	ctl_capture_int_opt(obj, "sport", d.sport);
	ctl_capture_int_opt(obj, "dport", d.dport);
	ctl_capture_int_opt(obj, "icmp_type", d.icmp_type);
	ctl_capture_int_opt(obj, "icmp_code", d.icmp_code);
}

static const char *ctl_capture_dir_name(enum dp_hook_dir dir)
{
	return dir == DP_HOOK_GUEST_TX ? "tx" : dir == DP_HOOK_GUEST_RX ? "rx" : "drop";
}

/* What capture/read collects. */
struct ctl_capture_read {
	json_t *frames;
	size_t bytes;
	bool data;
};

static int ctl_capture_read_frame(void *ctx, const struct capset_frame *f)
{
	struct ctl_capture_read *r = ctx;
	json_t *obj;

	if (r->bytes && r->bytes + f->caplen > CTL_CAPTURE_READ_BYTES)
		return 1; /* the rest in the next read */
	r->bytes += f->caplen;
	obj = ctl_must(json_pack("{s:I, s:f, s:I, s:s, s:s, s:i, s:i}", "seq", (json_int_t)f->seq,
				 "ts", (double)f->ts_ns / 1e9, "ts_ns", (json_int_t)f->ts_ns, "nic",
				 f->nic, "dir", ctl_capture_dir_name(f->dir), "len", f->len,
				 "caplen", f->caplen));
	if (f->drop_reason)
		ctl_capture_set_str(obj, "drop_reason", f->drop_reason);
	if (f->dir == DP_HOOK_DROP && f->peer)
		ctl_capture_set_str(obj, "peer", f->peer);
	ctl_capture_decode(obj, f->data, f->caplen);
	if (r->data)
		json_object_set_new(obj, "data", ctl_capture_base64(f->data, f->caplen));
	json_array_append_new(r->frames, obj);
	return 0;
}

/* What capture/read waits for: frame cursor of capture id. */
struct ctl_capture_wait {
	struct capset *set; /* lives as long as the dispatcher */
	uint32_t id;
	uint64_t cursor, max, wait_ms;
	bool data;
};

static int ctl_capture_read_wait(struct ctl_later *l, const atomic_bool *stop)
{
	struct ctl_capture_wait *w = l->state;

	capset_wait(w->set, w->id, w->cursor, (int)w->wait_ms, stop);
	return 0;
}

/* Read what is there now (after the wait, if any). */
static int ctl_capture_read_finish(struct ctl *ctl, struct ctl_later *l, int err, json_t **result,
				   struct ctl_err *e)
{
	struct ctl_capture_wait *w = l->state;
	struct ctl_capture_read r = {.data = w->data};
	struct capset_info info;
	uint64_t next, missed;
	int n;

	(void)ctl;
	(void)err;
	r.frames = ctl_must(json_array());
	n = capset_read(w->set, w->id, w->cursor, w->max, ctl_capture_read_frame, &r, &next,
			&missed);
	if (n < 0 || capset_info(w->set, w->id, &info)) {
		json_decref(r.frames);
		err = ctl_args_fail(e, -ENOENT, "capture %u not found", w->id);
	} else {
		*result = ctl_must(json_pack("{s:o, s:I, s:I, s:b, s:I}", "frames", r.frames,
					     "next_cursor", (json_int_t)next, "dropped",
					     (json_int_t)missed, "running", info.running, "lost",
					     (json_int_t)info.dropped));
	}
	free(w);
	return err;
}

/* capture/read: with wait_ms, it waits for frames without the dispatcher's lock. */
static int start_capture_read(struct ctl *ctl, json_t *args, struct ctl_later *later,
			      struct ctl_err *e)
{
	struct ctl_capture_wait w = {0};
	int err;

	err = ctl_capture_id(ctl, args, &w.set, &w.id, e);
	if (!err)
		err = ctl_args_uint_opt(args, "cursor", 0, INT64_MAX, 0, &w.cursor, e);
	if (!err)
		err = ctl_args_uint_opt(args, "max", 1, CTL_CAPTURE_READ_LIMIT,
					CTL_CAPTURE_READ_MAX, &w.max, e);
	if (!err)
		err = ctl_args_uint_opt(args, CTL_WAIT_ARG, 0, CTL_CAPTURE_WAIT_MAX, 0, &w.wait_ms,
					e);
	if (!err)
		err = ctl_args_bool(args, "data", 1, &w.data, e);
	if (err)
		return err;
	later->state = malloc(sizeof(w));
	if (!later->state)
		return -ENOMEM;
	memcpy(later->state, &w, sizeof(w));
	later->wait = w.wait_ms ? ctl_capture_read_wait : NULL;
	later->finish = ctl_capture_read_finish;
	return 0;
}

static int cmd_capture_save(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	char what[64];
	const char *path;
	struct capset *s;
	uint64_t frames;
	uint32_t id;
	int err;

	err = ctl_capture_id(ctl, args, &s, &id, e);
	if (!err)
		err = ctl_args_str(args, "path", true, &path, e);
	if (err)
		return err;
	snprintf(what, sizeof(what), "cannot save capture %u to", id);
	err = ctl_open_file(ctl, path, what, e);
	if (err < 0)
		return err;
	err = capset_save(s, id, err, &frames);
	if (err)
		return ctl_args_fail(e, err, "cannot save capture %u to %s: %s", id, path,
				     strerror(-err));
	*result = ctl_must(json_pack("{s:I, s:s}", "frames", (json_int_t)frames, "path", path));
	return 0;
}

const struct ctl_cmd ctl_capture_cmds[] = {
	CTL_CMD("capture/start", cmd_capture_start,
		CTL_ARGS("port", "bridge", "snaplen", "path", "mode", "filter")),
	CTL_CMD("capture/stop", cmd_capture_stop, CTL_ARGS("id")),
	CTL_CMD("capture/release", cmd_capture_release, CTL_ARGS("id")),
	CTL_READ("capture/list", cmd_capture_list, CTL_ARGS("bridge")),
	CTL_LATER("capture/read", start_capture_read,
		  CTL_ARGS("id", "cursor", "max", CTL_WAIT_ARG, "data"), CTL_PERM_READ),
	CTL_CMD("capture/save", cmd_capture_save, CTL_ARGS("id", "path")),
};

_Static_assert(sizeof(ctl_capture_cmds) / sizeof(ctl_capture_cmds[0]) == CTL_CAPTURE_NCMDS,
	       "CTL_CAPTURE_NCMDS must count ctl_capture_cmds");
