/* SPDX-License-Identifier: MIT */
/*
 * tylua_vm: the VM userdata. A VM is a namespace guest (guest/... commands):
 * boot() makes the guest and plugs it into every bridge it was attached to,
 * in bridge-name order; attaching a booted VM plugs it at once (hot attach);
 * run() executes inside the guest. "defined" -> boot() -> "booted" ->
 * shutdown() -> "stopped" (and boot() again).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tylua_impl.h"

#define check_vm(L, i, what, slot) \
	((struct tylua_vm *)tylua_check_handle(L, i, TYLUA_K_VM, TYLUA_VM, what, slot))

const char *tylua_vm_state_name(enum tylua_vm_state state)
{
	static const char *const names[] = {"defined", "booted", "stopped", "booting", "failed"};

	return (size_t)state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

struct tylua_vm *tylua_vm_find(struct tylua_world *w, const char *name, uint32_t *slot)
{
	struct tylua_slots *s = &w->slots[TYLUA_K_VM];

	for (uint32_t i = 0; i < s->cap; i++) {
		struct tylua_vm *vm = s->obj[i];

		if (vm && strcmp(vm->name, name) == 0) {
			if (slot)
				*slot = i;
			return vm;
		}
	}
	return NULL;
}

void tylua_vm_push(lua_State *L, uint32_t slot)
{
	tylua_push_handle(L, TYLUA_K_VM, slot, TYLUA_VM);
}

const char *tylua_vm_port(struct tylua_vm *vm, const char *bridge)
{
	const char *port = json_string_value(json_object_get(vm->bridges, bridge));

	return port && *port ? port : NULL;
}

void tylua_vm_plug(lua_State *L, struct tylua_vm *vm, struct tylua_bridge *br, const char *what)
{
	json_t *args = json_pack("{s:s, s:s}", "guest", vm->name, "bridge", br->name);
	json_t *res, *member;

	if (br->subnet[0])
		json_object_set_new(args, "subnet", json_string(br->subnet));
	res = tylua_call(L, "guest/attach", args, what);
	json_object_set(vm->bridges, br->name, json_object_get(res, "port"));
	json_decref(res);
	member = json_object_get(br->members, vm->name);
	if (json_is_true(json_object_get(member, "down"))) {
		res = tylua_call(L, "guest/link",
				 json_pack("{s:s, s:s, s:b}", "guest", vm->name, "bridge", br->name,
					   "up", 0),
				 what);
		json_decref(res);
	}
}

void tylua_vm_unplug(lua_State *L, struct tylua_vm *vm, const char *bridge, bool forget)
{
	json_t *reply, *res;

	if (tylua_vm_port(vm, bridge)) {
		res = tylua_try(L, "guest/detach",
				json_pack("{s:s, s:s}", "guest", vm->name, "bridge", bridge),
				&reply);
		json_decref(res);
		json_decref(reply);
		json_object_set_new(vm->bridges, bridge, json_string(""));
	}
	if (forget)
		json_object_del(vm->bridges, bridge);
}

/* Push the VM's bridge names, sorted, as an array. */
static void tylua_vm_bridges(lua_State *L, struct tylua_vm *vm)
{
	const char *name;
	json_t *v;
	lua_Integer i = 0;

	lua_getglobal(L, "table");
	lua_getfield(L, -1, "sort");
	lua_createtable(L, (int)json_object_size(vm->bridges), 0);
	json_object_foreach(vm->bridges, name, v) {
		lua_pushstring(L, name);
		lua_rawseti(L, -2, ++i);
	}
	lua_pushvalue(L, -1);
	lua_insert(L, -4);
	lua_call(L, 1, 0);
	lua_pop(L, 1);
}

/* A failed boot: the state says why, then the error is raised. */
static void tylua_vm_failed(lua_State *L, struct tylua_vm *vm, json_t *reply, const char *what)
{
	const char *msg =
		json_string_value(json_object_get(json_object_get(reply, "error"), "message"));

	vm->state = TYLUA_VM_FAILED;
	free(vm->why);
	vm->why = strdup(msg ? msg : "unknown");
	tylua_raise_reply(L, reply, what);
}

