/* SPDX-License-Identifier: MIT */
/*
 * tylua_bridge: the Bridge userdata. Provium's graph state (members,
 * two-way and one-way partitions, isolation, impairments per bridge and per
 * pair) lives here by VM name; tylua_bridge_sync() makes the switch match it
 * for the members that have ports, through partition/... and impair/...
 * commands, so a partition or impairment declared before boot holds from
 * the first frame and one declared later applies at once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tylua_impl.h"

#define check_bridge(L, i, what, slot) \
	((struct tylua_bridge *)tylua_check_handle(L, i, TYLUA_K_BRIDGE, TYLUA_BRIDGE, what, slot))

struct tylua_bridge *tylua_bridge_find(struct tylua_world *w, const char *name, uint32_t *slot)
{
	struct tylua_slots *s = &w->slots[TYLUA_K_BRIDGE];

	for (uint32_t i = 0; i < s->cap; i++) {
		struct tylua_bridge *br = s->obj[i];

		if (br && strcmp(br->name, name) == 0) {
			if (slot)
				*slot = i;
			return br;
		}
	}
	return NULL;
}

void tylua_bridge_push(lua_State *L, uint32_t slot)
{
	tylua_push_handle(L, TYLUA_K_BRIDGE, slot, TYLUA_BRIDGE);
}

/* The lowest 10.K.0.0/24 no live bridge uses, for a bridge without opts.subnet. */
static void tylua_bridge_default_subnet(struct tylua_world *w, char *buf, size_t len)
{
	struct tylua_slots *s = &w->slots[TYLUA_K_BRIDGE];

	for (int k = 1; k < 256; k++) {
		bool used = false;

		snprintf(buf, len, "10.%d.0.0/24", k);
		for (uint32_t i = 0; i < s->cap && !used; i++)
			used = s->obj[i] &&
			       strcmp(((struct tylua_bridge *)s->obj[i])->subnet, buf) == 0;
		if (!used)
			return;
	}
	buf[0] = '\0';
}

uint32_t tylua_bridge_new(lua_State *L, uint32_t lab, const char *name, const char *subnet)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_bridge *br;
	json_t *res;

	if (!*name || strlen(name) >= CTL_BRIDGE_NAME_MAX)
		luaL_error(L, "lab:bridge: bridge name `%s` must be 1 to %d bytes", name,
			   CTL_BRIDGE_NAME_MAX - 1);
	res = tylua_call(L, "bridge/add", json_pack("{s:s}", "name", name), "lab:bridge");
	json_decref(res);
	br = calloc(1, sizeof(*br));
	if (!br)
		luaL_error(L, "out of memory");
	snprintf(br->name, sizeof(br->name), "%s", name);
	if (subnet)
		snprintf(br->subnet, sizeof(br->subnet), "%s", subnet);
	else
		tylua_bridge_default_subnet(w, br->subnet, sizeof(br->subnet));
	br->lab = lab;
	br->members = json_object();
	br->parts = json_object();
	br->dparts = json_object();
	br->isolated = json_object();
	br->routes = json_object();
	br->knobs = json_object();
	br->pairs = json_object();
	br->applied = json_object();
	return tylua_slot_alloc(L, TYLUA_K_BRIDGE, br);
}

/* ---- realisation ---- */

/* A member with a port on the bridge. */
struct tylua_port {
	const char *vm;
	const char *port;
};

/* The members of br that have ports, into ports (at most max); returns how many. */
static size_t tylua_bridge_ports(struct tylua_world *w, struct tylua_bridge *br,
				 struct tylua_port *ports, size_t max)
{
	const char *name;
	json_t *v;
	size_t n = 0;

	json_object_foreach(br->members, name, v) {
		struct tylua_vm *vm = tylua_vm_find(w, name, NULL);
		const char *port = vm ? tylua_vm_port(vm, br->name) : NULL;

		if (port && n < max)
			ports[n++] = (struct tylua_port){vm->name, port};
	}
	return n;
}

/* "a\tb" with the names in sorted order (two-way), or as given. */
static void tylua_pair_key(char *buf, size_t len, const char *a, const char *b, bool sort)
{
	if (sort && strcmp(a, b) > 0)
		snprintf(buf, len, "%s\t%s", b, a);
	else
		snprintf(buf, len, "%s\t%s", a, b);
}

/* Should frames from a to b be cut, by the graph state? */
static bool tylua_bridge_cut(struct tylua_bridge *br, const char *a, const char *b)
{
	char key[2 * TYLUA_NAME_MAX + 2];

	if (br->all_cut || json_object_get(br->isolated, a) || json_object_get(br->isolated, b))
		return true;
	tylua_pair_key(key, sizeof(key), a, b, true);
	if (json_object_get(br->parts, key))
		return true;
	tylua_pair_key(key, sizeof(key), a, b, false);
	return json_object_get(br->dparts, key) != NULL;
}

