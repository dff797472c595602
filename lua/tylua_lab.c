/* SPDX-License-Identifier: MIT */
/*
 * tylua_lab: the Lab userdata (`provium`, a test's scope, provium:lab()).
 * A lab owns the VMs, bridges, streams and sub-labs made through it and
 * closes them when it closes. Lookups fall through to parent labs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tylua_impl.h"

#define check_lab(L, i, what, slot) \
	((struct tylua_lab *)tylua_check_handle(L, i, TYLUA_K_LAB, TYLUA_LAB, what, slot))

uint32_t tylua_lab_new(lua_State *L, int parent, const char *name, bool test_scope)
{
	struct tylua_lab *lab = calloc(1, sizeof(*lab));

	if (!lab)
		luaL_error(L, "out of memory");
	snprintf(lab->name, sizeof(lab->name), "%s", name);
	lab->parent = parent;
	lab->test_scope = test_scope;
	return tylua_slot_alloc(L, TYLUA_K_LAB, lab);
}

void tylua_lab_push(lua_State *L, uint32_t slot)
{
	tylua_push_handle(L, TYLUA_K_LAB, slot, TYLUA_LAB);
}

bool tylua_lab_within(struct tylua_world *w, uint32_t slot, uint32_t anc)
{
	for (int s = (int)slot; s >= 0;) {
		struct tylua_lab *lab = tylua_slot_get(w, TYLUA_K_LAB, (uint32_t)s);

		if (!lab)
			return false;
		if ((uint32_t)s == anc)
			return true;
		s = lab->parent;
	}
	return false;
}

void tylua_lab_close(lua_State *L, uint32_t slot)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_slots *s;

	s = &w->slots[TYLUA_K_PROC];
	for (uint32_t i = 0; i < s->cap; i++) {
		if (tylua_proc_lab(w, i) == slot)
			tylua_proc_close(L, i);
	}
	for (int k = TYLUA_K_LAB; k < TYLUA_K_COUNT; k++) {
		s = &w->slots[k];
		for (uint32_t i = 0; i < s->cap; i++) {
			if (!s->obj[i])
				continue;
			if (k == TYLUA_K_LAB &&
			    ((struct tylua_lab *)s->obj[i])->parent == (int)slot)
				tylua_lab_close(L, i);
			else if (k == TYLUA_K_STREAM &&
				 ((struct tylua_stream *)s->obj[i])->lab == slot)
				tylua_stream_close(L, i);
		}
	}
	s = &w->slots[TYLUA_K_VM];
	for (uint32_t i = 0; i < s->cap; i++) {
		if (s->obj[i] && ((struct tylua_vm *)s->obj[i])->lab == slot)
			tylua_vm_close(L, i);
	}
	s = &w->slots[TYLUA_K_BRIDGE];
	for (uint32_t i = 0; i < s->cap; i++) {
		if (s->obj[i] && ((struct tylua_bridge *)s->obj[i])->lab == slot)
			tylua_bridge_close(L, i);
	}
	free(tylua_slot_get(w, TYLUA_K_LAB, slot));
	tylua_slot_free(w, TYLUA_K_LAB, slot);
}

/* ---- lab:bridge, lab:vm ---- */

static void tylua_lab_reserved(lua_State *L, const char *name);

/*
 * The name argument at idx of what ("lab:bridge"): a string, not a number Lua
 * would turn into one ("nan", "1e+300"), and not a reserved word.
 */
static const char *tylua_lab_name(lua_State *L, int idx, const char *what)
{
	const char *name;

	if (lua_type(L, idx) != LUA_TSTRING)
		luaL_error(L, "%s: expected a string name, got %s", what, luaL_typename(L, idx));
	name = lua_tostring(L, idx);
	tylua_lab_reserved(L, name);
	return name;
}