/* A memory size in MiB: a number of MiB, or a string such as "512M", "2G", "512MiB", "2GiB". */
static bool tylua_vm_mib(lua_State *L, int idx, lua_Integer *mib)
{
	unsigned long long n;
	const char *s;
	char *end;

	if (lua_isinteger(L, idx)) {
		*mib = lua_tointeger(L, idx);
		return true;
	}
	if (lua_type(L, idx) != LUA_TSTRING)
		return false;
	s = lua_tostring(L, idx);
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno || n > (1ull << 30))
		return false;
	if (!*end || !strcasecmp(end, "M") || !strcasecmp(end, "MiB"))
		*mib = (lua_Integer)n;
	else if (!strcasecmp(end, "G") || !strcasecmp(end, "GiB"))
		*mib = (lua_Integer)(n * 1024);
	else
		return false;
	return true;
}

void tylua_vm_sizes(lua_State *L, int opts, struct tylua_vm *vm, const char *what)
{
	lua_Integer v = 0;

	if (lua_getfield(L, opts, "memory") != LUA_TNIL) {
		if (!tylua_vm_mib(L, -1, &v) || v < 64 || v > 65536)
			luaL_error(L, "%s: memory `%s`: expected 64 MiB to 64 GiB, as \"512M\", \"2G\" "
				   "or a number of MiB", what, luaL_tolstring(L, -1, NULL));
		vm->memory_mb = (unsigned int)v;
	}
	lua_pop(L, 1);
	if (lua_getfield(L, opts, "cpus") != LUA_TNIL) {
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > 64)
			luaL_error(L, "%s: cpus `%s`: expected an integer from 1 to 64", what,
				   luaL_tolstring(L, -1, NULL));
		vm->cpus = (unsigned int)lua_tointeger(L, -1);
	}
	lua_pop(L, 1);
}

void tylua_vm_sizes_json(const struct tylua_vm *vm, json_t *args)
{
	if (vm->memory_mb)
		json_object_set_new(args, "memory", json_integer(vm->memory_mb));
	if (vm->cpus)
		json_object_set_new(args, "cpus", json_integer(vm->cpus));
}

void tylua_vm_launch(lua_State *L, struct tylua_vm *vm, const char *what)
{
	json_t *args, **box, *res, *reply = NULL;

	if (vm->state == TYLUA_VM_BOOTED || vm->state == TYLUA_VM_BOOTING)
		return;
	args = json_pack("{s:s, s:b, s:b}", "name", vm->name, "ipv6", vm->ipv6, "wait", 0);
	box = tylua_json_box(L, args); /* a bad profile raises: nothing leaks */
	vm->qemu = tylua_profile_apply(L, vm->profile, vm->name, args);
	if (vm->qemu)
		tylua_vm_sizes_json(vm, args); /* provium:vm's sizes win over the profile's */
	res = tylua_try(L, "guest/add", tylua_json_take(L, box), &reply);
	if (!res)
		tylua_vm_failed(L, vm, reply, what);
	json_decref(res);
	json_decref(reply);
	vm->state = TYLUA_VM_BOOTING;
}

/* Plug the VM into every bridge it was attached to, in bridge-name order. */
static void tylua_vm_plug_all(lua_State *L, struct tylua_vm *vm, const char *what)
{
	struct tylua_world *w = tylua_world(L);
	int top = lua_gettop(L);

	tylua_vm_bridges(L, vm);
	for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
		const char *name = lua_tostring(L, -1);
		struct tylua_bridge *br = tylua_bridge_find(w, name, NULL);

		if (br) {
			tylua_vm_plug(L, vm, br, what);
			tylua_bridge_sync(L, br, what);
		} else {
			json_object_del(vm->bridges, name); /* the bridge was closed */
		}
		lua_pop(L, 1);
	}
	lua_settop(L, top);
}