/* Cut or heal from -> each port of to (an array), one way. */
static void tylua_bridge_paths(lua_State *L, const char *from, json_t *to, bool cut,
			       const char *what)
{
	json_t *res;

	if (!json_array_size(to)) {
		json_decref(to);
		return;
	}
	res = tylua_call(L, cut ? "partition/cut" : "partition/heal",
			 json_pack("{s:s, s:o, s:b}", "from", from, "to", to, "oneway", 1), what);
	json_decref(res);
}

/* The set of cut paths "from\tto" (port names) the switch has on br now. */
static json_t *tylua_bridge_cut_now(lua_State *L, struct tylua_bridge *br, const char *what)
{
	json_t *list =
		tylua_call(L, "partition/list", json_pack("{s:s}", "bridge", br->name), what);
	json_t *set = json_object(), *p;
	char key[64];
	size_t i;

	json_array_foreach(list, i, p) {
		snprintf(key, sizeof(key), "%s\t%s", json_string_value(json_object_get(p, "from")),
			 json_string_value(json_object_get(p, "to")));
		json_object_set_new(set, key, json_true());
	}
	json_decref(list);
	return set;
}

static void tylua_bridge_sync_partitions(lua_State *L, struct tylua_bridge *br,
					 struct tylua_port *ports, size_t n, const char *what)
{
	json_t *now = tylua_bridge_cut_now(L, br, what);
	char key[64];

	for (size_t i = 0; i < n; i++) {
		json_t *cut = json_array(), *heal = json_array();

		for (size_t j = 0; j < n; j++) {
			bool want, have;

			if (i == j)
				continue;
			snprintf(key, sizeof(key), "%s\t%s", ports[i].port, ports[j].port);
			want = tylua_bridge_cut(br, ports[i].vm, ports[j].vm);
			have = json_object_get(now, key) != NULL;
			if (want && !have)
				json_array_append_new(cut, json_string(ports[j].port));
			else if (!want && have)
				json_array_append_new(heal, json_string(ports[j].port));
		}
		tylua_bridge_paths(L, ports[i].port, cut, true, what);
		tylua_bridge_paths(L, ports[i].port, heal, false, what);
	}
	json_decref(now);
}

/* impair/set for target (stolen) with knobs, replacing whatever was there. */
static void tylua_impair_set(lua_State *L, json_t *target, json_t *knobs, const char *what)
{
	json_t *res;

	json_object_update(target, knobs);
	json_object_set_new(target, "mode", json_string("replace"));
	res = tylua_call(L, "impair/set", target, what);
	json_decref(res);
}

/* impair/clear for target (stolen), ignoring "nothing there". */
static void tylua_impair_clear(lua_State *L, json_t *target)
{
	json_t *reply, *res = tylua_try(L, "impair/clear", target, &reply);

	json_decref(res);
	json_decref(reply);
}

static const char *tylua_port_of(struct tylua_port *ports, size_t n, const char *vm)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ports[i].vm, vm) == 0)
			return ports[i].port;
	}
	return NULL;
}

/* Apply the pair impairments whose two ends have ports; clear the ones that went away. */
static void tylua_bridge_sync_pairs(lua_State *L, struct tylua_bridge *br, struct tylua_port *ports,
				    size_t n, const char *what)
{
	const char *key;
	json_t *v, *tmp;
	char from[TYLUA_NAME_MAX], to[TYLUA_NAME_MAX];

	json_object_foreach_safe(br->applied, tmp, key, v)
	{
		json_t *want = json_object_get(br->pairs, key);
		const char *pf = json_string_value(json_object_get(v, "from"));
		const char *pt = json_string_value(json_object_get(v, "to"));

		sscanf(key, "%63[^\t]\t%63s", from, to);
		if (want && tylua_port_of(ports, n, from) && tylua_port_of(ports, n, to))
			continue;
		tylua_impair_clear(L, json_pack("{s:s, s:s}", "from", pf, "to", pt));
		json_object_del(br->applied, key);
	}
	json_object_foreach(br->pairs, key, v) {
		const char *pf, *pt;
		json_t *args, *old;

		sscanf(key, "%63[^\t]\t%63s", from, to);
		pf = tylua_port_of(ports, n, from);
		pt = tylua_port_of(ports, n, to);
		if (!pf || !pt)
			continue;
		args = json_pack("{s:s, s:s}", "from", pf, "to", pt);
		json_object_update(args, v);
		old = json_object_get(br->applied, key);
		if (old && json_equal(old, args)) {
			json_decref(args);
			continue;
		}
		json_object_set(br->applied, key, args);
		tylua_impair_set(L, json_pack("{s:s, s:s}", "from", pf, "to", pt), v, what);
		json_decref(args);
	}
}