static void tylua_lab_reserved(lua_State *L, const char *name)
{
	static const char *const reserved[] = {"vm_fixture", "lab_fixture", "pack", "unpack"};

	for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
		if (strcmp(name, reserved[i]) == 0)
			luaL_error(L,
				   "name `%s` is reserved for the dot-access surface (vm_fixture, "
				   "lab_fixture, pack, unpack); use lab:vm()/lab:bridge() with a "
				   "different name",
				   name);
	}
}

static int lab_bridge(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);
	int nargs = lua_gettop(L) - 1;
	const char *name, *subnet = NULL;
	struct tylua_bridge *br;
	uint32_t lab, slot;

	check_lab(L, 1, "lab:bridge", &lab);
	if (nargs < 1 || nargs > 3)
		return luaL_error(L, "lab:bridge: expected 1, 2, or 3 args, got %d", nargs);
	name = tylua_lab_name(L, 2, "lab:bridge");
	br = tylua_bridge_find(w, name, &slot);
	if (br && nargs == 1 && tylua_lab_within(w, lab, br->lab)) {
		tylua_bridge_push(L, slot);
		return 1;
	}
	if (br && br->lab != lab && tylua_lab_within(w, lab, br->lab)) {
		struct tylua_lab *owner = tylua_slot_get(w, TYLUA_K_LAB, br->lab);

		return luaL_error(
			L,
			"provium:bridge(\"%s\", …): name already declared at a parent scope "
			"(lab `%s`). Pick a different name, or use `provium:bridge(\"%s\")` to "
			"reuse the parent-scope bridge.",
			name, owner->name, name);
	}
	if (br)
		return luaL_error(L, "lab:bridge: bridge name `%s` already used in this lab", name);
	if (nargs >= 2 && !lua_isnoneornil(L, 3)) {
		luaL_checktype(L, 3, LUA_TTABLE);
		if (lua_getfield(L, 3, "subnet") != LUA_TNIL)
			subnet = luaL_checkstring(L, -1);
	}
	slot = tylua_bridge_new(L, lab, name, subnet);
	tylua_bridge_push(L, slot);
	return 1;
}

static bool tylua_vm_name_ok(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n < TYLUA_NAME_MAX && name[0] != '-' &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
		       n;
}

static int lab_vm(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);
	const char *name, *profile = "";
	struct tylua_vm *vm;
	int opts = 0;
	uint32_t lab, slot;

	check_lab(L, 1, "lab:vm", &lab);
	name = tylua_lab_name(L, 2, "lab:vm");
	if (lua_type(L, 3) == LUA_TSTRING)
		profile = lua_tostring(L, 3);
	else if (lua_type(L, 3) == LUA_TTABLE)
		opts = 3;
	else if (!lua_isnoneornil(L, 3))
		return luaL_error(L, "lab:vm: expected a profile name or an opts table, got %s",
				  luaL_typename(L, 3));
	if (!opts && lua_type(L, 4) == LUA_TTABLE)
		opts = 4;
	if (!tylua_vm_name_ok(name))
		return luaL_error(
			L,
			"lab:vm: bad vm name `%s`: use 1 to %d letters, digits, '-' and '_', not "
			"starting with '-' (it names the guest's host name)",
			name, TYLUA_NAME_MAX - 1);
	if (tylua_vm_find(w, name, NULL))
		return luaL_error(L, "vm name `%s` already used in this lab", name);
	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return luaL_error(L, "out of memory");
	snprintf(vm->name, sizeof(vm->name), "%s", name);
	snprintf(vm->profile, sizeof(vm->profile), "%s", profile);
	vm->lab = lab;
	vm->bridges = json_object();
	if (opts && lua_getfield(L, opts, "ipv6") != LUA_TNIL)
		vm->ipv6 = lua_toboolean(L, -1);
	if (opts)
		tylua_vm_sizes(L, opts, vm, "lab:vm");
	slot = tylua_slot_alloc(L, TYLUA_K_VM, vm);
	tylua_vm_push(L, slot);
	return 1;
}

