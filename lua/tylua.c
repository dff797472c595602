/* SPDX-License-Identifier: MIT */
/* tylua: placeholder for the Lua bindings. */
#include "tylua.h"

#include <lua.h>

const char *tylua_version(void)
{
	return LUA_VERSION;
}
