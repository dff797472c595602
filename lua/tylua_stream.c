/* SPDX-License-Identifier: MIT */
/*
 * tylua_stream: the capture Stream userdata (bridge:capture(), nic:capture()).
 * Frames come from capture/read (decoded summaries with the bytes); the
 * stream keeps them as a Lua array for the frame-level methods (count,
 * wait_for, frames) and turns them into a classic pcap byte stream for
 * Provium's byte-level methods (next, read_until, expect, drain). A NIC
 * stream carries what the guest sent and received; a bridge stream carries
 * each frame once, as it entered the bridge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tylua_impl.h"
#include "clock.h"

#define check_stream(L, i, what) \
	((struct tylua_stream *)tylua_check_handle(L, i, TYLUA_K_STREAM, TYLUA_STREAM, what, NULL))

#define STREAM_POLL_MS 200

/* ---- frames ---- */

/* Decode base64 text into a Lua string (pushed). Invalid characters are skipped. */
static void tylua_push_base64(lua_State *L, const char *s)
{
	luaL_Buffer b;
	unsigned int acc = 0;
	int bits = 0;

	luaL_buffinit(L, &b);
	for (; s && *s && *s != '='; s++) {
		const char *set =
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		const char *p = strchr(set, *s);

		if (!p || !*p)
			continue;
		acc = (acc << 6) | (unsigned int)(p - set);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			luaL_addchar(&b, (char)((acc >> bits) & 0xff));
		}
	}
	luaL_pushresult(&b);
}

/* Set t[field] from the JSON value of key (strings, integers, numbers, booleans). */
static void tylua_frame_field(lua_State *L, json_t *f, const char *key, const char *field)
{
	json_t *v = json_object_get(f, key);

	if (!v || json_is_null(v))
		return;
	tylua_push_json(L, v);
	lua_setfield(L, -2, field);
}

/* "<vm>-<bridge>" and the vm name for a port, when a VM of this world owns it. */
static void tylua_frame_nic(lua_State *L, const char *port)
{
	struct tylua_slots *s = &tylua_world(L)->slots[TYLUA_K_VM];

	for (uint32_t i = 0; port && i < s->cap; i++) {
		struct tylua_vm *vm = s->obj[i];
		const char *bridge;
		json_t *v;

		if (!vm)
			continue;
		json_object_foreach(vm->bridges, bridge, v) {
			if (strcmp(json_string_value(v), port) != 0)
				continue;
			lua_pushfstring(L, "%s-%s", vm->name, bridge);
			lua_setfield(L, -2, "nic");
			lua_pushstring(L, vm->name);
			lua_setfield(L, -2, "vm");
			return;
		}
	}
}

/* Push a frame table from a capture/read frame. */
static void tylua_frame_push(lua_State *L, json_t *f)
{
	static const char *const keys[] = {"seq",    "dir",	"drop_reason", "len",
					   "caplen", "src_mac", "dst_mac",     "ethertype",
					   "src_ip", "dst_ip",	"proto"};

	lua_createtable(L, 0, 16);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		tylua_frame_field(L, f, keys[i], keys[i]);
	tylua_frame_field(L, f, "ts", "time");
	tylua_frame_field(L, f, "nic", "port");
	tylua_frame_field(L, f, "nic", "nic");
	tylua_frame_nic(L, json_string_value(json_object_get(f, "nic")));
	tylua_push_base64(L, json_string_value(json_object_get(f, "data")));
	lua_setfield(L, -2, "data");
}