void tylua_bridge_sync(lua_State *L, struct tylua_bridge *br, const char *what)
{
	struct tylua_port ports[256];
	size_t n = tylua_bridge_ports(tylua_world(L), br, ports, 256);

	tylua_bridge_sync_partitions(L, br, ports, n, what);
	if (json_object_size(br->pairs) || json_object_size(br->applied))
		tylua_bridge_sync_pairs(L, br, ports, n, what);
}

/* ---- membership ---- */

/* Raise Provium's error unless vm is a member. */
static void tylua_bridge_need_member(lua_State *L, struct tylua_bridge *br, const char *vm,
				     const char *what)
{
	const char *name;
	json_t *v;
	luaL_Buffer b;
	bool first = true;

	if (json_object_get(br->members, vm))
		return;
	luaL_buffinit(L, &b);
	json_object_foreach(br->members, name, v) {
		luaL_addstring(&b, first ? "\"" : ", \"");
		luaL_addstring(&b, name);
		luaL_addchar(&b, '"');
		first = false;
	}
	luaL_pushresult(&b);
	luaL_error(L,
		   "%s: vm \"%s\" is not attached to bridge \"%s\" (attached: [%s]). Call "
		   "bridge:attach(\"%s\") first.",
		   what, vm, br->name, lua_tostring(L, -1), vm);
}

static void tylua_bridge_attach_one(lua_State *L, struct tylua_bridge *br, const char *name)
{
	struct tylua_vm *vm = tylua_vm_find(tylua_world(L), name, NULL);

	if (!json_object_get(br->members, name))
		json_object_set_new(br->members, name, json_pack("{s:b}", "down", 0));
	if (!vm)
		return; /* graph state only: there is no VM of that name */
	if (!json_object_get(vm->bridges, br->name))
		json_object_set_new(vm->bridges, br->name, json_string(""));
	if (vm->state == TYLUA_VM_BOOTED && !tylua_vm_port(vm, br->name))
		tylua_vm_plug(L, vm, br, "bridge:attach");
}

static int bridge_attach(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:attach", NULL);
	lua_Integer n;

	lua_settop(L, 2);
	if (lua_type(L, 2) != LUA_TTABLE) {
		tylua_bridge_attach_one(L, br, tylua_vm_arg(L, 2, "bridge:attach"));
	} else {
		/* Validate the whole list before anything is attached. */
		n = luaL_len(L, 2);
		lua_createtable(L, (int)n, 0);
		for (lua_Integer i = 1; i <= n; i++) {
			lua_geti(L, 2, i);
			lua_pushstring(L, tylua_vm_arg(L, -1, "bridge:attach"));
			lua_rawseti(L, 3, i);
			lua_pop(L, 1);
		}
		for (lua_Integer i = 1; i <= n; i++) {
			lua_rawgeti(L, 3, i);
			tylua_bridge_attach_one(L, br, lua_tostring(L, -1));
			lua_pop(L, 1);
		}
	}
	tylua_bridge_sync(L, br, "bridge:attach");
	lua_settop(L, 1);
	return 1;
}

/* Delete every key of obj that names vm ("vm\t..." or "...\tvm" or "vm"). */
static void tylua_forget_vm(json_t *obj, const char *vm)
{
	size_t n = strlen(vm);
	const char *key;
	json_t *v, *tmp;

	json_object_foreach_safe(obj, tmp, key, v)
	{
		const char *tab = strchr(key, '\t');
		bool hit = strcmp(key, vm) == 0 ||
			   (tab && (((size_t)(tab - key) == n && strncmp(key, vm, n) == 0) ||
				    strcmp(tab + 1, vm) == 0));

		if (hit)
			json_object_del(obj, key);
	}
}

static int bridge_detach(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:detach", NULL);
	const char *name = tylua_vm_arg(L, 2, "bridge:detach");
	struct tylua_vm *vm = tylua_vm_find(tylua_world(L), name, NULL);

	if (vm)
		tylua_vm_unplug(L, vm, br->name, true);
	json_object_del(br->members, name);
	tylua_forget_vm(br->isolated, name);
	tylua_forget_vm(br->parts, name);
	tylua_forget_vm(br->dparts, name);
	tylua_forget_vm(br->pairs, name);
	tylua_bridge_sync(L, br, "bridge:detach");
	return 0;
}