void tylua_vm_ready(lua_State *L, struct tylua_vm *vm, const char *what)
{
	struct tylua_world *w = tylua_world(L);
	json_t *res, *reply = NULL;

	if (vm->state != TYLUA_VM_BOOTING)
		return;
	res = tylua_try(L, "guest/wait", json_pack("{s:s}", "name", vm->name), &reply);
	if (!res)
		tylua_vm_failed(L, vm, reply, what);
	json_decref(res);
	json_decref(reply);
	vm->state = TYLUA_VM_BOOTED;
	if (!vm->cid)
		vm->cid = 3 + w->cids++;
	tylua_vm_plug_all(L, vm, what);
	tylua_log(L, "vm %s booted (%s guest)", vm->name, vm->qemu ? "QEMU" : "namespace");
}

void tylua_vm_boot(lua_State *L, struct tylua_vm *vm, const char *what)
{
	if (vm->state == TYLUA_VM_BOOTED)
		return;
	tylua_vm_launch(L, vm, what);
	tylua_vm_ready(L, vm, what);
}

void tylua_vm_shutdown(lua_State *L, struct tylua_vm *vm)
{
	struct tylua_world *w = tylua_world(L);
	const char *name;
	json_t *v, *reply, *res;

	if (vm->state != TYLUA_VM_BOOTED && vm->state != TYLUA_VM_BOOTING)
		return;
	res = tylua_try(L, "guest/del", json_pack("{s:s}", "name", vm->name), &reply);
	json_decref(res);
	json_decref(reply);
	vm->state = TYLUA_VM_STOPPED;
	json_object_foreach(vm->bridges, name, v) {
		struct tylua_bridge *br = tylua_bridge_find(w, name, NULL);

		json_object_set_new(vm->bridges, name, json_string(""));
		if (br)
			tylua_bridge_sync(L, br, "vm:shutdown");
	}
}

void tylua_vm_close(lua_State *L, uint32_t slot)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_vm *vm = tylua_slot_get(w, TYLUA_K_VM, slot);
	struct tylua_slots *s = &w->slots[TYLUA_K_BRIDGE];

	if (!vm)
		return;
	tylua_vm_shutdown(L, vm);
	/* A bridge that outlives the VM forgets it as a member. */
	for (uint32_t i = 0; i < s->cap; i++) {
		if (s->obj[i])
			json_object_del(((struct tylua_bridge *)s->obj[i])->members, vm->name);
	}
	json_decref(vm->bridges);
	free(vm->why);
	free(vm);
	tylua_slot_free(w, TYLUA_K_VM, slot);
}

json_t *tylua_vm_save(lua_State *L, struct tylua_vm *vm, const char *path)
{
	char file[4096];

	if (!vm->qemu || vm->state != TYLUA_VM_BOOTED)
		return NULL;
	snprintf(file, sizeof(file), "%s.qemu", path);
	return tylua_call(L, "guest/save", json_pack("{s:s, s:s}", "name", vm->name, "path", file),
			  "vm:snapshot");
}

void tylua_vm_resume(lua_State *L, struct tylua_vm *vm, json_t *saved, const char *what)
{
	struct tylua_world *w = tylua_world(L);
	json_t *args = json_deep_copy(saved), *res, *nic;
	size_t i;

	tylua_vm_shutdown(L, vm);
	json_object_set_new(args, "name", json_string(vm->name));
	res = tylua_call(L, "guest/restore", args, what);
	vm->state = TYLUA_VM_BOOTED;
	vm->qemu = true;
	json_array_foreach(json_object_get(res, "nics"), i, nic) {
		const char *bridge = json_string_value(json_object_get(nic, "bridge"));
		struct tylua_bridge *br = tylua_bridge_find(w, bridge, NULL);

		json_object_set(vm->bridges, bridge, json_object_get(nic, "port"));
		if (br)
			tylua_bridge_sync(L, br, what);
	}
	json_decref(res);
	tylua_log(L, "vm %s resumed from its saved state (QEMU guest)", vm->name);
}

void tylua_vm_console_report(lua_State *L)
{
	struct tylua_slots *s = &tylua_world(L)->slots[TYLUA_K_VM];
	json_t *res, *reply;

	for (uint32_t i = 0; i < s->cap; i++) {
		struct tylua_vm *vm = s->obj[i];

		if (!vm || !vm->qemu || vm->state != TYLUA_VM_BOOTED)
			continue;
		reply = NULL;
		res = tylua_try(L, "guest/console",
				json_pack("{s:s, s:i}", "name", vm->name, "lines", 10), &reply);
		if (res)
			tylua_log(L, "vm %s console (%s), last lines:\n%s", vm->name,
				  json_string_value(json_object_get(res, "path")),
				  json_string_value(json_object_get(res, "text")));
		json_decref(res);
		json_decref(reply);
	}
}