/* Read what the capture has now (waiting up to wait_ms); returns how many frames came. */
static int tylua_stream_pull(lua_State *L, struct tylua_stream *st, uint64_t wait_ms,
			     const char *what)
{
	json_t *reply, *res, *f;
	size_t i;
	int n;

	if (st->stopped || st->closed)
		return 0;
	res = tylua_try(L, "capture/read",
			json_pack("{s:I, s:I, s:i, s:I}", "id", (json_int_t)st->id, "cursor",
				  (json_int_t)st->cursor, "max", 4096, "wait_ms",
				  (json_int_t)wait_ms),
			&reply);
	if (!res) {
		if (strcmp(tylua_reply_code(reply), "ENOENT") != 0)
			tylua_raise_reply(L, reply, what);
		st->stopped = true; /* the capture ended with its bridge or port */
		json_decref(reply);
		return 0;
	}
	json_decref(reply);
	lua_rawgeti(L, LUA_REGISTRYINDEX, st->frames_ref);
	n = (int)luaL_len(L, -1);
	json_array_foreach(json_object_get(res, "frames"), i, f) {
		tylua_frame_push(L, f);
		lua_rawseti(L, -2, ++n);
	}
	lua_pop(L, 1);
	st->cursor = json_integer_value(json_object_get(res, "next_cursor"));
	st->dropped = json_integer_value(json_object_get(res, "dropped"));
	n = (int)json_array_size(json_object_get(res, "frames"));
	json_decref(res);
	return n;
}

/* ---- the pcap byte stream ---- */

static void tylua_put_u32(char *p, uint32_t v);

static void tylua_add_u32(luaL_Buffer *b, uint32_t v)
{
	char le[4];

	tylua_put_u32(le, v);
	luaL_addlstring(b, le, 4);
}

/*
 * Does the frame at -1 belong in the byte stream (and, unless a filter names
 * a dir, in count/frames/wait_for)? A NIC stream carries what its guest sent
 * and received (and what was dropped on the way to it); a bridge stream each
 * frame once, as it entered the bridge (the sender's tx record); a capture
 * started with a dir filter carries what it kept.
 */
static bool tylua_stream_carries(lua_State *L, struct tylua_stream *st)
{
	const char *dir;
	bool yes;

	if (st->nic || st->dir_filtered)
		return true;
	lua_getfield(L, -1, "dir");
	dir = lua_tostring(L, -1);
	yes = dir && strcmp(dir, "tx") == 0;
	lua_pop(L, 1);
	return yes;
}

static void tylua_put_u32(char *p, uint32_t v)
{
	p[0] = (char)(v & 0xff);
	p[1] = (char)((v >> 8) & 0xff);
	p[2] = (char)((v >> 16) & 0xff);
	p[3] = (char)(v >> 24);
}

/* Replace the frame at -1 by its pcap record (header and bytes) as one string. */
static void tylua_stream_record(lua_State *L)
{
	char hdr[16];
	lua_Integer len;
	size_t caplen;
	double ts;

	lua_getfield(L, -1, "time");
	ts = lua_tonumber(L, -1);
	lua_getfield(L, -2, "len");
	len = lua_tointeger(L, -1);
	lua_pop(L, 2);
	lua_getfield(L, -1, "data");
	lua_remove(L, -2);
	caplen = lua_rawlen(L, -1);
	tylua_put_u32(hdr, (uint32_t)ts);
	tylua_put_u32(hdr + 4, (uint32_t)((ts - (double)(uint32_t)ts) * 1e6));
	tylua_put_u32(hdr + 8, (uint32_t)caplen);
	tylua_put_u32(hdr + 12, (uint32_t)(len > (lua_Integer)caplen ? len : (lua_Integer)caplen));
	lua_pushlstring(L, hdr, sizeof(hdr));
	lua_insert(L, -2);
	lua_concat(L, 2);
}