/* Push the sorted keys of obj as an array. */
static void tylua_push_sorted_keys(lua_State *L, json_t *obj)
{
	const char *key;
	json_t *v;
	lua_Integer i = 0;

	lua_getglobal(L, "table");
	lua_getfield(L, -1, "sort");
	lua_remove(L, -2);
	lua_createtable(L, (int)json_object_size(obj), 0);
	json_object_foreach(obj, key, v) {
		lua_pushstring(L, key);
		lua_rawseti(L, -2, ++i);
	}
	lua_pushvalue(L, -1);
	lua_insert(L, -3);
	lua_call(L, 1, 0);
}

static int bridge_members(lua_State *L)
{
	tylua_push_sorted_keys(L, check_bridge(L, 1, "bridge:members", NULL)->members);
	return 1;
}

static int bridge_nic(lua_State *L)
{
	uint32_t slot;

	check_bridge(L, 1, "bridge:nic", &slot);
	tylua_nic_push(L, slot, tylua_vm_arg(L, 2, "bridge:nic"), lua_type(L, 2) == LUA_TUSERDATA);
	return 1;
}

/* ---- partitions ---- */

/* A required VM field of a table argument, with Provium's message. */
static const char *tylua_field_vm(lua_State *L, int t, const char *key, const char *what)
{
	const char *name;

	if (lua_getfield(L, t, key) == LUA_TNIL)
		luaL_error(L, "%s: needs `%s`", what, key);
	name = tylua_vm_arg(L, -1, what);
	lua_pop(L, 1);
	return name;
}

/* Parse (a, b) or ({from=, to=}); the key goes to key; returns true for the one-way form. */
static bool tylua_partition_args(lua_State *L, struct tylua_bridge *br, const char *what,
				 bool check, char *key, size_t len)
{
	const char *a, *b;

	if (lua_type(L, 2) == LUA_TTABLE && lua_isnoneornil(L, 3)) {
		a = tylua_field_vm(L, 2, "from", what);
		b = tylua_field_vm(L, 2, "to", what);
		if (check) {
			tylua_bridge_need_member(L, br, a, what);
			tylua_bridge_need_member(L, br, b, what);
		}
		tylua_pair_key(key, len, a, b, false);
		return true;
	}
	if (lua_isnoneornil(L, 2) || lua_isnoneornil(L, 3) || lua_type(L, 2) == LUA_TTABLE)
		luaL_error(L, "%s: expected (a, b) or ({from=a, to=b})", what);
	a = tylua_vm_arg(L, 2, what);
	b = tylua_vm_arg(L, 3, what);
	tylua_pair_key(key, len, a, b, true);
	return false;
}

static int tylua_partition(lua_State *L, bool cut)
{
	const char *what = cut ? "bridge:partition" : "bridge:unpartition";
	struct tylua_bridge *br = check_bridge(L, 1, what, NULL);
	char key[2 * TYLUA_NAME_MAX + 2];
	json_t *set;

	set = tylua_partition_args(L, br, what, cut, key, sizeof(key)) ? br->dparts : br->parts;
	if (cut)
		json_object_set_new(set, key, json_true());
	else
		json_object_del(set, key);
	tylua_bridge_sync(L, br, what);
	return 0;
}

static int bridge_partition(lua_State *L)
{
	return tylua_partition(L, true);
}

static int bridge_unpartition(lua_State *L)
{
	return tylua_partition(L, false);
}

static int tylua_partition_all(lua_State *L, bool cut)
{
	const char *what = cut ? "bridge:partition_all" : "bridge:restore_all";
	struct tylua_bridge *br = check_bridge(L, 1, what, NULL);

	br->all_cut = cut;
	tylua_bridge_sync(L, br, what);
	return 0;
}

static int bridge_partition_all(lua_State *L)
{
	return tylua_partition_all(L, true);
}

static int bridge_restore_all(lua_State *L)
{
	return tylua_partition_all(L, false);
}

/* True when anything cuts a from b: a partition either way, partition_all or isolation. */
static int bridge_is_partitioned(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:is_partitioned", NULL);
	const char *a = tylua_vm_arg(L, 2, "bridge:is_partitioned");
	const char *b = tylua_vm_arg(L, 3, "bridge:is_partitioned");

	lua_pushboolean(L, tylua_bridge_cut(br, a, b) || tylua_bridge_cut(br, b, a));
	return 1;
}

static int tylua_isolate(lua_State *L, bool cut)
{
	const char *what = cut ? "bridge:isolate" : "bridge:unisolate";
	struct tylua_bridge *br = check_bridge(L, 1, what, NULL);
	const char *name = tylua_vm_arg(L, 2, what);

	if (cut)
		json_object_set_new(br->isolated, name, json_true());
	else
		json_object_del(br->isolated, name);
	tylua_bridge_sync(L, br, what);
	return 0;
}

