/* SPDX-License-Identifier: MIT */
/*
 * tylua: the Lua state and its world (a switch and a dispatcher per state),
 * the slot tables behind handles, calls into the control vocabulary, time
 * (durations, the running test's deadline, Ctrl-C) and logging.
 */
#include "tylua.h"
#include "clock.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lualib.h>

#include "log.h"
#include "tylua_impl.h"
#include "tylua_watchdog.h"
#include "interrupt.h"

const char *tylua_version(void)
{
	return LUA_VERSION;
}

struct tylua_world *tylua_world(lua_State *L)
{
	return *(struct tylua_world **)lua_getextraspace(L);
}

/* ---- calls ---- */

json_t *tylua_try(lua_State *L, const char *cmd, json_t *args, json_t **reply)
{
	json_t *result;

	*reply = ctl_call(tylua_world(L)->ctl, cmd, args);
	if (ctl_reply_error(*reply, NULL, NULL))
		return NULL;
	result = json_incref(json_object_get(*reply, "result"));
	return result;
}

const char *tylua_reply_code(json_t *reply)
{
	const char *code = NULL;

	ctl_reply_error(reply, &code, NULL);
	return code ? code : "";
}

int tylua_raise_reply(lua_State *L, json_t *reply, const char *what)
{
	const char *msg = NULL;

	ctl_reply_error(reply, NULL, &msg);
	lua_pushfstring(L, "%s: %s", what, msg ? msg : "malformed reply");
	json_decref(reply);
	luaL_where(L, 1);
	lua_insert(L, -2);
	lua_concat(L, 2);
	return lua_error(L);
}

json_t *tylua_call(lua_State *L, const char *cmd, json_t *args, const char *what)
{
	json_t *reply, *result = tylua_try(L, cmd, args, &reply);

	if (!result)
		tylua_raise_reply(L, reply, what);
	json_decref(reply);
	return result;
}

/* family "impair" or "capture": is its list command known to the dispatcher? */
bool tylua_has(lua_State *L, const char *family)
{
	struct tylua_world *w = tylua_world(L);
	int *known = strcmp(family, "impair") == 0 ? &w->impair_ok : &w->capture_ok;
	char cmd[32];
	json_t *reply, *res;

	if (*known < 0) {
		snprintf(cmd, sizeof(cmd), "%s/list", family);
		res = tylua_try(L, cmd, NULL, &reply);
		*known = res || strcmp(tylua_reply_code(reply), "ENOSYS") != 0;
		json_decref(res);
		json_decref(reply);
	}
	return *known;
}

void tylua_require(lua_State *L, const char *family, const char *what)
{
	if (!tylua_has(L, family))
		luaL_error(L, "%s: %s are not available in this build (no %s/* commands)", what,
			   strcmp(family, "impair") == 0 ? "impairments" : "captures", family);
}

/* ---- time ---- */

int tylua_parse_duration(lua_State *L, int idx, double *out, const char **unit_at)
{
	const char *s, *end;
	double v;

	if (lua_type(L, idx) == LUA_TNUMBER) {
		v = lua_tonumber(L, idx);
	} else if (lua_type(L, idx) == LUA_TSTRING) {
		s = lua_tostring(L, idx);
		v = strtod(s, (char **)&end);
		if (end == s)
			return 2;
		while (*end == ' ')
			end++;
		*unit_at = end;
		if (strcmp(end, "ms") == 0)
			v /= 1000;
		else if (strcmp(end, "m") == 0)
			v *= 60;
		else if (strcmp(end, "h") == 0)
			v *= 3600;
		else if (*end && strcmp(end, "s") != 0)
			return 3;
	} else {
		return 1;
	}
	if (!isfinite(v) || v < 0)
		return 4;
	*out = v;
	return 0;
}

double tylua_duration(lua_State *L, int idx, double def)
{
	const char *unit = NULL;
	double v = def;

	if (lua_isnoneornil(L, idx))
		return def;
	switch (tylua_parse_duration(L, idx, &v, &unit)) {
	case 0:
		return v;
	case 1:
		return luaL_error(L, "duration: expected number|string, got %s",
				  luaL_typename(L, idx));
	case 4:
		return luaL_error(L, "duration: must be a finite, non-negative number (got %s)",
				  luaL_tolstring(L, idx, NULL));
	default:
		return luaL_error(
			L, "duration: cannot parse `%s` (expected number or `Nms`/`Ns`/`Nm`/`Nh`)",
			lua_tostring(L, idx));
	}
}