/* Push the pcap bytes of the frames not yet turned into bytes (may be ""). */
static void tylua_stream_emit(lua_State *L, struct tylua_stream *st)
{
	luaL_Buffer b;
	int n, frames;

	lua_rawgeti(L, LUA_REGISTRYINDEX, st->frames_ref);
	frames = lua_gettop(L);
	n = (int)luaL_len(L, frames);
	luaL_buffinit(L, &b);
	if (!st->header_sent) {
		tylua_add_u32(&b, 0xa1b2c3d4u);
		tylua_add_u32(&b, 2u | (4u << 16)); /* version 2.4 */
		tylua_add_u32(&b, 0);
		tylua_add_u32(&b, 0);
		tylua_add_u32(&b, 65535);
		tylua_add_u32(&b, 1); /* Ethernet */
		st->header_sent = true;
	}
	for (; st->emitted < n; st->emitted++) {
		lua_rawgeti(L, frames, st->emitted + 1);
		if (tylua_stream_carries(L, st)) {
			tylua_stream_record(L);
			luaL_addvalue(&b);
		} else {
			lua_pop(L, 1);
		}
	}
	luaL_pushresult(&b);
	lua_remove(L, frames);
}

/* Take the pending bytes (pushed; "" when none). */
static void tylua_stream_take(lua_State *L, struct tylua_stream *st)
{
	if (st->pending_ref == LUA_NOREF) {
		lua_pushliteral(L, "");
		return;
	}
	lua_rawgeti(L, LUA_REGISTRYINDEX, st->pending_ref);
	luaL_unref(L, LUA_REGISTRYINDEX, st->pending_ref);
	st->pending_ref = LUA_NOREF;
}

/* Keep the string at -1 (popped) as pending bytes. */
static void tylua_stream_keep(lua_State *L, struct tylua_stream *st)
{
	if (lua_rawlen(L, -1) == 0) {
		lua_pop(L, 1);
		return;
	}
	st->pending_ref = luaL_ref(L, LUA_REGISTRYINDEX);
}

/* How long the next wait may be: min(slice, time to deadline, test time left). */
static uint64_t tylua_stream_wait(lua_State *L, uint64_t deadline, uint64_t slice)
{
	uint64_t now = clock_mono_ms(), left = tylua_remaining_ms(L);
	uint64_t w = deadline > now ? deadline - now : 0;

	w = w < slice ? w : slice;
	return w < left ? w : left;
}

/* Push the next chunk: pending bytes, or new frames within timeout_s; nil at timeout/EOF. */
static bool tylua_stream_chunk(lua_State *L, struct tylua_stream *st, double timeout_s,
			       const char *what)
{
	uint64_t deadline = clock_mono_ms() + (uint64_t)(timeout_s * 1000);

	if (st->closed)
		return false; /* closed is EOF, even for a stream never read */
	for (;;) {
		tylua_stream_take(L, st);
		if (lua_rawlen(L, -1))
			return true;
		lua_pop(L, 1);
		tylua_stream_emit(L, st);
		if (lua_rawlen(L, -1))
			return true;
		lua_pop(L, 1);
		if (st->stopped || st->closed || clock_mono_ms() >= deadline)
			return false;
		tylua_stream_pull(L, st, tylua_stream_wait(L, deadline, STREAM_POLL_MS), what);
	}
}

static int stream_next(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:next");
	double t = tylua_duration(L, 2, 10);

	if (!tylua_stream_chunk(L, st, t, "capture:next"))
		lua_pushnil(L);
	return 1;
}

/* read_until / expect: accumulate until the plain substring appears. */
static int tylua_stream_until(lua_State *L, const char *what, bool keep_result)
{
	struct tylua_stream *st = check_stream(L, 1, what);
	size_t plen, blen;
	const char *pat = luaL_checklstring(L, 2, &plen);
	double t = tylua_duration(L, 3, 10);
	uint64_t deadline = clock_mono_ms() + (uint64_t)(t * 1000);
	const char *buf, *hit;

	lua_settop(L, 3);
	tylua_stream_take(L, st);
	for (;;) {
		if (st->closed)
			return luaL_error(L, "capture closed");
		buf = lua_tolstring(L, 4, &blen);
		hit = plen ? memmem(buf, blen, pat, plen) : buf;
		if (hit) {
			size_t end = (size_t)(hit - buf) + plen;

			lua_pushlstring(L, buf + end, blen - end);
			tylua_stream_keep(L, st);
			lua_pushlstring(L, buf, end);
			return keep_result ? 1 : 0;
		}
		if (st->stopped || clock_mono_ms() >= deadline) {
			tylua_stream_keep(L, st);
			return luaL_error(L, "%s %s waiting for %s", what,
					  st->stopped ? "eof" : "timed out", pat);
		}
		tylua_stream_pull(L, st, tylua_stream_wait(L, deadline, STREAM_POLL_MS), what);
		tylua_stream_emit(L, st);
		lua_concat(L, 2);
	}
}

