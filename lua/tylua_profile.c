/* SPDX-License-Identifier: MIT */
/*
 * tylua_profile: what a VM's profile makes of it. Built in: "namespace" (a
 * network-namespace guest, also what an unknown profile gets, said once per
 * name) and "qemu" (a QEMU guest of tapyard's own image); a file adds its own
 * with tapyard.profile(name, {kind = "qemu", kernel, initrd, memory, cpus}).
 * A run-wide mapping, $TAPYARD_PROFILE ("peios=qemu,*=namespace"; `tapyard
 * test --profile` adds to it), sends a profile name to another profile
 * first, so a test file runs on QEMU without an edit; "*" sends every profile
 * the file does not define itself.
 * The profiles a file defines live in the registry table tapyard.profiles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tylua_impl.h"

#define TYLUA_PROFILES "tapyard.profiles"

int tylua_profile_map(const char *spec, const char *profile, char *out, size_t size)
{
	const char *p = spec;
	int found = 0;

	while (p && *p) {
		size_t len = strcspn(p, ", \t"), klen;
		const char *eq = memchr(p, '=', len);

		if (len && !eq)
			return -1;
		if (len) {
			klen = (size_t)(eq - p);
			if (!klen || eq + 1 == p + len)
				return -1;
			if ((klen == strlen(profile) && strncmp(p, profile, klen) == 0) ||
			    (klen == 1 && *p == '*' && !found)) {
				snprintf(out, size, "%.*s", (int)(p + len - eq - 1), eq + 1);
				found = klen == 1 && *p == '*' ? 1 : 2;
			}
		}
		p += len;
		p += strspn(p, ", \t");
	}
	return found; /* a named entry beats "*" whatever their order */
}

/* tapyard.profile(name, {kind, kernel, initrd, memory, cpus}) */
static int tylua_profile_define(lua_State *L)
{
	struct tylua_vm sizes = {0};
	const char *kind;

	luaL_checkstring(L, 1);
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_getfield(L, 2, "kind");
	kind = luaL_optstring(L, -1, "qemu");
	if (strcmp(kind, "qemu") != 0 && strcmp(kind, "namespace") != 0)
		return luaL_error(
			L, "tapyard.profile: kind `%s`: expected \"qemu\" or \"namespace\"", kind);
	lua_pop(L, 1);
	if (lua_getfield(L, 2, "kernel") != LUA_TNIL && lua_getfield(L, 2, "initrd") == LUA_TNIL)
		return luaL_error(L, "tapyard.profile: give kernel and initrd together");
	lua_settop(L, 2);
	tylua_vm_sizes(L, 2, &sizes, "tapyard.profile"); /* memory and cpus as provium:vm's */
	lua_getfield(L, LUA_REGISTRYINDEX, TYLUA_PROFILES);
	lua_pushvalue(L, 1);
	lua_pushvalue(L, 2);
	lua_settable(L, -3);
	return 0;
}

/* Set key of args from string field f of the table at t, when it is there. */
static void tylua_profile_field(lua_State *L, int t, const char *f, json_t *args)
{
	if (lua_getfield(L, t, f) == LUA_TSTRING)
		json_object_set_new(args, f, json_string(lua_tostring(L, -1)));
	lua_pop(L, 1);
}

/* Say once per name that profile runs as a namespace guest. */
static void tylua_profile_unknown(lua_State *L, const char *profile, const char *vm)
{
	struct tylua_world *w = tylua_world(L);

	if (!*profile || json_object_get(w->warned, profile))
		return;
	json_object_set_new(w->warned, profile, json_true());
	tylua_log(L,
		  "profile \"%s\" is not configured: vm \"%s\" (and every vm using it) runs as a "
		  "network-namespace guest (tapyard test --profile %s=qemu boots QEMU)",
		  profile, vm, profile);
}

/* Is profile one the file defined with tapyard.profile()? */
static bool tylua_profile_defined(lua_State *L, const char *profile)
{
	bool defined;

	lua_getfield(L, LUA_REGISTRYINDEX, TYLUA_PROFILES);
	defined = lua_getfield(L, -1, profile) == LUA_TTABLE;
	lua_pop(L, 2);
	return defined;
}

/* The profile $TAPYARD_PROFILE sends profile to: a named entry always, "*" only undefined ones. */
static void tylua_profile_mapped(lua_State *L, const char *profile, char *name, size_t size)
{
	const char *spec = getenv("TAPYARD_PROFILE");
	int m = spec ? tylua_profile_map(spec, profile, name, size) : 0;

	if (m < 0)
		luaL_error(L, "TAPYARD_PROFILE=\"%s\": expected NAME=PROFILE[,NAME=PROFILE...]",
			   spec);
	if (m == 0 || (m == 1 && tylua_profile_defined(L, profile)))
		snprintf(name, size, "%s", profile);
}

bool tylua_profile_apply(lua_State *L, const char *profile, const char *vm, json_t *args)
{
	char name[TYLUA_NAME_MAX];
	bool qemu = false;

	tylua_profile_mapped(L, profile, name, sizeof(name));
	lua_getfield(L, LUA_REGISTRYINDEX, TYLUA_PROFILES);
	if (lua_getfield(L, -1, name) == LUA_TTABLE) {
		lua_getfield(L, -1, "kind");
		qemu = !lua_isstring(L, -1) || strcmp(lua_tostring(L, -1), "qemu") == 0;
		lua_pop(L, 1);
		if (qemu) {
			struct tylua_vm sizes = {0};

			tylua_profile_field(L, lua_gettop(L), "kernel", args);
			tylua_profile_field(L, lua_gettop(L), "initrd", args);
			tylua_vm_sizes(L, lua_gettop(L), &sizes, "tapyard.profile");
			tylua_vm_sizes_json(&sizes, args);
		}
	} else if (strcmp(name, "qemu") == 0) {
		qemu = true;
	} else if (strcmp(name, "namespace") != 0 && strcmp(name, "netns") != 0) {
		tylua_profile_unknown(L, name, vm);
	}
	lua_pop(L, 2);
	if (qemu)
		json_object_set_new(args, "kind", json_string("qemu"));
	return qemu;
}

void tylua_profile_open(lua_State *L)
{
	lua_newtable(L);
	lua_setfield(L, LUA_REGISTRYINDEX, TYLUA_PROFILES);
	lua_getglobal(L, "tapyard");
	lua_pushcfunction(L, tylua_profile_define);
	lua_setfield(L, -2, "profile");
	lua_pop(L, 1);
}