static int lab_lab(lua_State *L)
{
	uint32_t lab;
	const char *name;

	check_lab(L, 1, "lab:lab", &lab);
	name = luaL_optstring(L, 2, "lab");
	tylua_lab_push(L, tylua_lab_new(L, (int)lab, name, false));
	return 1;
}

/* Boot (or shut down) every VM of the lab and of its sub-labs. */
static int tylua_lab_power(lua_State *L, bool boot)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_slots *s = &w->slots[TYLUA_K_VM];
	uint32_t lab;

	check_lab(L, 1, boot ? "lab:boot" : "lab:shutdown", &lab);
	/* Boot in parallel: launch every VM, then wait for each. */
	for (int pass = 0; pass < (boot ? 2 : 1); pass++) {
		for (uint32_t i = 0; i < s->cap; i++) {
			struct tylua_vm *vm = s->obj[i];

			if (!vm || !tylua_lab_within(w, vm->lab, lab))
				continue;
			if (boot && pass == 0 && vm->state != TYLUA_VM_BOOTED)
				tylua_vm_launch(L, vm, "lab:boot");
			else if (boot && pass == 1 && vm->state == TYLUA_VM_BOOTING)
				tylua_vm_ready(L, vm, "lab:boot");
			else if (!boot)
				tylua_vm_shutdown(L, vm);
		}
	}
	lua_settop(L, 1);
	return 1;
}

static int lab_boot(lua_State *L)
{
	return tylua_lab_power(L, true);
}

static int lab_shutdown(lua_State *L)
{
	return tylua_lab_power(L, false);
}

static int lab_name(lua_State *L)
{
	lua_pushstring(L, check_lab(L, 1, "lab:name", NULL)->name);
	return 1;
}

static int tylua_cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Push a sorted array of the names of objects of kind owned by lab (name at offset 0). */
static void tylua_lab_names(lua_State *L, enum tylua_kind kind, uint32_t lab)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_slots *s = &w->slots[kind];
	const char **names = calloc(s->cap + 1, sizeof(*names));
	size_t n = 0;

	if (!names)
		luaL_error(L, "out of memory");
	for (uint32_t i = 0; i < s->cap; i++) {
		if (!s->obj[i])
			continue;
		if ((kind == TYLUA_K_BRIDGE && ((struct tylua_bridge *)s->obj[i])->lab == lab) ||
		    (kind == TYLUA_K_VM && ((struct tylua_vm *)s->obj[i])->lab == lab) ||
		    (kind == TYLUA_K_LAB && ((struct tylua_lab *)s->obj[i])->parent == (int)lab))
			names[n++] = s->obj[i];
	}
	qsort(names, n, sizeof(*names), tylua_cmp_str);
	lua_createtable(L, (int)n, 0);
	for (size_t i = 0; i < n; i++) {
		lua_pushstring(L, names[i]);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	free(names);
}

static int lab_bridge_names(lua_State *L)
{
	uint32_t lab;

	check_lab(L, 1, "lab:bridge_names", &lab);
	tylua_lab_names(L, TYLUA_K_BRIDGE, lab);
	return 1;
}

static int lab_members(lua_State *L)
{
	static const struct {
		enum tylua_kind kind;
		const char *name;
	} kinds[] = {{TYLUA_K_VM, "vm"}, {TYLUA_K_BRIDGE, "bridge"}, {TYLUA_K_LAB, "lab"}};
	lua_Integer n = 0;
	uint32_t lab;

	check_lab(L, 1, "lab:members", &lab);
	lua_newtable(L);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		tylua_lab_names(L, kinds[k].kind, lab);
		for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
			lua_createtable(L, 0, 2);
			lua_pushstring(L, kinds[k].name);
			lua_setfield(L, -2, "kind");
			lua_insert(L, -2);
			lua_setfield(L, -2, "name");
			lua_rawseti(L, -3, ++n);
		}
		lua_pop(L, 2);
	}
	return 1;
}

/* ---- lab:include, lab:remove ---- */

