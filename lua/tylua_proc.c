/* SPDX-License-Identifier: MIT */
/*
 * tylua_proc: the Process userdata vm:run_async() returns (Provium's
 * section 4.5): a background process in a guest (the proc/ commands). It
 * belongs to the lab that was in scope when it started and is killed and
 * released when that lab closes (the end of its test), before the lab's VMs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tylua_impl.h"

struct tylua_proc {
	uint32_t lab;
	int64_t id; /* the proc/ commands' id */
	int64_t pid;
	char vm[TYLUA_NAME_MAX];
};

#define check_proc(L, i, what) \
	((struct tylua_proc *)tylua_check_handle(L, i, TYLUA_K_PROC, TYLUA_PROC, what, NULL))

/* args with the process's id added (args stolen; NULL means {}). */
static json_t *tylua_proc_args(struct tylua_proc *pr, json_t *args)
{
	if (!args)
		args = json_object();
	json_object_set_new(args, "id", json_integer((json_int_t)pr->id));
	return args;
}

void tylua_proc_start(lua_State *L, json_t *args)
{
	struct tylua_proc *pr;
	json_t *res = tylua_call(L, "proc/start", args, "vm:run_async");

	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		json_decref(res);
		luaL_error(L, "out of memory");
		return;
	}
	pr->lab = tylua_world(L)->scope;
	pr->id = json_integer_value(json_object_get(res, "id"));
	pr->pid = json_integer_value(json_object_get(res, "pid"));
	snprintf(pr->vm, sizeof(pr->vm), "%s", json_string_value(json_object_get(res, "guest")));
	json_decref(res);
	tylua_push_handle(L, TYLUA_K_PROC, tylua_slot_alloc(L, TYLUA_K_PROC, pr), TYLUA_PROC);
}

void tylua_proc_close(lua_State *L, uint32_t slot)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_proc *pr = tylua_slot_get(w, TYLUA_K_PROC, slot);
	json_t *reply, *res;

	if (!pr)
		return;
	res = tylua_try(L, "proc/release", tylua_proc_args(pr, NULL), &reply);
	json_decref(res);
	json_decref(reply);
	free(pr);
	tylua_slot_free(w, TYLUA_K_PROC, slot);
}

uint32_t tylua_proc_lab(struct tylua_world *w, uint32_t slot)
{
	struct tylua_proc *pr = tylua_slot_get(w, TYLUA_K_PROC, slot);

	return pr ? pr->lab : UINT32_MAX;
}

/* ---- methods ---- */

/* proc:wait([timeout]): a RunResult; at the timeout the process is killed (timed_out). */
static int proc_wait(lua_State *L)
{
	struct tylua_proc *pr = check_proc(L, 1, "proc:wait");
	double t = tylua_duration(L, 2, -1);
	uint64_t left = tylua_remaining_ms(L), ms = t < 0 ? UINT64_MAX : (uint64_t)(t * 1000);
	json_t *args = tylua_proc_args(pr, NULL), *res, **box;

	if (t == 0) {
		json_decref(args);
		return luaL_error(L, "proc:wait: timeout=0 would SIGKILL the process immediately. "
				     "Use proc:status() to poll, or pass a small positive timeout "
				     "(e.g. \"100ms\").");
	}
	ms = ms < left ? ms : left;
	if (ms != UINT64_MAX)
		json_object_set_new(args, "timeout_ms", json_integer((json_int_t)ms));
	res = tylua_call(L, "proc/wait", args, "proc:wait");
	box = tylua_json_box(L, res);
	tylua_check_deadline(L); /* the wait was cut by the test's deadline, or Ctrl-C */
	if (json_is_true(json_object_get(res, "interrupted")))
		return luaL_error(L, "proc:wait: interrupted");
	tylua_result_push(L, res);
	json_decref(tylua_json_take(L, box));
	return 1;
}

/* A signal argument: a number, or a name ("term", "kill", "int", "hup", "stop", "cont", ...). */
static int tylua_proc_signum(lua_State *L, int idx, const char *what)
{
	static const struct {
		const char *name;
		int sig;
	} names[] = {{"term", SIGTERM}, {"kill", SIGKILL}, {"int", SIGINT},
		     {"hup", SIGHUP},	{"stop", SIGSTOP}, {"cont", SIGCONT},
		     {"quit", SIGQUIT}, {"usr1", SIGUSR1}, {"usr2", SIGUSR2}};
	const char *s;

	if (lua_isnoneornil(L, idx))
		return SIGTERM;
	if (lua_type(L, idx) == LUA_TNUMBER)
		return (int)luaL_checkinteger(L, idx);
	if (lua_type(L, idx) != LUA_TSTRING)
		return luaL_error(L, "%s: signal must be int or string, got %s", what,
				  luaL_typename(L, idx));
	s = lua_tostring(L, idx);
	if (strncasecmp(s, "sig", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcasecmp(s, names[i].name) == 0)
			return names[i].sig;
	}
	return luaL_error(L, "%s: unknown signal `%s`", what, lua_tostring(L, idx));
}