#define TYLUA_HOOK_COUNT 1000 /* instructions between deadline checks */

static void tylua_hook(lua_State *L, lua_Debug *ar);

const char *tylua_format_duration(double secs, char *buf, size_t size)
{
	static const struct {
		uint64_t ns;
		int digits;
		const char *unit;
	} units[] = {
		{1000000000u, 9, "s"}, {1000000u, 6, "ms"}, {1000u, 3, "\u00b5s"}, {1, 0, "ns"}};
	uint64_t ns = secs > 0 ? (uint64_t)llround(secs * 1e9) : 0;
	size_t u = 0, len;

	while (u < 3 && ns < units[u].ns)
		u++;
	len = (size_t)snprintf(buf, size, "%" PRIu64, ns / units[u].ns);
	if (ns % units[u].ns && len < size) {
		len += (size_t)snprintf(buf + len, size - len, ".%0*" PRIu64, units[u].digits,
					ns % units[u].ns);
		while (len > 0 && len < size && buf[len - 1] == '0')
			buf[--len] = '\0';
	}
	if (len < size)
		snprintf(buf + len, size - len, "%s", units[u].unit);
	return buf;
}

void tylua_check_deadline(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);
	char buf[32];

	if (interrupt_pending() || (w->deadline_ns && clock_mono_ns() >= w->deadline_ns)) {
		/*
		 * From now on check at every instruction, so that a loop around pcall
		 * cannot catch the error for ever: the next instruction outside the
		 * pcall raises it again.
		 */
		lua_sethook(L, tylua_hook, LUA_MASKCOUNT, 1);
		if (interrupt_pending())
			luaL_error(L, "interrupted");
		luaL_error(L, "test timeout exceeded (%s)",
			   tylua_format_duration(w->timeout_s, buf, sizeof(buf)));
	}
}

void tylua_deadline_clear(lua_State *L)
{
	tylua_world(L)->deadline_ns = 0;
	tylua_watchdog_disarm(tylua_world(L)->watchdog);
	lua_sethook(L, tylua_hook, LUA_MASKCOUNT, TYLUA_HOOK_COUNT);
}

uint64_t tylua_remaining_ms(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);

	tylua_check_deadline(L);
	if (!w->deadline_ns)
		return UINT64_MAX;
	return (w->deadline_ns - clock_mono_ns()) / 1000000u + 1;
}

void tylua_sleep(lua_State *L, double ms)
{
	uint64_t end = clock_mono_ns() + (uint64_t)(ms * 1e6);
	uint64_t now;

	while ((now = clock_mono_ns()) < end) {
		uint64_t left = end - now;
		struct timespec ts;

		tylua_check_deadline(L);
		left = left > 50000000u ? 50000000u : left;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left;
		nanosleep(&ts, NULL);
	}
	tylua_check_deadline(L);
}

static void tylua_hook(lua_State *L, lua_Debug *ar)
{
	(void)ar;
	tylua_check_deadline(L);
}

/* ---- slots and handles ---- */

uint32_t tylua_slot_alloc(lua_State *L, enum tylua_kind kind, void *obj)
{
	struct tylua_slots *s = &tylua_world(L)->slots[kind];
	uint32_t i;

	for (i = 0; i < s->cap && s->obj[i]; i++)
		;
	if (i == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		void **o = realloc(s->obj, cap * sizeof(*o));
		uint32_t *g;

		if (!o)
			luaL_error(L, "out of memory");
		s->obj = o;
		g = realloc(s->gen, cap * sizeof(*g));
		if (!g)
			luaL_error(L, "out of memory");
		s->gen = g;
		memset(s->obj + s->cap, 0, (cap - s->cap) * sizeof(*o));
		memset(s->gen + s->cap, 0, (cap - s->cap) * sizeof(*g));
		s->cap = cap;
	}
	s->obj[i] = obj;
	return i;
}

void *tylua_slot_get(struct tylua_world *w, enum tylua_kind kind, uint32_t slot)
{
	struct tylua_slots *s = &w->slots[kind];

	return slot < s->cap ? s->obj[slot] : NULL;
}