static int bridge_isolate(lua_State *L)
{
	return tylua_isolate(L, true);
}

static int bridge_unisolate(lua_State *L)
{
	return tylua_isolate(L, false);
}

static int bridge_is_isolated(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:is_isolated", NULL);

	lua_pushboolean(
		L, json_object_get(br->isolated, tylua_vm_arg(L, 2, "bridge:is_isolated")) != NULL);
	return 1;
}

/* ---- impairments ---- */

/* Apply the whole-bridge knobs (newk, stolen) and keep them when the switch took them. */
static void tylua_bridge_knobs(lua_State *L, struct tylua_bridge *br, json_t *newk,
			       const char *what)
{
	tylua_require(L, "impair", what);
	if (json_object_size(newk)) {
		json_t *target = json_pack("{s:s}", "bridge", br->name);

		json_object_update(target, newk);
		json_object_set_new(target, "mode", json_string("replace"));
		/* On error newk leaks with the raised error: a handful of bytes, once. */
		json_decref(tylua_call(L, "impair/set", target, what));
	} else if (json_object_size(br->knobs)) {
		tylua_impair_clear(L, json_pack("{s:s}", "bridge", br->name));
	}
	json_decref(br->knobs);
	br->knobs = newk;
}

/* A knob value: an integer when it is one. */
static json_t *tylua_knob_value(double v)
{
	if (v == floor(v) && fabs(v) < 9e15)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* Set knob to v in obj (a Provium knob: 0 clears it). */
static void tylua_knob(json_t *obj, const char *knob, double v)
{
	if (v == 0)
		json_object_del(obj, knob);
	else
		json_object_set_new(obj, knob, tylua_knob_value(v));
}

/* Merge upd (stolen) into the knobs of the pair from -> to, then realise. */
static void tylua_bridge_pair(lua_State *L, struct tylua_bridge *br, const char *from,
			      const char *to, json_t *upd, const char *what)
{
	char key[2 * TYLUA_NAME_MAX + 2];
	json_t *cur;
	const char *k;
	json_t *v;

	tylua_require(L, "impair", what);
	tylua_pair_key(key, sizeof(key), from, to, false);
	cur = json_object_get(br->pairs, key);
	cur = cur ? json_deep_copy(cur) : json_object();
	json_object_foreach(upd, k, v) {
		if (json_is_number(v) && json_number_value(v) == 0 &&
		    (!strcmp(k, "delay_ms") || !strcmp(k, "loss") || !strcmp(k, "rate_bps")))
			json_object_del(cur, k);
		else
			json_object_set(cur, k, v);
	}
	json_decref(upd);
	if (json_object_size(cur)) {
		json_object_set_new(br->pairs, key, cur);
	} else {
		json_object_del(br->pairs, key);
		json_decref(cur);
	}
	tylua_bridge_sync(L, br, what);
}

/* Knobs from the keys of table t other than from/to/skip (values numbers, booleans, tables). */
static json_t *tylua_table_knobs(lua_State *L, int t, const char *skip)
{
	json_t *knobs = json_object();

	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;

		if (k && strcmp(k, "from") != 0 && strcmp(k, "to") != 0 &&
		    (!skip || strcmp(k, skip) != 0))
			json_object_set_new(knobs, k, tylua_to_json(L, -1));
		lua_pop(L, 1);
	}
	return knobs;
}

/*
 * The shared shape of add_latency / drop_rate / bandwidth_limit: a scalar for
 * the whole bridge or {from=, to=, <unit>=} for one way; knob is the
 * impairment knob the unit maps to; max clamps (drop rate to 100).
 */