static int tylua_proc_send(lua_State *L, const char *what)
{
	struct tylua_proc *pr = check_proc(L, 1, what);
	int sig = tylua_proc_signum(L, 2, what);

	json_decref(tylua_call(L, "proc/signal",
			       tylua_proc_args(pr, json_pack("{s:i}", "signal", sig)), what));
	return 0;
}

static int proc_kill(lua_State *L)
{
	return tylua_proc_send(L, "proc:kill");
}

static int proc_signal(lua_State *L)
{
	luaL_checkany(L, 2);
	return tylua_proc_send(L, "proc:signal");
}

/* proc/info of the process at 1 (a new reference). */
static json_t *tylua_proc_info(lua_State *L, const char *what, bool output)
{
	struct tylua_proc *pr = check_proc(L, 1, what);

	return tylua_call(L, "proc/info", tylua_proc_args(pr, json_pack("{s:b}", "output", output)),
			  what);
}

/* proc:status(): "running", or how it ended ("exited", "signalled", "timed_out"). */
static int proc_status(lua_State *L)
{
	json_t *res = tylua_proc_info(L, "proc:status", false);

	lua_pushstring(L, json_string_value(json_object_get(res, "status")));
	json_decref(res);
	return 1;
}

/* proc:output(): what it wrote so far, stdout and stderr (tapyard's). */
static int proc_output(lua_State *L)
{
	json_t *res = tylua_proc_info(L, "proc:output", true);
	json_t *out = json_object_get(res, "stdout"), *err = json_object_get(res, "stderr");

	lua_pushlstring(L, json_string_value(out), json_string_length(out));
	lua_pushlstring(L, json_string_value(err), json_string_length(err));
	json_decref(res);
	return 2;
}

static int proc_pid(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)check_proc(L, 1, "proc:pid")->pid);
	return 1;
}

static int proc_handle(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)check_proc(L, 1, "proc:handle")->id);
	return 1;
}

static int proc_stdin_write(lua_State *L)
{
	struct tylua_proc *pr = check_proc(L, 1, "proc:stdin_write");
	size_t n;
	const char *data = luaL_checklstring(L, 2, &n);
	json_t *res;

	res = tylua_call(
		L, "proc/write",
		tylua_proc_args(pr, json_pack("{s:o}", "data", json_stringn_nocheck(data, n))),
		"proc:stdin_write");
	lua_pushinteger(L, (lua_Integer)json_integer_value(json_object_get(res, "written")));
	json_decref(res);
	return 1;
}

static int proc_close_stdin(lua_State *L)
{
	struct tylua_proc *pr = check_proc(L, 1, "proc:close_stdin");

	json_decref(
		tylua_call(L, "proc/close_stdin", tylua_proc_args(pr, NULL), "proc:close_stdin"));
	return 0;
}

/* proc:close(): kill it if it still runs and let it go. Idempotent. */
static int proc_close(lua_State *L)
{
	struct tylua_handle *h = luaL_checkudata(L, 1, TYLUA_PROC);
	struct tylua_world *w = tylua_world(L);

	if (tylua_slot_get(w, TYLUA_K_PROC, h->slot) &&
	    w->slots[TYLUA_K_PROC].gen[h->slot] == h->gen)
		tylua_proc_close(L, h->slot);
	return 0;
}

static int proc_tostring(lua_State *L)
{
	struct tylua_handle *h = luaL_checkudata(L, 1, TYLUA_PROC);
	struct tylua_world *w = tylua_world(L);
	struct tylua_proc *pr = tylua_slot_get(w, TYLUA_K_PROC, h->slot);

	if (!pr || w->slots[TYLUA_K_PROC].gen[h->slot] != h->gen)
		lua_pushliteral(L, "process(closed)");
	else
		lua_pushfstring(L, "process(%d)", (int)pr->id);
	return 1;
}

void tylua_proc_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"wait", proc_wait},
		{"kill", proc_kill},
		{"signal", proc_signal},
		{"status", proc_status},
		{"output", proc_output},
		{"pid", proc_pid},
		{"handle", proc_handle},
		{"stdin_write", proc_stdin_write},
		{"close_stdin", proc_close_stdin},
		{"close", proc_close},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__tostring", proc_tostring},
		{"__eq", tylua_handle_eq},
		{NULL, NULL},
	};

	tylua_new_type(L, TYLUA_PROC, methods, meta);
}