void tylua_slot_free(struct tylua_world *w, enum tylua_kind kind, uint32_t slot)
{
	struct tylua_slots *s = &w->slots[kind];

	if (slot < s->cap && s->obj[slot]) {
		s->obj[slot] = NULL;
		s->gen[slot]++;
	}
}

void tylua_push_handle(lua_State *L, enum tylua_kind kind, uint32_t slot, const char *mt)
{
	struct tylua_handle *h = lua_newuserdatauv(L, sizeof(*h), 0);

	h->slot = slot;
	h->gen = tylua_world(L)->slots[kind].gen[slot];
	luaL_setmetatable(L, mt);
}

void *tylua_handle_obj(lua_State *L, const struct tylua_handle *h, enum tylua_kind kind,
		       const char *what, const char *noun)
{
	struct tylua_slots *s = &tylua_world(L)->slots[kind];

	if (h->slot >= s->cap || !s->obj[h->slot] || s->gen[h->slot] != h->gen)
		luaL_error(L, "%s: %s was closed (the test or lab that made it has ended)", what,
			   noun);
	return s->obj[h->slot];
}

void *tylua_check_handle(lua_State *L, int idx, enum tylua_kind kind, const char *mt,
			 const char *what, uint32_t *slot)
{
	static const char *const nouns[] = {"this lab", "this bridge", "this vm",
					    "this capture stream", "this process"};
	struct tylua_handle *h = luaL_checkudata(L, idx, mt);
	void *obj = tylua_handle_obj(L, h, kind, what, nouns[kind]);

	if (slot)
		*slot = h->slot;
	return obj;
}

int tylua_handle_eq(lua_State *L)
{
	struct tylua_handle *a = lua_touserdata(L, 1), *b = lua_touserdata(L, 2);

	lua_pushboolean(L, a && b && a->slot == b->slot && a->gen == b->gen);
	return 1;
}

void tylua_new_type(lua_State *L, const char *mt, const luaL_Reg *methods, const luaL_Reg *meta)
{
	luaL_newmetatable(L, mt);
	luaL_setfuncs(L, meta, 0);
	lua_newtable(L);
	luaL_setfuncs(L, methods, 0);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "methods");
	if (lua_getfield(L, -2, "__index") == LUA_TNIL) {
		lua_pop(L, 1);
		lua_setfield(L, -2, "__index");
	} else {
		lua_pop(L, 2);
	}
	lua_pop(L, 1);
}

/* ---- misc ---- */

void tylua_log_at(lua_State *L, bool warn, const char *fmt, ...)
{
	struct tylua_world *w = tylua_world(L);
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (warn)
		fprintf(stderr, "%s\n", msg);
	else if (w->verbose)
		fprintf(stderr, "        log: %s\n", msg);
	if (w->log_ref != LUA_NOREF && w->log_ref != LUA_REFNIL) {
		lua_rawgeti(L, LUA_REGISTRYINDEX, w->log_ref);
		lua_pushstring(L, msg);
		lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
		lua_pop(L, 1);
	}
}

const char *tylua_vm_arg(lua_State *L, int idx, const char *what)
{
	struct tylua_vm *vm;

	if (lua_type(L, idx) == LUA_TSTRING)
		return lua_tostring(L, idx);
	if (lua_type(L, idx) != LUA_TUSERDATA)
		luaL_error(L, "%s: bridge expected a VM userdata or string, got %s", what,
			   luaL_typename(L, idx));
	if (!luaL_testudata(L, idx, TYLUA_VM))
		luaL_error(L, "%s: bridge expected a VM userdata or string", what);
	vm = tylua_check_handle(L, idx, TYLUA_K_VM, TYLUA_VM, what, NULL);
	return vm->name;
}

/* ---- the state ---- */

/* Message handler: add a traceback to string errors; leave the skip sentinel alone. */
static int tylua_msgh(lua_State *L)
{
	if (luaL_testudata(L, 1, TYLUA_SKIP_MT)) {
		lua_settop(L, 1);
		return 1;
	}
	luaL_traceback(L, L, luaL_tolstring(L, 1, NULL), 1);
	return 1;
}

int tylua_pcall(lua_State *L, int nargs, int nresults)
{
	int base = lua_gettop(L) - nargs, status;

	lua_pushcfunction(L, tylua_msgh);
	lua_insert(L, base);
	status = lua_pcall(L, nargs, nresults, base);
	lua_remove(L, base);
	return status;
}