static int stream_read_until(lua_State *L)
{
	return tylua_stream_until(L, "capture:read_until", true);
}

static int stream_expect(lua_State *L)
{
	return tylua_stream_until(L, "capture:expect", false);
}

static int stream_drain(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:drain");
	double t = tylua_duration(L, 2, 0.5);
	uint64_t deadline = clock_mono_ms() + (uint64_t)((t < 0.001 ? 0.001 : t) * 1000);
	lua_Integer n = 0;

	lua_newtable(L);
	if (st->closed)
		return 1;
	tylua_stream_take(L, st);
	tylua_stream_emit(L, st);
	lua_concat(L, 2);
	for (;;) {
		if (lua_rawlen(L, -1))
			lua_rawseti(L, -2, ++n);
		else
			lua_pop(L, 1);
		if (st->stopped || st->closed || clock_mono_ms() >= deadline)
			break;
		if (!tylua_stream_pull(L, st, tylua_stream_wait(L, deadline, 100), "capture:drain"))
			break;
		tylua_stream_emit(L, st);
	}
	return 1;
}

/* Stop the capture; with keep, read everything first so that the frames stay readable. */
static void tylua_stream_stop(lua_State *L, struct tylua_stream *st, bool keep)
{
	json_t *reply, *res;

	if (st->stopped)
		return;
	if (keep)
		tylua_stream_pull(L, st, 0, "capture:stop");
	res = tylua_try(L, "capture/stop", json_pack("{s:I}", "id", (json_int_t)st->id), &reply);
	json_decref(res);
	json_decref(reply);
	st->stopped = true;
}

static void tylua_stream_release(lua_State *L, struct tylua_stream *st)
{
	json_t *reply, *res;

	if (st->closed)
		return;
	/* Gone from the switch at once: no longer listed, its frames freed. */
	res = tylua_try(L, "capture/release", json_pack("{s:I}", "id", (json_int_t)st->id), &reply);
	json_decref(res);
	json_decref(reply);
	st->stopped = true;
	luaL_unref(L, LUA_REGISTRYINDEX, st->pending_ref);
	st->pending_ref = LUA_NOREF;
	st->closed = true;
}

static int stream_close(lua_State *L)
{
	tylua_stream_release(L, check_stream(L, 1, "capture:close"));
	return 0;
}

static int stream_stop(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:stop");

	tylua_stream_stop(L, st, true);
	lua_createtable(L, 0, 2);
	lua_rawgeti(L, LUA_REGISTRYINDEX, st->frames_ref);
	lua_pushinteger(L, (lua_Integer)luaL_len(L, -1));
	lua_setfield(L, -3, "frames");
	lua_pop(L, 1);
	lua_pushinteger(L, (lua_Integer)st->dropped);
	lua_setfield(L, -2, "dropped");
	return 1;
}

static int stream_eof(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:eof");
	int n;

	lua_rawgeti(L, LUA_REGISTRYINDEX, st->frames_ref);
	n = (int)luaL_len(L, -1);
	lua_pushboolean(
		L, st->closed || (st->stopped && st->pending_ref == LUA_NOREF && st->emitted == n));
	return 1;
}

