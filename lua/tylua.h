/* SPDX-License-Identifier: MIT */
/* tylua: the Lua 5.4 API (not yet built: the Lua issue adds it). */
#ifndef TAPYARD_TYLUA_H
#define TAPYARD_TYLUA_H

/* The Lua version tapyard embeds, e.g. "Lua 5.4". */
const char *tylua_version(void);

#endif