/* The owner field of the VM, bridge or lab userdata at idx (its lab, or a lab's parent). */
static int *tylua_lab_owner(lua_State *L, int idx, uint32_t *slot, const char *what)
{
	if (luaL_testudata(L, idx, TYLUA_VM))
		return (int *)&((struct tylua_vm *)tylua_check_handle(L, idx, TYLUA_K_VM, TYLUA_VM,
								      what, slot))
			->lab;
	if (luaL_testudata(L, idx, TYLUA_BRIDGE))
		return (int *)&((struct tylua_bridge *)tylua_check_handle(L, idx, TYLUA_K_BRIDGE,
									  TYLUA_BRIDGE, what, slot))
			->lab;
	if (luaL_testudata(L, idx, TYLUA_LAB))
		return &check_lab(L, idx, what, slot)->parent;
	luaL_error(L, "%s: expected a vm, bridge or lab, got %s", what, luaL_typename(L, idx));
	return NULL;
}

/* Move the object at idx into lab (a lab may not go into itself or its own sub-labs). */
static void tylua_lab_move(lua_State *L, int idx, uint32_t lab, bool apply, const char *what)
{
	uint32_t slot;
	int *owner = tylua_lab_owner(L, idx, &slot, what);

	if (luaL_testudata(L, idx, TYLUA_LAB) && tylua_lab_within(tylua_world(L), lab, slot))
		luaL_error(L, "%s: a lab cannot include itself or a lab above it", what);
	if (apply)
		*owner = (int)lab;
}

/*
 * lab:include(x | {x, ...}): the VMs, bridges and labs become this lab's (its
 * lookups find them, and they close with it); a list is checked whole first.
 */
static int lab_include(lua_State *L)
{
	uint32_t lab;

	check_lab(L, 1, "lab:include", &lab);
	if (lua_type(L, 2) != LUA_TTABLE) {
		tylua_lab_move(L, 2, lab, true, "lab:include");
		return 0;
	}
	for (int apply = 0; apply < 2; apply++) {
		for (lua_Integer i = 1; lua_rawgeti(L, 2, i) != LUA_TNIL; i++) {
			tylua_lab_move(L, lua_gettop(L), lab, apply, "lab:include");
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
	}
	return 0;
}

/*
 * lab:remove(x | "name"): the object leaves this lab for the lab above it (the
 * root lab keeps it); it is not shut down or deleted (Provium's). A name this
 * lab does not have: nothing.
 */
static int lab_remove(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_vm *vm;
	struct tylua_bridge *br;
	uint32_t lab, slot;
	int up, *owner = NULL;

	up = check_lab(L, 1, "lab:remove", &lab)->parent;
	if (lua_type(L, 2) == LUA_TUSERDATA) {
		owner = tylua_lab_owner(L, 2, &slot, "lab:remove");
	} else if (lua_type(L, 2) != LUA_TSTRING) {
		return luaL_error(L, "lab:remove expected name|vm|bridge|lab, got %s",
				  luaL_typename(L, 2));
	} else if ((vm = tylua_vm_find(w, lua_tostring(L, 2), NULL)) && vm->lab == lab) {
		owner = (int *)&vm->lab;
	} else if ((br = tylua_bridge_find(w, lua_tostring(L, 2), NULL))) {
		owner = (int *)&br->lab;
	}
	if (owner && *owner == (int)lab && up >= 0)
		*owner = up;
	return 0;
}

/* lab.<name>: methods, config values, then VMs, bridges and sub-labs by name. */
/*
 * provium.timer_spin_us: how long before each delay deadline the switch polls
 * instead of sleeping (impair/timer); set it with spin >= 0, read it with -1.
 */
static int lab_timer_spin(lua_State *L, lua_Integer spin)
{
	json_t *r = tylua_call(L, "impair/timer",
			       spin >= 0 ? json_pack("{s:I}", "spin_us", (json_int_t)spin) : NULL,
			       "provium.timer_spin_us");

	lua_pushinteger(L, (lua_Integer)json_integer_value(json_object_get(r, "spin_us")));
	json_decref(r);
	return 1;
}

static int lab_index(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);
	const char *key = lua_tostring(L, 2);
	uint32_t lab, slot;
	void *obj;

	if (luaL_getmetafield(L, 1, "methods") && lua_type(L, 2) == LUA_TSTRING &&
	    lua_getfield(L, -1, key) != LUA_TNIL)
		return 1;
	check_lab(L, 1, "lab", &lab);
	if (!key)
		return 0;
	if (strcmp(key, "pack") == 0 || strcmp(key, "unpack") == 0) {
		lua_getglobal(L, "string");
		lua_getfield(L, -1, key);
		return 1;
	}
	if (strcmp(key, "timeout") == 0) {
		if (w->file_timeout_s < 0)
			return 0;
		lua_pushnumber(L, w->file_timeout_s);
		return 1;
	}
	if (strcmp(key, "timer_spin_us") == 0)
		return lab_timer_spin(L, -1);
	obj = tylua_vm_find(w, key, &slot);
	if (obj && tylua_lab_within(w, lab, ((struct tylua_vm *)obj)->lab)) {
		tylua_vm_push(L, slot);
		return 1;
	}
	obj = tylua_bridge_find(w, key, &slot);
	if (obj && tylua_lab_within(w, lab, ((struct tylua_bridge *)obj)->lab)) {
		tylua_bridge_push(L, slot);
		return 1;
	}
	for (uint32_t i = 0; i < w->slots[TYLUA_K_LAB].cap; i++) {
		struct tylua_lab *sub = w->slots[TYLUA_K_LAB].obj[i];

		if (sub && sub->parent == (int)lab && strcmp(sub->name, key) == 0) {
			tylua_lab_push(L, i);
			return 1;
		}
	}
	return 0;
}

