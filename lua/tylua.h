/* SPDX-License-Identifier: MIT */
/*
 * tylua: the Lua 5.4 API (Provium's network API on namespace guests) and the
 * `tapyard test`, `tapyard run` and `tapyard lsp-setup` subcommands.
 */
#ifndef TAPYARD_TYLUA_H
#define TAPYARD_TYLUA_H

#include <stdbool.h>

#include <lua.h>

struct tylua_world;

/* The Lua version tapyard embeds, e.g. "Lua 5.4". */
const char *tylua_version(void);

/*
 * tylua_state_new() - a Lua state with the whole API loaded and its own
 * switch and dispatcher (a fresh lab).
 * @verbose: print logs (t:log, tapyard's info messages) as they come
 * Return: 0 with *out set, or a negative errno (the switch could not start).
 */
int tylua_state_new(bool verbose, lua_State **out);

/* Tear down everything the state's scripts made, stop its switch, close it. NULL is a no-op. */
void tylua_state_close(lua_State *L);

/*
 * tylua_pcall() - lua_pcall with a traceback message handler; on error the
 * message (with traceback) is left on the stack as a string (non-string
 * errors, such as the skip sentinel, are left as they are).
 */
int tylua_pcall(lua_State *L, int nargs, int nresults);

/* `tapyard test [options] FILE|DIR ...`; returns the exit code. */
int tylua_test_main(int argc, char **argv);

/* `tapyard run FILE [ARGS...]`; returns the exit code. */
int tylua_run_main(int argc, char **argv);

/* `tapyard lsp-setup [DIR]`: write LuaLS type stubs; returns the exit code. */
int tylua_lsp_main(int argc, char **argv);

#endif