/* ---- methods ---- */

/* vm:console([lines]): the last lines of a QEMU guest's console (default 20). */
static int vm_console(lua_State *L)
{
	struct tylua_vm *vm = check_vm(L, 1, "vm:console", NULL);
	lua_Integer lines = luaL_optinteger(L, 2, 20);
	json_t *res;

	if (vm->state != TYLUA_VM_BOOTED || !vm->qemu)
		return luaL_error(L, "vm:console: vm `%s` is no booted QEMU guest (state: %s)",
				  vm->name, tylua_vm_state_name(vm->state));
	res = tylua_call(L, "guest/console",
			 json_pack("{s:s, s:I}", "name", vm->name, "lines", (json_int_t)lines),
			 "vm:console");
	lua_pushstring(L, json_string_value(json_object_get(res, "text")));
	json_decref(res);
	return 1;
}

static int vm_boot(lua_State *L)
{
	tylua_vm_boot(L, check_vm(L, 1, "vm:boot", NULL), "vm:boot");
	lua_settop(L, 1);
	return 1;
}

static int vm_shutdown(lua_State *L)
{
	tylua_vm_shutdown(L, check_vm(L, 1, "vm:shutdown", NULL));
	return 0;
}

/* vm:state(): "defined", "booting", "booted", "stopped" or "failed" (then the reason too). */
static int vm_state(lua_State *L)
{
	struct tylua_vm *vm = check_vm(L, 1, "vm:state", NULL);

	lua_pushstring(L, tylua_vm_state_name(vm->state));
	if (vm->state != TYLUA_VM_FAILED)
		return 1;
	lua_pushstring(L, vm->why ? vm->why : "unknown");
	return 2;
}

static int vm_name(lua_State *L)
{
	lua_pushstring(L, check_vm(L, 1, "vm:name", NULL)->name);
	return 1;
}