static int tylua_bridge_scalar(lua_State *L, const char *what, const char *unit, const char *knob,
			       double max, bool check, bool integer)
{
	struct tylua_bridge *br = check_bridge(L, 1, what, NULL);
	const char *from, *to;
	json_t *upd;
	double v;

	if (lua_type(L, 2) == LUA_TNUMBER) {
		v = lua_tonumber(L, 2);
		if (!isfinite(v) || v < 0)
			return luaL_error(L,
					  "%s: expected int or table, got number (%s must be a "
					  "non-negative number)",
					  what, unit);
		upd = json_deep_copy(br->knobs);
		tylua_knob(upd, knob, integer ? floor(v) : (v > max ? max : v));
		tylua_bridge_knobs(L, br, upd, what);
		return 0;
	}
	if (lua_type(L, 2) != LUA_TTABLE)
		return luaL_error(L, "%s: expected int or table, got %s", what,
				  luaL_typename(L, 2));
	if (lua_getfield(L, 2, "from") == LUA_TNIL)
		return luaL_error(L, "%s: directional form needs `from`", what);
	if (lua_getfield(L, 2, "to") == LUA_TNIL)
		return luaL_error(L, "%s: directional form needs `to`", what);
	if (lua_getfield(L, 2, unit) != LUA_TNUMBER)
		return luaL_error(L, "%s: directional form needs `%s`", what, unit);
	from = tylua_vm_arg(L, -3, what);
	to = tylua_vm_arg(L, -2, what);
	v = lua_tonumber(L, -1);
	if (!isfinite(v) || v < 0)
		return luaL_error(L, "%s: `%s` must be a non-negative number", what, unit);
	if (check) {
		tylua_bridge_need_member(L, br, from, what);
		tylua_bridge_need_member(L, br, to, what);
	}
	upd = tylua_table_knobs(L, 2, unit);
	json_object_set_new(upd, knob, tylua_knob_value(integer ? floor(v) : (v > max ? max : v)));
	tylua_bridge_pair(L, br, from, to, upd, what);
	return 0;
}

static int bridge_add_latency(lua_State *L)
{
	return tylua_bridge_scalar(L, "bridge:add_latency", "ms", "delay_ms", INFINITY, true,
				   false);
}

static int bridge_drop_rate(lua_State *L)
{
	return tylua_bridge_scalar(L, "bridge:drop_rate", "p", "loss", 100, true, false);
}

static int bridge_bandwidth_limit(lua_State *L)
{
	return tylua_bridge_scalar(L, "bridge:bandwidth_limit", "bps", "rate_bps", INFINITY, false,
				   true);
}

static int bridge_add_directional_latency(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	return tylua_bridge_scalar(L, "bridge:add_directional_latency", "ms", "delay_ms", INFINITY,
				   true, false);
}

static int bridge_directional_drop_rate(lua_State *L)
{
	luaL_checktype(L, 2, LUA_TTABLE);
	return tylua_bridge_scalar(L, "bridge:directional_drop_rate", "p", "loss", 100, true,
				   false);
}

/* impair{knobs...} for the whole bridge, impair{from=, to=, knobs...} for one way; mode= too. */
static int bridge_impair(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:impair", NULL);
	const char *from = NULL, *to = NULL;
	bool replace;
	json_t *knobs, *cur;

	luaL_checktype(L, 2, LUA_TTABLE);
	if (lua_getfield(L, 2, "from") != LUA_TNIL)
		from = tylua_vm_arg(L, -1, "bridge:impair");
	if (lua_getfield(L, 2, "to") != LUA_TNIL)
		to = tylua_vm_arg(L, -1, "bridge:impair");
	if (!from != !to)
		return luaL_error(L, "bridge:impair: give both `from` and `to`, or neither");
	lua_getfield(L, 2, "mode");
	replace = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "replace") == 0;
	knobs = tylua_table_knobs(L, 2, "mode");
	if (from) {
		tylua_bridge_need_member(L, br, from, "bridge:impair");
		tylua_bridge_need_member(L, br, to, "bridge:impair");
		if (replace) {
			char key[2 * TYLUA_NAME_MAX + 2];

			tylua_pair_key(key, sizeof(key), from, to, false);
			json_object_del(br->pairs, key);
		}
		tylua_bridge_pair(L, br, from, to, knobs, "bridge:impair");
		return 0;
	}
	cur = replace ? json_object() : json_deep_copy(br->knobs);
	json_object_update(cur, knobs);
	json_decref(knobs);
	tylua_bridge_knobs(L, br, cur, "bridge:impair");
	return 0;
}

/* The knobs declared for from -> to before both are booted: {knobs=, stats={}, pending=true}. */
static int tylua_bridge_declared(lua_State *L, struct tylua_bridge *br, const char *from,
				 const char *to)
{
	char key[2 * TYLUA_NAME_MAX + 2];
	json_t *knobs;

	tylua_pair_key(key, sizeof(key), from, to, false);
	knobs = json_object_get(br->pairs, key);
	lua_createtable(L, 0, 3);
	if (knobs)
		tylua_push_json(L, knobs);
	else
		lua_newtable(L);
	lua_setfield(L, -2, "knobs");
	lua_newtable(L);
	lua_setfield(L, -2, "stats");
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, "pending");
	return 1;
}

/*
 * impair/get for the whole bridge, or for {from=, to=}: {knobs=, stats=}; a
 * pair not both booted yet gives what was declared for it (pending=true).
 */