static int stream_creation_site(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:creation_site");

	if (!st->site_file[0])
		return 0;
	lua_createtable(L, 0, 2);
	lua_pushstring(L, st->site_file);
	lua_setfield(L, -2, "file");
	lua_pushinteger(L, st->site_line);
	lua_setfield(L, -2, "line");
	return 1;
}

/* ---- frame filters ---- */

/*
 * Does the frame at -1 match the filter at index f (a table or a function)?
 * The frame stays on the stack either way.
 */
static bool tylua_frame_match(lua_State *L, int f, const char *what)
{
	static const char *const exact[] = {"proto",   "src",	      "dst",	   "src_mac",
					    "dst_mac", "dir",	      "vm",	   "nic",
					    "port",    "drop_reason", "ethertype", "host"};
	bool ok = true;

	if (lua_isnoneornil(L, f))
		return true;
	if (lua_type(L, f) == LUA_TFUNCTION) {
		lua_pushvalue(L, f);
		lua_pushvalue(L, -2);
		lua_call(L, 1, 1);
		ok = lua_toboolean(L, -1);
		lua_pop(L, 1);
		return ok;
	}
	lua_pushnil(L);
	while (ok && lua_next(L, f)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		size_t i;

		if (!k)
			return luaL_error(L, "%s: filter keys must be strings", what);

		for (i = 0; i < sizeof(exact) / sizeof(exact[0]) && strcmp(k, exact[i]) != 0; i++)
			;
		if (strcmp(k, "min_len") == 0) {
			lua_getfield(L, -3, "len");
			ok = lua_tointeger(L, -1) >= lua_tointeger(L, -2);
		} else if (strcmp(k, "contains") == 0) {
			size_t dl, nl;
			const char *d, *needle = luaL_checklstring(L, -1, &nl);

			lua_getfield(L, -3, "data");
			d = lua_tolstring(L, -1, &dl);
			ok = d && memmem(d, dl, needle, nl);
		} else if (i == sizeof(exact) / sizeof(exact[0])) {
			return luaL_error(L, "%s: unknown filter key `%s`", what, k);
		} else if (strcmp(k, "host") == 0) {
			lua_getfield(L, -3, "src_ip");
			lua_getfield(L, -4, "dst_ip");
			ok = lua_compare(L, -1, -3, LUA_OPEQ) || lua_compare(L, -2, -3, LUA_OPEQ);
			lua_pop(L, 1);
		} else {
			lua_getfield(L, -3,
				     strcmp(k, "src") == 0   ? "src_ip"
				     : strcmp(k, "dst") == 0 ? "dst_ip"
							     : k);
			ok = lua_compare(L, -1, -2, LUA_OPEQ);
		}
		lua_pop(L, 2);
	}
	if (!ok)
		lua_pop(L, 1);
	return ok;
}

/* Does the frame at -1 count for filter f of a stream's frame methods? Pops it when not. */
static bool tylua_stream_match(lua_State *L, struct tylua_stream *st, int f, const char *what)
{
	bool side = lua_type(L, f) == LUA_TTABLE && lua_getfield(L, f, "dir") != LUA_TNIL;

	if (lua_type(L, f) == LUA_TTABLE)
		lua_pop(L, 1);
	if ((side || tylua_stream_carries(L, st)) && tylua_frame_match(L, f, what))
		return true;
	lua_pop(L, 1);
	return false;
}

static int stream_count(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:count");
	lua_Integer n = 0, len;

	lua_settop(L, 2);
	if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TFUNCTION)
		luaL_checktype(L, 2, LUA_TTABLE);
	tylua_stream_pull(L, st, 0, "capture:count");
	lua_rawgeti(L, LUA_REGISTRYINDEX, st->frames_ref);
	len = luaL_len(L, -1);
	for (lua_Integer i = 1; i <= len; i++) {
		lua_rawgeti(L, -1, i);
		if (tylua_stream_match(L, st, 2, "capture:count")) {
			n++;
			lua_pop(L, 1);
		}
	}
	lua_pushinteger(L, n);
	return 1;
}