/* The argv array of vm:run(cmd, {"a1", "a2"}) or opts.args: {cmd, args...}. */
static json_t *tylua_run_argv(lua_State *L, const char *cmd, int t)
{
	json_t *argv = json_pack("[s]", cmd);

	for (lua_Integer i = 1; lua_geti(L, t, i) != LUA_TNIL; i++) {
		if (!lua_isstring(L, -1)) {
			json_decref(argv);
			luaL_error(L, "vm:run: args[%d] must be a string", (int)i);
		}
		json_array_append_new(argv, json_string(lua_tostring(L, -1)));
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return argv;
}

/* opts.env as a JSON object of strings. */
static json_t *tylua_run_env(lua_State *L, int t)
{
	json_t *env = json_object();

	lua_pushnil(L);
	while (lua_next(L, t)) {
		if (lua_type(L, -2) != LUA_TSTRING || !lua_isstring(L, -1)) {
			json_decref(env);
			luaL_error(L, "vm:run: env must map names to strings");
		}
		json_object_set_new(env, lua_tostring(L, -2), json_string(lua_tostring(L, -1)));
		lua_pop(L, 1);
	}
	return env;
}

/* Fill the guest/run args from opts at index 3; returns the timeout in ms (0: none). */
static uint64_t tylua_run_opts(lua_State *L, const char *cmd, json_t *args)
{
	uint64_t ms = 0;

	if (lua_isnoneornil(L, 3))
		return 0;
	luaL_checktype(L, 3, LUA_TTABLE);
	if (lua_rawgeti(L, 3, 1) != LUA_TNIL) {
		json_object_del(args, "cmd");
		json_object_set_new(args, "argv", tylua_run_argv(L, cmd, 3));
		return 0;
	}
	if (lua_getfield(L, 3, "args") == LUA_TTABLE) {
		json_object_del(args, "cmd");
		json_object_set_new(args, "argv", tylua_run_argv(L, cmd, lua_gettop(L)));
	}
	if (lua_getfield(L, 3, "env") == LUA_TTABLE)
		json_object_set_new(args, "env", tylua_run_env(L, lua_gettop(L)));
	if (lua_getfield(L, 3, "cwd") == LUA_TSTRING)
		json_object_set_new(args, "cwd", json_string(lua_tostring(L, -1)));
	if (lua_getfield(L, 3, "stdin") == LUA_TSTRING) {
		size_t n;
		const char *in = lua_tolstring(L, -1, &n);

		json_object_set_new(args, "stdin", json_stringn_nocheck(in, n));
	}
	if (lua_getfield(L, 3, "timeout_ms") != LUA_TNIL)
		ms = (uint64_t)luaL_checkinteger(L, -1);
	if (lua_getfield(L, 3, "timeout") != LUA_TNIL)
		ms = (uint64_t)(tylua_duration(L, -1, 0) * 1000);
	return ms;
}

static int vm_run(lua_State *L)
{
	struct tylua_vm *vm = check_vm(L, 1, "vm:run", NULL);
	const char *cmd = luaL_checkstring(L, 2);
	json_t *args, *res, **box;
	uint64_t ms, left;

	if (vm->state != TYLUA_VM_BOOTED)
		return luaL_error(
			L, "vm:run: vm `%s` is not booted (state: %s). Call vm:boot() first.",
			vm->name, tylua_vm_state_name(vm->state));
	lua_settop(L, 3); /* the options stay at 3, whatever is pushed after them */
	args = json_pack("{s:s, s:s}", "guest", vm->name, "cmd", cmd);
	box = tylua_json_box(L, args); /* bad opts or the deadline raise: nothing leaks */
	ms = tylua_run_opts(L, cmd, args);
	left = tylua_remaining_ms(L);
	if (left != UINT64_MAX && (!ms || ms > left))
		ms = left;
	if (ms)
		json_object_set_new(args, "timeout_ms", json_integer((json_int_t)ms));
	res = tylua_call(L, "guest/run", tylua_json_take(L, box), "vm:run");
	box = tylua_json_box(L, res);
	if (json_is_true(json_object_get(res, "interrupted"))) {
		tylua_check_deadline(L);
		return luaL_error(L, "vm:run: interrupted");
	}
	tylua_check_deadline(L); /* the run was cut by the test's deadline */
	tylua_result_push(L, res);
	json_decref(tylua_json_take(L, box)); /* the result stays on top */
	return 1;
}

/* vm:run_async(cmd, [args | opts]): a Process (tylua_proc.c); no timeout, that is proc:wait's. */
static int vm_run_async(lua_State *L)
{
	struct tylua_vm *vm = check_vm(L, 1, "vm:run_async", NULL);
	const char *cmd = luaL_checkstring(L, 2);
	json_t *args, **box;

	if (vm->state != TYLUA_VM_BOOTED)
		return luaL_error(
			L, "vm:run_async: vm `%s` is not booted (state: %s). Call vm:boot() first.",
			vm->name, tylua_vm_state_name(vm->state));
	lua_settop(L, 3);
	if (lua_type(L, 3) == LUA_TTABLE && (lua_getfield(L, 3, "timeout") != LUA_TNIL ||
					     lua_getfield(L, 3, "timeout_ms") != LUA_TNIL))
		return luaL_error(L, "vm:run_async: `timeout` is not honoured here; pass it to "
				     "`proc:wait(timeout)` instead");
	if (lua_type(L, 3) == LUA_TTABLE && lua_getfield(L, 3, "stdin") != LUA_TNIL)
		return luaL_error(L,
				  "vm:run_async: `stdin` is not taken here; write it with "
				  "`proc:stdin_write(data)` and end it with `proc:close_stdin()`");
	lua_settop(L, 3);
	args = json_pack("{s:s, s:s}", "guest", vm->name, "cmd", cmd);
	box = tylua_json_box(L, args);
	tylua_run_opts(L, cmd, args);
	tylua_proc_start(L, tylua_json_take(L, box));
	return 1;
}

/* N of "eth<N>", "ens<N>" or "enp0s<N>", or -1. */
static int tylua_guest_ifname(const char *name)
{
	static const char *const prefixes[] = {"eth", "ens", "enp0s"};

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);

		if (strncmp(name, prefixes[i], n) == 0 && name[n] &&
		    isdigit((unsigned char)name[n]) &&
		    strspn(name + n, "0123456789") == strlen(name + n))
			return atoi(name + n);
	}
	return -1;
}