static int bridge_impairment(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:impairment", NULL);
	json_t *target, *res;

	tylua_require(L, "impair", "bridge:impairment");
	if (lua_type(L, 2) == LUA_TTABLE) {
		const char *from = tylua_field_vm(L, 2, "from", "bridge:impairment");
		const char *to = tylua_field_vm(L, 2, "to", "bridge:impairment");
		struct tylua_vm *a = tylua_vm_find(tylua_world(L), from, NULL);
		struct tylua_vm *b = tylua_vm_find(tylua_world(L), to, NULL);
		const char *pa = a ? tylua_vm_port(a, br->name) : NULL;
		const char *pb = b ? tylua_vm_port(b, br->name) : NULL;

		tylua_bridge_need_member(L, br, from, "bridge:impairment");
		tylua_bridge_need_member(L, br, to, "bridge:impairment");
		if (!pa || !pb)
			return tylua_bridge_declared(L, br, from, to);
		target = json_pack("{s:s, s:s}", "from", pa, "to", pb);
	} else {
		target = json_pack("{s:s}", "bridge", br->name);
	}
	res = tylua_call(L, "impair/get", target, "bridge:impairment");
	tylua_push_json(L, res);
	json_decref(res);
	return 1;
}

static int bridge_reset(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:reset", NULL);
	bool impaired = json_object_size(br->knobs) || json_object_size(br->pairs) ||
			json_object_size(br->applied);

	json_object_clear(br->parts);
	json_object_clear(br->dparts);
	br->all_cut = false;
	if (impaired && tylua_has(L, "impair")) {
		json_t *reply, *res = tylua_try(L, "impair/clear_all",
						json_pack("{s:s}", "bridge", br->name), &reply);

		if (!res)
			tylua_raise_reply(L, reply, "bridge:reset");
		json_decref(res);
		json_decref(reply);
	}
	json_object_clear(br->knobs);
	json_object_clear(br->pairs);
	json_object_clear(br->applied);
	tylua_bridge_sync(L, br, "bridge:reset");
	return 0;
}

/* Push whole-bridge knob as a number (0 when unset). */
static int tylua_bridge_get_knob(lua_State *L, const char *what, const char *knob)
{
	json_t *v = json_object_get(check_bridge(L, 1, what, NULL)->knobs, knob);

	if (json_is_integer(v))
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
	else if (json_is_real(v))
		lua_pushnumber(L, json_real_value(v));
	else
		lua_pushinteger(L, 0);
	return 1;
}

static int bridge_latency_ms(lua_State *L)
{
	return tylua_bridge_get_knob(L, "bridge:latency_ms", "delay_ms");
}

static int bridge_drop_rate_pct(lua_State *L)
{
	return tylua_bridge_get_knob(L, "bridge:drop_rate_pct", "loss");
}

static int bridge_bandwidth_bps(lua_State *L)
{
	return tylua_bridge_get_knob(L, "bridge:bandwidth_bps", "rate_bps");
}

/* ---- the rest ---- */

static int bridge_capture(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:capture", NULL);

	lua_settop(L, 2); /* the filter stays at 2 */
	tylua_stream_start(L, json_pack("{s:s}", "bridge", br->name), 2, br->name, false,
			   "bridge:capture");
	return 1;
}

static int bridge_name(lua_State *L)
{
	lua_pushstring(L, check_bridge(L, 1, "bridge:name", NULL)->name);
	return 1;
}

static int bridge_uplink(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:enable_uplink", NULL);

	tylua_log(L,
		  "bridge:enable_uplink/disable_uplink on `%s`: tapyard labs have no outside "
		  "network; ignored",
		  br->name);
	return 0;
}

static void tylua_route_add(lua_State *L, struct tylua_bridge *br, int idx)
{
	if (lua_type(L, idx) == LUA_TSTRING) {
		json_object_set_new(br->routes, lua_tostring(L, idx), json_true());
	} else if (luaL_testudata(L, idx, TYLUA_BRIDGE)) {
		struct tylua_bridge *other = check_bridge(L, idx, "bridge:route", NULL);

		json_object_set_new(br->routes, other->name, json_true());
	} else {
		luaL_error(L, "bridge:route: list entries must be bridge or string");
	}
}

static int bridge_route(lua_State *L)
{
	struct tylua_bridge *br = check_bridge(L, 1, "bridge:route", NULL);

	if (lua_type(L, 2) == LUA_TTABLE) {
		for (lua_Integer i = 1; lua_geti(L, 2, i) != LUA_TNIL; i++) {
			tylua_route_add(L, br, -1);
			lua_pop(L, 1);
		}
	} else if (lua_type(L, 2) == LUA_TSTRING || luaL_testudata(L, 2, TYLUA_BRIDGE)) {
		tylua_route_add(L, br, 2);
	} else {
		return luaL_error(L, "bridge:route: expected bridge|string|list");
	}
	tylua_log(L, "bridge:route on `%s` is graph-state only (no routing between bridges)",
		  br->name);
	return 0;
}