static int stream_frames(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:frames");
	lua_Integer n = 0, len;

	lua_settop(L, 2);
	tylua_stream_pull(L, st, 0, "capture:frames");
	lua_newtable(L);
	lua_rawgeti(L, LUA_REGISTRYINDEX, st->frames_ref);
	len = luaL_len(L, -1);
	for (lua_Integer i = 1; i <= len; i++) {
		lua_rawgeti(L, -1, i);
		if (tylua_stream_match(L, st, 2, "capture:frames"))
			lua_rawseti(L, -3, ++n);
	}
	lua_pop(L, 1);
	return 1;
}

static int stream_wait_for(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:wait_for");
	double t = tylua_duration(L, 3, 10);
	uint64_t deadline = clock_mono_ms() + (uint64_t)(t * 1000);

	lua_settop(L, 3);
	lua_rawgeti(L, LUA_REGISTRYINDEX, st->frames_ref);
	for (;;) {
		lua_Integer len = luaL_len(L, 4);

		for (; st->match_pos < len; st->match_pos++) {
			lua_rawgeti(L, 4, st->match_pos + 1);
			if (tylua_stream_match(L, st, 2, "capture:wait_for")) {
				st->match_pos++;
				return 1;
			}
		}
		if (st->stopped || st->closed || clock_mono_ms() >= deadline)
			return luaL_error(L, "capture:wait_for: no matching frame within %fs%s",
					  (lua_Number)t, st->stopped ? " (capture ended)" : "");
		tylua_stream_pull(L, st, tylua_stream_wait(L, deadline, STREAM_POLL_MS),
				  "capture:wait_for");
	}
}

static int stream_save(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:save");
	const char *path = luaL_checkstring(L, 2);
	json_t *res;

	res = tylua_call(L, "capture/save",
			 json_pack("{s:I, s:s}", "id", (json_int_t)st->id, "path", path),
			 "capture:save");
	json_decref(res);
	return 0;
}

static int stream_dropped(lua_State *L)
{
	struct tylua_stream *st = check_stream(L, 1, "capture:dropped");

	tylua_stream_pull(L, st, 0, "capture:dropped");
	lua_pushinteger(L, (lua_Integer)st->dropped);
	return 1;
}

static int stream_tostring(lua_State *L)
{
	luaL_checkudata(L, 1, TYLUA_STREAM);
	lua_pushliteral(L, "capture(bridge)");
	return 1;
}

/* ---- lifetime ---- */

/* The port a filter's vm or nic value names on bridge; raises when there is none. */
static const char *tylua_stream_port(lua_State *L, const char *key, const char *v,
				     const char *bridge, const char *what)
{
	struct tylua_slots *s = &tylua_world(L)->slots[TYLUA_K_VM];
	size_t n;

	for (uint32_t i = 0; i < s->cap; i++) {
		struct tylua_vm *vm = s->obj[i];

		if (!vm)
			continue;
		n = strlen(vm->name);
		if (strcmp(key, "vm") == 0 ? strcmp(v, vm->name) == 0
					   : strncmp(v, vm->name, n) == 0 && v[n] == '-' &&
						     strcmp(v + n + 1, bridge) == 0)
			if (tylua_vm_port(vm, bridge))
				return tylua_vm_port(vm, bridge);
	}
	luaL_error(L, "%s: filter %s `%s`: no booted vm has a NIC on bridge `%s`", what, key, v,
		   bridge);
	return NULL;
}

/*
 * Add the filter table at idx to the capture/start args (vm and nic become the
 * port they name): the switch applies it, so frames it leaves out are never kept.
 */