static int vm_nic(lua_State *L)
{
	struct tylua_vm *vm = check_vm(L, 1, "vm:nic", NULL);
	const char *name = luaL_checkstring(L, 2), *bridge = NULL;
	struct tylua_bridge *br;
	uint32_t slot;
	int n;

	if (json_object_get(vm->bridges, name)) {
		bridge = name;
	} else if ((n = tylua_guest_ifname(name)) >= 0) {
		tylua_vm_bridges(L, vm);
		if (lua_rawgeti(L, -1, n + 1) == LUA_TSTRING)
			bridge = lua_tostring(L, -1);
	}
	br = bridge ? tylua_bridge_find(tylua_world(L), bridge, &slot) : NULL;
	if (!br)
		return luaL_error(
			L,
			"vm:nic: no NIC `%s` on vm `%s` (try a bridge name like `lan` or a "
			"guest iface like `eth0`)",
			name, vm->name);
	tylua_nic_push(L, slot, vm->name, true);
	return 1;
}

/*
 * vm:cid(): Provium's vsock CID. A namespace guest has no vsock; it gets a
 * number of the same kind (3 up, unique in the file) at its first boot, nil before.
 */
static int vm_cid(lua_State *L)
{
	struct tylua_vm *vm = check_vm(L, 1, "vm:cid", NULL);

	if (!vm->cid)
		return 0;
	lua_pushinteger(L, vm->cid);
	return 1;
}

/* vm:ip([bridge]): the guest's IPv4 address on bridge (default: its eth0), or nil. */
static int vm_ip(lua_State *L)
{
	struct tylua_vm *vm = check_vm(L, 1, "vm:ip", NULL);
	const char *bridge = luaL_optstring(L, 2, NULL);
	json_t *list, *g, *nic;
	size_t i, j;

	if (vm->state != TYLUA_VM_BOOTED)
		return 0;
	list = tylua_call(L, "guest/list", NULL, "vm:ip");
	json_array_foreach(list, i, g) {
		if (strcmp(json_string_value(json_object_get(g, "name")), vm->name) != 0)
			continue;
		json_array_foreach(json_object_get(g, "nics"), j, nic) {
			const char *addr = json_string_value(json_object_get(nic, "address"));

			if (bridge &&
			    strcmp(json_string_value(json_object_get(nic, "bridge")), bridge) != 0)
				continue;
			lua_pushlstring(L, addr, strcspn(addr, "/"));
			json_decref(list);
			return 1;
		}
	}
	json_decref(list);
	return 0;
}

static int vm_tostring(lua_State *L)
{
	struct tylua_handle *h = luaL_checkudata(L, 1, TYLUA_VM);
	struct tylua_vm *vm = tylua_slot_get(tylua_world(L), TYLUA_K_VM, h->slot);

	if (!vm || tylua_world(L)->slots[TYLUA_K_VM].gen[h->slot] != h->gen)
		lua_pushstring(L, "vm(closed)");
	else
		lua_pushfstring(L, "vm(%s; %s)", vm->name, tylua_vm_state_name(vm->state));
	return 1;
}

void tylua_vm_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"boot", vm_boot},
		{"shutdown", vm_shutdown},
		{"state", vm_state},
		{"name", vm_name},
		{"run", vm_run},
		{"run_async", vm_run_async},
		{"cid", vm_cid},
		{"snapshot", tylua_vm_snapshot},
		{"restore", tylua_vm_restore},
		{"nic", vm_nic},
		{"ip", vm_ip},
		{"console", vm_console},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__tostring", vm_tostring},
		{"__eq", tylua_handle_eq},
		{NULL, NULL},
	};

	tylua_new_type(L, TYLUA_VM, methods, meta);
}