static void tylua_world_free(struct tylua_world *w)
{
	if (!w)
		return;
	ctl_destroy(w->ctl);
	dp_destroy(w->dp);
	for (int k = 0; k < TYLUA_K_COUNT; k++) {
		free(w->slots[k].obj);
		free(w->slots[k].gen);
	}
	json_decref(w->warned);
	free(w);
}

static int tylua_world_new(struct tylua_world **out)
{
	struct dp_config cfg = {.nbufs = 512};
	struct tylua_world *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	w->impair_ok = w->capture_ok = -1;
	w->file_timeout_s = -1;
	w->log_ref = LUA_NOREF;
	w->warned = json_object();
	err = dp_create(&cfg, &w->dp);
	if (!err)
		err = dp_start(w->dp);
	if (!err)
		err = ctl_create(w->dp, &w->ctl);
	if (err) {
		tylua_world_free(w);
		return err;
	}
	*out = w;
	return 0;
}

/* tapyard.ctl(cmd, [args]): any command of the control vocabulary; its result, or an error. */
static int tylua_ctl(lua_State *L)
{
	const char *cmd = luaL_checkstring(L, 1);
	json_t *args = lua_isnoneornil(L, 2) ? NULL : tylua_to_json(L, 2);
	json_t *res;

	if (args && !json_is_object(args)) {
		json_decref(args);
		return luaL_error(L, "tapyard.ctl: args must be a table of named arguments");
	}
	res = tylua_call(L, cmd, args, "tapyard.ctl");
	tylua_push_json(L, res);
	json_decref(res);
	return 1;
}

/* Open every type and global, and make the root lab `provium`. */
static int tylua_open_all(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);

	luaL_openlibs(L);
	tylua_lab_open(L);
	tylua_bridge_open(L);
	tylua_vm_open(L);
	tylua_nic_open(L);
	tylua_stream_open(L);
	tylua_result_open(L);
	tylua_json_open(L);
	tylua_proc_open(L);
	tylua_snapshot_open(L);
	tylua_test_open(L);
	lua_createtable(L, 0, 2);
	lua_pushcfunction(L, tylua_ctl);
	lua_setfield(L, -2, "ctl");
	lua_pushstring(L, TAPYARD_VERSION);
	lua_setfield(L, -2, "version");
	lua_setglobal(L, "tapyard");
	tylua_profile_open(L);
	w->root = tylua_lab_new(L, -1, "root", false);
	w->scope = w->root;
	tylua_lab_push(L, w->root);
	lua_setglobal(L, "provium");
	return 0;
}

int tylua_state_new(bool verbose, lua_State **out)
{
	struct tylua_world *w;
	lua_State *L;
	int err;

	err = tylua_world_new(&w);
	if (err)
		return err;
	w->verbose = verbose;
	L = luaL_newstate();
	if (!L) {
		tylua_world_free(w);
		return -ENOMEM;
	}
	*(struct tylua_world **)lua_getextraspace(L) = w;
	lua_pushcfunction(L, tylua_open_all);
	if (tylua_pcall(L, 0, 0) != LUA_OK) {
		fprintf(stderr, "tapyard: %s\n", lua_tostring(L, -1));
		lua_close(L);
		tylua_world_free(w);
		return -EINVAL;
	}
	lua_sethook(L, tylua_hook, LUA_MASKCOUNT, TYLUA_HOOK_COUNT);
	*out = L;
	return 0;
}

static int tylua_close_root(lua_State *L)
{
	tylua_lab_close(L, tylua_world(L)->root);
	return 0;
}

void tylua_state_close(lua_State *L)
{
	struct tylua_world *w;
	json_t *reply;

	if (!L)
		return;
	w = tylua_world(L);
	w->deadline_ns = 0;
	lua_sethook(L, NULL, 0, 0);
	lua_pushcfunction(L, tylua_close_root);
	if (tylua_pcall(L, 0, 0) != LUA_OK)
		fprintf(stderr, "tapyard: teardown: %s\n", lua_tostring(L, -1));
	reply = ctl_call(w->ctl, "guest/clear", NULL);
	json_decref(reply);
	lua_close(L);
	tylua_world_free(w);
}
