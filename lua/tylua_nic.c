/* SPDX-License-Identifier: MIT */
/*
 * tylua_nic: the NIC userdata, the binding of a VM and a bridge (Provium's
 * Nic page). It holds the bridge's handle and the VM's name. counters() and
 * capture() use the VM's port on the bridge; disconnect()/reconnect() drive
 * the link (guest/link: the guest sees carrier go and come back), or only
 * record the state when the NIC was made from a bare name.
 */
#include <stdio.h>
#include <string.h>

#include "tylua_impl.h"

struct tylua_nic {
	struct tylua_handle bridge;
	char vm[TYLUA_NAME_MAX];
	bool with_vm; /* made from a VM userdata: link changes reach the guest */
};

/* The NIC at idx and its bridge (raises when the bridge was closed). */
static struct tylua_nic *check_nic(lua_State *L, int idx, const char *what,
				   struct tylua_bridge **br)
{
	struct tylua_nic *nic = luaL_checkudata(L, idx, TYLUA_NIC);

	*br = tylua_handle_obj(L, &nic->bridge, TYLUA_K_BRIDGE, what, "the bridge of this NIC");
	return nic;
}

void tylua_nic_push(lua_State *L, uint32_t bridge_slot, const char *vm, bool with_vm)
{
	struct tylua_nic *nic = lua_newuserdatauv(L, sizeof(*nic), 0);

	nic->bridge.slot = bridge_slot;
	nic->bridge.gen = tylua_world(L)->slots[TYLUA_K_BRIDGE].gen[bridge_slot];
	snprintf(nic->vm, sizeof(nic->vm), "%s", vm);
	nic->with_vm = with_vm;
	luaL_setmetatable(L, TYLUA_NIC);
}

/* The VM's port on the bridge, or NULL when it has none (not booted). */
static const char *tylua_nic_port(lua_State *L, struct tylua_nic *nic, struct tylua_bridge *br)
{
	struct tylua_vm *vm = tylua_vm_find(tylua_world(L), nic->vm, NULL);

	return vm ? tylua_vm_port(vm, br->name) : NULL;
}

/* counters(): the guest's view; Provium's five fields, then every counter of the switch. */
static int nic_counters(lua_State *L)
{
	static const char *const five[] = {"rx_bytes", "tx_bytes", "rx_packets", "tx_packets",
					   "errors"};
	struct tylua_bridge *br;
	struct tylua_nic *nic = check_nic(L, 1, "nic:counters", &br);
	const char *port = tylua_nic_port(L, nic, br);
	json_t *res, *c = NULL, *v;
	const char *key;

	lua_createtable(L, 0, 24);
	for (size_t i = 0; i < sizeof(five) / sizeof(five[0]); i++) {
		lua_pushinteger(L, 0);
		lua_setfield(L, -2, five[i]);
	}
	if (!port) {
		/* Before boot: every counter there will be, at 0. */
		size_t i;

		res = tylua_call(L, "counters/names", NULL, "nic:counters");
		json_array_foreach(res, i, v) {
			lua_pushinteger(L, 0);
			lua_setfield(L, -2, json_string_value(v));
		}
		json_decref(res);
		return 1;
	}
	res = tylua_call(L, "counters/get", json_pack("{s:s}", "port", port), "nic:counters");
	c = json_object_get(json_array_get(json_object_get(res, "ports"), 0), "counters");
	json_object_foreach(c, key, v) {
		lua_pushinteger(L, (lua_Integer)json_integer_value(v));
		lua_setfield(L, -2, key);
	}
	lua_pushinteger(L, (lua_Integer)(json_integer_value(json_object_get(c, "rx_errors")) +
					 json_integer_value(json_object_get(c, "tx_errors"))));
	lua_setfield(L, -2, "errors");
	json_decref(res);
	return 1;
}

static int nic_capture(lua_State *L)
{
	struct tylua_bridge *br;
	struct tylua_nic *nic = check_nic(L, 1, "nic:capture", &br);
	const char *port = tylua_nic_port(L, nic, br);

	if (!port)
		return luaL_error(L,
				  "nic:capture: vm `%s` has no TAP on bridge `%s` (not booted?). "
				  "Call lab:boot() / vm:boot() first.",
				  nic->vm, br->name);
	lua_settop(L, 2); /* the filter stays at 2 */
	tylua_stream_start(L, json_pack("{s:s}", "port", port), 2, br->name, true, "nic:capture");
	return 1;
}

static int tylua_nic_link(lua_State *L, bool up)
{
	const char *what = up ? "nic:reconnect" : "nic:disconnect";
	struct tylua_bridge *br;
	struct tylua_nic *nic = check_nic(L, 1, what, &br);
	json_t *member = json_object_get(br->members, nic->vm), *res;

	if (member)
		json_object_set_new(member, "down", json_boolean(!up));
	if (!nic->with_vm || !tylua_nic_port(L, nic, br))
		return 0; /* graph state only, or applied when the VM boots */
	res = tylua_call(
		L, "guest/link",
		json_pack("{s:s, s:s, s:b}", "guest", nic->vm, "bridge", br->name, "up", up), what);
	json_decref(res);
	return 0;
}

static int nic_disconnect(lua_State *L)
{
	return tylua_nic_link(L, false);
}

static int nic_reconnect(lua_State *L)
{
	return tylua_nic_link(L, true);
}

static int nic_vm_name(lua_State *L)
{
	struct tylua_bridge *br;

	lua_pushstring(L, check_nic(L, 1, "nic:vm_name", &br)->vm);
	return 1;
}

static int nic_bridge(lua_State *L)
{
	struct tylua_bridge *br;

	check_nic(L, 1, "nic:bridge", &br);
	lua_pushstring(L, br->name);
	return 1;
}

/* nic:port(): the host-side port (TAP) name, or nil before boot. */
static int nic_port(lua_State *L)
{
	struct tylua_bridge *br;
	struct tylua_nic *nic = check_nic(L, 1, "nic:port", &br);
	const char *port = tylua_nic_port(L, nic, br);

	if (!port)
		return 0;
	lua_pushstring(L, port);
	return 1;
}

static int nic_tostring(lua_State *L)
{
	struct tylua_nic *nic = luaL_checkudata(L, 1, TYLUA_NIC);
	struct tylua_bridge *br = tylua_slot_get(tylua_world(L), TYLUA_K_BRIDGE, nic->bridge.slot);

	lua_pushfstring(L, "nic(%s-%s)", nic->vm, br ? br->name : "closed");
	return 1;
}

static int nic_eq(lua_State *L)
{
	struct tylua_nic *a = luaL_checkudata(L, 1, TYLUA_NIC),
			 *b = luaL_checkudata(L, 2, TYLUA_NIC);

	lua_pushboolean(L, a->bridge.slot == b->bridge.slot && a->bridge.gen == b->bridge.gen &&
				   strcmp(a->vm, b->vm) == 0);
	return 1;
}

void tylua_nic_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"counters", nic_counters},
		{"capture", nic_capture},
		{"disconnect", nic_disconnect},
		{"reconnect", nic_reconnect},
		{"vm_name", nic_vm_name},
		{"bridge", nic_bridge},
		{"port", nic_port},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__tostring", nic_tostring},
		{"__eq", nic_eq},
		{NULL, NULL},
	};

	tylua_new_type(L, TYLUA_NIC, methods, meta);
}