static int lab_newindex(lua_State *L)
{
	struct tylua_world *w = tylua_world(L);
	const char *key = luaL_checkstring(L, 2);

	check_lab(L, 1, "lab", NULL);
	if (strcmp(key, "timeout") == 0) {
		w->file_timeout_s = lua_isnil(L, 3) ? -1 : tylua_duration(L, 3, 0);
		return 0;
	}
	if (strcmp(key, "reset_between_tests") == 0)
		return 0; /* each test already runs in a fresh scope of its own */
	if (strcmp(key, "timer_spin_us") == 0) {
		lua_Integer spin = luaL_checkinteger(L, 3);

		if (spin < 0 || spin > CTL_IMPAIR_SPIN_MAX_US)
			return luaL_error(L,
					  "provium.timer_spin_us: expected 0 to %d microseconds, "
					  "got %d",
					  CTL_IMPAIR_SPIN_MAX_US, (int)spin);
		lab_timer_spin(L, spin);
		return 0;
	}
	return luaL_error(L,
			  "cannot set `provium.%s`: not a recognised file-scope config key. "
			  "Known keys: reset_between_tests, timeout, timer_spin_us",
			  key);
}

static int lab_tostring(lua_State *L)
{
	struct tylua_handle *h = luaL_checkudata(L, 1, TYLUA_LAB);
	struct tylua_lab *lab = tylua_slot_get(tylua_world(L), TYLUA_K_LAB, h->slot);

	lua_pushfstring(L, "lab(%s)", lab ? lab->name : "closed");
	return 1;
}

void tylua_lab_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"bridge", lab_bridge},
		{"vm", lab_vm},
		{"lab", lab_lab},
		{"boot", lab_boot},
		{"shutdown", lab_shutdown},
		{"name", lab_name},
		{"bridge_names", lab_bridge_names},
		{"members", lab_members},
		{"include", lab_include},
		{"remove", lab_remove},
		{"snapshot", tylua_lab_snapshot},
		{"restore", tylua_lab_restore},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__index", lab_index},
		{"__newindex", lab_newindex},
		{"__tostring", lab_tostring},
		{"__eq", tylua_handle_eq},
		{NULL, NULL},
	};

	tylua_new_type(L, TYLUA_LAB, methods, meta);
}