static void tylua_stream_filter(lua_State *L, int idx, json_t *args, const char *bridge,
				const char *what)
{
	json_t *filter;

	if (lua_isnoneornil(L, idx))
		return;
	if (lua_type(L, idx) != LUA_TTABLE)
		luaL_error(L,
			   "%s: the filter must be a table (the switch applies it; a function "
			   "filter goes to count, frames or wait_for), got %s",
			   what, luaL_typename(L, idx));
	filter = json_object();
	json_object_set_new(args, "filter", filter);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;

		if (!k || (!v && !lua_isinteger(L, -1)))
			luaL_error(L, "%s: filter keys must be strings, values strings or integers",
				   what);
		if (strcmp(k, "vm") == 0 || strcmp(k, "nic") == 0)
			json_object_set_new(
				filter, "port",
				json_string(tylua_stream_port(L, k, v ? v : "", bridge, what)));
		else if (v)
			json_object_set_new(filter, k, json_stringn_nocheck(v, lua_rawlen(L, -1)));
		else
			json_object_set_new(filter, k, json_integer(lua_tointeger(L, -1)));
		lua_pop(L, 1);
	}
}

void tylua_stream_start(lua_State *L, json_t *target, int filter, const char *bridge, bool nic,
			const char *what)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_stream *st;
	json_t *res, **box;
	lua_Debug ar;
	uint32_t slot;
	bool dir_filtered;

	box = tylua_json_box(L, target);
	tylua_require(L, "capture", what);
	tylua_stream_filter(L, filter, target, bridge, what);
	dir_filtered = json_object_get(json_object_get(target, "filter"), "dir") != NULL;
	res = tylua_call(L, "capture/start", tylua_json_take(L, box), what);
	st = calloc(1, sizeof(*st));
	if (!st) {
		json_decref(res);
		luaL_error(L, "out of memory");
		return;
	}
	st->id = json_integer_value(json_object_get(res, "id"));
	json_decref(res);
	st->lab = w->scope;
	st->nic = nic;
	st->dir_filtered = dir_filtered;
	snprintf(st->bridge, sizeof(st->bridge), "%s", bridge);
	lua_newtable(L);
	st->frames_ref = luaL_ref(L, LUA_REGISTRYINDEX);
	st->pending_ref = LUA_NOREF;
	if (lua_getstack(L, 1, &ar) && lua_getinfo(L, "Sl", &ar)) {
		snprintf(st->site_file, sizeof(st->site_file), "%s", ar.short_src);
		st->site_line = ar.currentline;
	}
	slot = tylua_slot_alloc(L, TYLUA_K_STREAM, st);
	tylua_push_handle(L, TYLUA_K_STREAM, slot, TYLUA_STREAM);
}

int tylua_stream_live(lua_State *L, const char *bridge)
{
	struct tylua_slots *s = &tylua_world(L)->slots[TYLUA_K_STREAM];
	int n = 0;

	for (uint32_t i = 0; i < s->cap; i++) {
		struct tylua_stream *st = s->obj[i];

		n += st && !st->closed && (!bridge || strcmp(st->bridge, bridge) == 0);
	}
	return n;
}

void tylua_stream_close(lua_State *L, uint32_t slot)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_stream *st = tylua_slot_get(w, TYLUA_K_STREAM, slot);

	if (!st)
		return;
	tylua_stream_release(L, st);
	luaL_unref(L, LUA_REGISTRYINDEX, st->frames_ref);
	free(st);
	tylua_slot_free(w, TYLUA_K_STREAM, slot);
}

void tylua_stream_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"next", stream_next},
		{"read_until", stream_read_until},
		{"expect", stream_expect},
		{"drain", stream_drain},
		{"close", stream_close},
		{"eof", stream_eof},
		{"creation_site", stream_creation_site},
		{"count", stream_count},
		{"wait_for", stream_wait_for},
		{"frames", stream_frames},
		{"save", stream_save},
		{"stop", stream_stop},
		{"dropped", stream_dropped},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__tostring", stream_tostring},
		{"__eq", tylua_handle_eq},
		{NULL, NULL},
	};

	tylua_new_type(L, TYLUA_STREAM, methods, meta);
}