static int bridge_routes(lua_State *L)
{
	tylua_push_sorted_keys(L, check_bridge(L, 1, "bridge:routes", NULL)->routes);
	return 1;
}

void tylua_bridge_close(lua_State *L, uint32_t slot)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_bridge *br = tylua_slot_get(w, TYLUA_K_BRIDGE, slot);
	struct tylua_slots *s = &w->slots[TYLUA_K_STREAM];
	json_t *reply, *res;

	if (!br)
		return;
	if (tylua_stream_live(L, br->name))
		tylua_warn(
			L,
			"provium: bridge `%s` unrealize with %d active capture(s) \u2014 captures "
			"will end at this point. Close streams before unrealize to avoid "
			"truncation.",
			br->name, tylua_stream_live(L, br->name));
	for (uint32_t i = 0; i < s->cap; i++) {
		if (s->obj[i] && strcmp(((struct tylua_stream *)s->obj[i])->bridge, br->name) == 0)
			tylua_stream_close(L, i);
	}
	s = &w->slots[TYLUA_K_VM];
	for (uint32_t i = 0; i < s->cap; i++) {
		if (s->obj[i])
			tylua_vm_unplug(L, s->obj[i], br->name, true);
	}
	res = tylua_try(L, "bridge/del", json_pack("{s:s}", "name", br->name), &reply);
	json_decref(res);
	json_decref(reply);
	json_decref(br->members);
	json_decref(br->parts);
	json_decref(br->dparts);
	json_decref(br->isolated);
	json_decref(br->routes);
	json_decref(br->knobs);
	json_decref(br->pairs);
	json_decref(br->applied);
	free(br);
	tylua_slot_free(w, TYLUA_K_BRIDGE, slot);
}

/* bridge:close(): tear it down now; closing a closed bridge does nothing (Provium's). */
static int bridge_close(lua_State *L)
{
	struct tylua_handle *h = luaL_checkudata(L, 1, TYLUA_BRIDGE);
	struct tylua_world *w = tylua_world(L);

	if (tylua_slot_get(w, TYLUA_K_BRIDGE, h->slot) &&
	    w->slots[TYLUA_K_BRIDGE].gen[h->slot] == h->gen)
		tylua_bridge_close(L, h->slot);
	return 0;
}

static int bridge_tostring(lua_State *L)
{
	struct tylua_handle *h = luaL_checkudata(L, 1, TYLUA_BRIDGE);
	struct tylua_bridge *br = tylua_slot_get(tylua_world(L), TYLUA_K_BRIDGE, h->slot);

	if (!br || tylua_world(L)->slots[TYLUA_K_BRIDGE].gen[h->slot] != h->gen)
		lua_pushstring(L, "bridge(closed)");
	else
		lua_pushfstring(L, "bridge(%s; %d member(s))", br->name,
				(int)json_object_size(br->members));
	return 1;
}

void tylua_bridge_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"attach", bridge_attach},
		{"detach", bridge_detach},
		{"members", bridge_members},
		{"nic", bridge_nic},
		{"partition", bridge_partition},
		{"unpartition", bridge_unpartition},
		{"partition_all", bridge_partition_all},
		{"restore_all", bridge_restore_all},
		{"is_partitioned", bridge_is_partitioned},
		{"isolate", bridge_isolate},
		{"unisolate", bridge_unisolate},
		{"is_isolated", bridge_is_isolated},
		{"add_latency", bridge_add_latency},
		{"drop_rate", bridge_drop_rate},
		{"bandwidth_limit", bridge_bandwidth_limit},
		{"add_directional_latency", bridge_add_directional_latency},
		{"directional_drop_rate", bridge_directional_drop_rate},
		{"impair", bridge_impair},
		{"impairment", bridge_impairment},
		{"reset", bridge_reset},
		{"name", bridge_name},
		{"latency_ms", bridge_latency_ms},
		{"drop_rate_pct", bridge_drop_rate_pct},
		{"bandwidth_bps", bridge_bandwidth_bps},
		{"capture", bridge_capture},
		{"enable_uplink", bridge_uplink},
		{"disable_uplink", bridge_uplink},
		{"route", bridge_route},
		{"routes", bridge_routes},
		{"close", bridge_close},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__tostring", bridge_tostring},
		{"__eq", tylua_handle_eq},
		{NULL, NULL},
	};

	tylua_new_type(L, TYLUA_BRIDGE, methods, meta);
}
