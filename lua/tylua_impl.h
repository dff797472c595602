/* SPDX-License-Identifier: MIT */
/*
 * tylua_impl: what the Lua binding files share (internal to lua/).
 *
 * One world per Lua state: a switch (dp) and its dispatcher (ctl), and the
 * objects a script made: labs, bridges, VMs and capture streams, kept in
 * slot tables with generations. Userdata hold handles (slot + generation),
 * never pointers, so a handle whose object was closed (at the end of its
 * test or lab) raises a clear error instead of touching freed memory.
 *
 * Every operation on the lab goes through the control vocabulary
 * (tylua_call()); what Provium keeps as graph state (members, partitions
 * and impairments declared before anything is booted) is kept here and
 * realised with the same commands when the ports appear.
 */
#ifndef TAPYARD_TYLUA_IMPL_H
#define TAPYARD_TYLUA_IMPL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <lauxlib.h>
#include <lua.h>

#include "ctl.h"

/* The metatable of the skip sentinel that t:skip() and todo() raise (tylua_test.c). */
#define TYLUA_SKIP_MT "tapyard.Skip"

#define TYLUA_NAME_MAX 64

/* Metatable names, one per userdata type. */
#define TYLUA_LAB "tapyard.lab"
#define TYLUA_BRIDGE "tapyard.bridge"
#define TYLUA_VM "tapyard.vm"
#define TYLUA_NIC "tapyard.nic"
#define TYLUA_STREAM "tapyard.stream"
#define TYLUA_RESULT "tapyard.result"
#define TYLUA_TEST "tapyard.test"
#define TYLUA_PROC "tapyard.proc"

enum tylua_kind {
	TYLUA_K_LAB,
	TYLUA_K_BRIDGE,
	TYLUA_K_VM,
	TYLUA_K_STREAM,
	TYLUA_K_PROC,
	TYLUA_K_COUNT
};

/* What a userdata holds: which slot, and which generation of it. */
struct tylua_handle {
	uint32_t slot;
	uint32_t gen;
};

/* A table of objects of one kind; a slot's generation grows when it is freed. */
struct tylua_slots {
	void **obj;
	uint32_t *gen;
	uint32_t cap;
};

enum tylua_vm_state {
	TYLUA_VM_DEFINED,
	TYLUA_VM_BOOTED,
	TYLUA_VM_STOPPED,
	TYLUA_VM_BOOTING,
	TYLUA_VM_FAILED
};

/* A VM state's name as vm:state() says it ("defined", "booting", "booted", ...). */
const char *tylua_vm_state_name(enum tylua_vm_state state);

struct tylua_lab {
	char name[TYLUA_NAME_MAX];
	int parent; /* slot of the parent lab, -1 for the root */
	bool test_scope; /* the lab of one test() body */
};

struct tylua_bridge {
	char name[TYLUA_NAME_MAX];
	uint32_t lab;
	char subnet[32]; /* opts.subnet, or "" for the default */
	json_t *members; /* name -> {"down": bool} */
	json_t *parts; /* "a\tb" (sorted) -> true: two-way cuts */
	json_t *dparts; /* "from\tto" -> true: one-way cuts */
	json_t *isolated; /* name -> true */
	json_t *routes; /* name -> true (graph state only) */
	json_t *knobs; /* whole-bridge impairment knobs */
	json_t *pairs; /* "from\tto" -> knobs */
	json_t *applied; /* "from\tto" -> the impair/set args last sent for that pair */
	bool all_cut; /* partition_all() */
};

struct tylua_vm {
	char name[TYLUA_NAME_MAX];
	uint32_t lab;
	char profile[TYLUA_NAME_MAX];
	enum tylua_vm_state state;
	bool ipv6;
	unsigned int memory_mb, cpus; /* provium:vm's opts for a QEMU guest (0: the profile's) */
	uint32_t cid; /* vm:cid(): given at its first boot (from 3 up, as vsock CIDs), 0 before */
	json_t *bridges; /* bridge name -> port name ("" until booted) */
	bool qemu; /* its profile made it a QEMU guest (at its last boot) */
	char *why; /* TYLUA_VM_FAILED: the reason */
};

/*
 * tylua_vm_sizes() - read memory ("2G", "512M" or MiB as a number) and cpus
 * from the opts table at index opts into vm; a bad value raises, naming what.
 */
void tylua_vm_sizes(lua_State *L, int opts, struct tylua_vm *vm, const char *what);

/* tylua_vm_sizes_json() - vm's memory and cpus, those that are set, into guest/add's args. */
void tylua_vm_sizes_json(const struct tylua_vm *vm, json_t *args);

struct tylua_stream {
	uint32_t lab;
	int64_t id; /* capture id */
	char bridge[TYLUA_NAME_MAX];
	bool nic; /* a NIC capture (both directions) rather than a bridge capture */
	bool dir_filtered; /* started with a dir filter: every frame kept is one to show */
	bool stopped, closed;
	int64_t cursor; /* capture/read cursor */
	int frames_ref; /* registry ref: array of decoded frames */
	int pending_ref; /* registry ref: pcap bytes not yet returned (string), or LUA_NOREF */
	int emitted; /* frames already turned into pcap bytes */
	bool header_sent;
	int match_pos; /* frames before this index are done for wait_for */
	int64_t dropped;
	char site_file[256];
	int site_line;
};

/* Per Lua state. */
struct tylua_world {
	struct dp *dp;
	struct ctl *ctl;
	struct tylua_slots slots[TYLUA_K_COUNT];
	uint32_t root; /* the file's lab */
	uint32_t scope; /* the lab new objects go to (root, or the running test's) */
	uint64_t deadline_ns; /* of the running test; 0: none */
	double timeout_s; /* the running test's timeout, for messages */
	double file_timeout_s; /* provium.timeout; <0: not set */
	bool verbose;
	int impair_ok, capture_ok; /* -1 unknown, 0 absent, 1 present */
	json_t *warned; /* profile names already logged */
	int log_ref; /* registry ref of the running test's log table, or LUA_NOREF */
	struct tylua_watchdog *watchdog; /* the runner's, or NULL (tylua_watchdog.h) */
	uint32_t cids; /* CIDs given so far */
};

/* ---- tylua.c: world, state, calls, durations ---- */

/* The world of L. */
struct tylua_world *tylua_world(lua_State *L);

/*
 * tylua_call() - run a command of the control vocabulary.
 * @args: stolen (NULL means {})
 * @what: the Lua method for error messages ("bridge:attach")
 * Return: the result (a new reference); raises "<what>: <message>" on error.
 */
json_t *tylua_call(lua_State *L, const char *cmd, json_t *args, const char *what);

/* Like tylua_call() but returns NULL and the reply (new ref) in *reply instead of raising. */
json_t *tylua_try(lua_State *L, const char *cmd, json_t *args, json_t **reply);

/* The error code ("ENOSYS") of a failed reply, or "" for an ok one. */
const char *tylua_reply_code(json_t *reply);

/* Raise "<what>: <message of reply>" (frees reply). */
int tylua_raise_reply(lua_State *L, json_t *reply, const char *what);

/*
 * tylua_require() - raise a clear error when a command family is missing
 * ("impair", "capture"): "<what>: impairments are not available in this build".
 */
void tylua_require(lua_State *L, const char *family, const char *what);

/* Whether a command family is available (probed once). */
bool tylua_has(lua_State *L, const char *family);

/*
 * tylua_duration() - a duration argument: a number of seconds or "500ms",
 * "5s", "2m", "1h". Raises Provium's duration errors. nil gives def.
 */
double tylua_duration(lua_State *L, int idx, double def);

/*
 * tylua_parse_duration() - parse without raising.
 * Return: 0, 1 (bad type), 2 (cannot parse), 3 (bad unit: *unit_at set), 4 (negative/NaN/inf).
 */
int tylua_parse_duration(lua_State *L, int idx, double *out, const char **unit_at);

/*
 * tylua_format_duration() - secs as Provium (Rust's Duration Debug) writes
 * durations: "1s", "1.5s", "500ms", "250\u00b5s". Returns buf.
 */
const char *tylua_format_duration(double secs, char *buf, size_t size);

/* Milliseconds left before the running test's deadline (UINT64_MAX: none); raises when past. */
uint64_t tylua_remaining_ms(lua_State *L);

/* Raise the timeout or interrupt error if the deadline passed or Ctrl-C came. */
void tylua_check_deadline(lua_State *L);

/* tylua_deadline_clear() - the test is over: no deadline, deadline checks at their usual pace. */
void tylua_deadline_clear(lua_State *L);

/* Sleep up to ms, in slices, raising on deadline or interrupt. */
void tylua_sleep(lua_State *L, double ms);

/* A slot table: allocate, find, free. */
uint32_t tylua_slot_alloc(lua_State *L, enum tylua_kind kind, void *obj);
void *tylua_slot_get(struct tylua_world *w, enum tylua_kind kind, uint32_t slot);
void tylua_slot_free(struct tylua_world *w, enum tylua_kind kind, uint32_t slot);

/* Push a new userdata of metatable mt holding the handle of slot. */
void tylua_push_handle(lua_State *L, enum tylua_kind kind, uint32_t slot, const char *mt);

/*
 * tylua_check_handle() - the object behind the handle userdata at idx, or a
 * raised error naming what ("bridge:attach") when the object was closed.
 */
void *tylua_check_handle(lua_State *L, int idx, enum tylua_kind kind, const char *mt,
			 const char *what, uint32_t *slot);

/*
 * tylua_handle_obj() - the object a handle names, or a raised error
 * "WHAT: NOUN was closed (...)" when it was closed: for a handle held inside
 * another userdata (a NIC's bridge).
 */
void *tylua_handle_obj(lua_State *L, const struct tylua_handle *h, enum tylua_kind kind,
		       const char *what, const char *noun);

/* __eq for handle types: both handles name the same object. */
int tylua_handle_eq(lua_State *L);

/* Build a type's metatable from methods and metamethods (one function for all types). */
void tylua_new_type(lua_State *L, const char *mt, const luaL_Reg *methods, const luaL_Reg *meta);

/*
 * tylua_log_at() - a line for the running test's log, printed on stderr with
 * -v, or always when it is a warning. tylua_log() and tylua_warn() say which.
 */
void tylua_log_at(lua_State *L, bool warn, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define tylua_log(L, ...) tylua_log_at(L, false, __VA_ARGS__)
#define tylua_warn(L, ...) tylua_log_at(L, true, __VA_ARGS__)

/* The name of a VM argument (VM userdata or string); raises Provium's error otherwise. */
const char *tylua_vm_arg(lua_State *L, int idx, const char *what);

/* ---- per type ---- */

void tylua_lab_open(lua_State *L);
void tylua_bridge_open(lua_State *L);
void tylua_vm_open(lua_State *L);
void tylua_nic_open(lua_State *L);
void tylua_stream_open(lua_State *L);
void tylua_result_open(lua_State *L);
void tylua_test_open(lua_State *L);
void tylua_json_open(lua_State *L);
void tylua_proc_open(lua_State *L);
void tylua_snapshot_open(lua_State *L);

/* tylua_snapshot.c: the snapshot methods of Lab and Vm (lab:snapshot(), vm:restore()...). */
int tylua_lab_snapshot(lua_State *L);
int tylua_lab_restore(lua_State *L);
int tylua_vm_snapshot(lua_State *L);
int tylua_vm_restore(lua_State *L);

/* tylua_lab.c: make a lab (parent -1 for the root) and push it; close one and its contents. */
uint32_t tylua_lab_new(lua_State *L, int parent, const char *name, bool test_scope);
void tylua_lab_push(lua_State *L, uint32_t slot);
void tylua_lab_close(lua_State *L, uint32_t slot);
/* Is lab anc the lab slot or one of its ancestors? */
bool tylua_lab_within(struct tylua_world *w, uint32_t slot, uint32_t anc);

/* tylua_bridge.c */
struct tylua_bridge *tylua_bridge_find(struct tylua_world *w, const char *name, uint32_t *slot);
void tylua_bridge_push(lua_State *L, uint32_t slot);
/* Make the dataplane match the bridge's graph state (partitions, pair impairments). */
void tylua_bridge_sync(lua_State *L, struct tylua_bridge *br, const char *what);
/* Delete the bridge (its VMs' NICs first) and free its slot. */
void tylua_bridge_close(lua_State *L, uint32_t slot);
/* Create bridge name in lab scope (raises on bad or used names); returns its slot. */
uint32_t tylua_bridge_new(lua_State *L, uint32_t lab, const char *name, const char *subnet);

/* tylua_vm.c */
struct tylua_vm *tylua_vm_find(struct tylua_world *w, const char *name, uint32_t *slot);
void tylua_vm_push(lua_State *L, uint32_t slot);
/* Plug the booted vm into bridge br (guest/attach), honouring a recorded link-down. */
void tylua_vm_plug(lua_State *L, struct tylua_vm *vm, struct tylua_bridge *br, const char *what);
/* Unplug vm from bridge br (guest/detach) if plugged; forget the attachment when forget. */
void tylua_vm_unplug(lua_State *L, struct tylua_vm *vm, const char *bridge, bool forget);
void tylua_vm_boot(lua_State *L, struct tylua_vm *vm, const char *what);

/* A booted QEMU VM's state saved beside path (path.qemu): guest/save's result, else NULL. */
json_t *tylua_vm_save(lua_State *L, struct tylua_vm *vm, const char *path);

/* The VM (shut down first) resumed from what tylua_vm_save() returned. */
void tylua_vm_resume(lua_State *L, struct tylua_vm *vm, json_t *saved, const char *what);

/* Log the console's last lines of every booted QEMU guest (a failed test's report). */
void tylua_vm_console_report(lua_State *L);

/* The first half of a boot: the guest made (a QEMU guest launched, not waited for). */
void tylua_vm_launch(lua_State *L, struct tylua_vm *vm, const char *what);

/* The second half: wait until the guest is up, then plug it into its bridges. */
void tylua_vm_ready(lua_State *L, struct tylua_vm *vm, const char *what);

/* ---- tylua_profile.c ---- */

/*
 * tylua_profile_map() - where the run-wide mapping spec ("a=qemu,*=namespace")
 * sends profile: 2 with out set by a named entry (it wins over "*"), 1 by
 * "*", 0 when none maps it, -1 when spec is malformed.
 */
int tylua_profile_map(const char *spec, const char *profile, char *out, size_t size);

/*
 * tylua_profile_apply() - the guest/add args of a VM of profile (after
 * $TAPYARD_PROFILE's mapping): kind, kernel, initrd, memory, cpus into args.
 * Return: whether it is a QEMU guest.
 */
bool tylua_profile_apply(lua_State *L, const char *profile, const char *vm, json_t *args);

/* Make the registry's profile table and tapyard.profile(). */
void tylua_profile_open(lua_State *L);
void tylua_vm_shutdown(lua_State *L, struct tylua_vm *vm);
void tylua_vm_close(lua_State *L, uint32_t slot);
/* The host-side port of vm on bridge, or NULL when not booted/attached. */
const char *tylua_vm_port(struct tylua_vm *vm, const char *bridge);

/* tylua_nic.c: push a NIC for (bridge, vm name); with_vm when given a VM userdata. */
void tylua_nic_push(lua_State *L, uint32_t bridge_slot, const char *vm, bool with_vm);

/* tylua_stream.c: start a capture and push its stream; close one. */
/*
 * tylua_stream_start() - start a capture of target (capture/start args, stolen)
 * with the filter table at stack index filter (0 or nil: none), push its stream.
 */
void tylua_stream_start(lua_State *L, json_t *target, int filter, const char *bridge, bool nic,
			const char *what);
/* How many streams of bridge are still open (not closed). */
int tylua_stream_live(lua_State *L, const char *bridge);
void tylua_stream_close(lua_State *L, uint32_t slot);

/*
 * tylua_proc.c: start a background process (proc/start args, stolen) and push
 * its Process; kill and release one; the lab that owns one (UINT32_MAX: none).
 */
void tylua_proc_start(lua_State *L, json_t *args);
void tylua_proc_close(lua_State *L, uint32_t slot);
uint32_t tylua_proc_lab(struct tylua_world *w, uint32_t slot);

/* tylua_test.c: the tests a file registered, and running one of them. */
enum tylua_status { TYLUA_PASS, TYLUA_FAIL, TYLUA_SKIP };

struct tylua_outcome {
	enum tylua_status status;
	char *message; /* failure (with traceback) or skip reason; malloc'ed, may be NULL */
	char *log; /* t:log lines; malloc'ed */
	double secs;
};

size_t tylua_test_count(lua_State *L);
/* Push field ("name", "meta", "fn") of test i (1-based). */
void tylua_test_field(lua_State *L, size_t i, const char *field);
const char *tylua_test_name(lua_State *L, size_t i); /* 1-based */
/* The file's todo() reason, or NULL. */
const char *tylua_test_todo(lua_State *L);
/* Run test i with default timeout (seconds, 0: none) in its own scope; fill out. */
void tylua_test_run(lua_State *L, size_t i, double timeout, struct tylua_outcome *out);

/* A test the runner ran (or skipped), for the reports. */
struct tylua_case {
	char *name;
	struct tylua_outcome o;
};

/* tylua_select.c: which tests the runner's --tag, --no-tag and --include-slow let run. */
#define TYLUA_SELECT_MAX 16

struct tylua_select {
	const char *tags[TYLUA_SELECT_MAX]; /* --tag: run tests with one of these (none: all) */
	const char *no_tags[TYLUA_SELECT_MAX]; /* --no-tag: never tests with one of these */
	size_t ntags, nno_tags;
	bool include_slow; /* --include-slow: meta.slow tests run too */
};

/*
 * tylua_select_why() - why test i (1-based) does not run under sel.
 * Return: NULL when it runs, else the skip reason ("filtered: ..."), malloc'ed.
 */
char *tylua_select_why(lua_State *L, size_t i, const struct tylua_select *sel);

/*
 * tylua_report_json() - write one file's outcome as one line of JSON:
 * {"path", "timeout", "passed", "chunk_error", "tests": [{"name", "status",
 * "message", "log"}]}, status being "passed", "failed" or "skipped".
 */
void tylua_report_json(FILE *out, const char *path, const char *chunk_error,
		       const struct tylua_case *cases, size_t n);

/* tylua_result.c: push a RunResult built from a guest/run result. */
void tylua_result_push(lua_State *L, json_t *res);

/*
 * tylua_json_box() - push a box that owns v: if an error unwinds past it,
 * the collector frees v. tylua_json_take() gives v back, and pops the box
 * when it is on top (else it stays, empty, until the function returns).
 */
json_t **tylua_json_box(lua_State *L, json_t *v);
json_t *tylua_json_take(lua_State *L, json_t **box);

/* tylua_json.c: Lua value at idx to JSON (new ref; raises on what cannot be encoded), and back. */
json_t *tylua_to_json(lua_State *L, int idx);
void tylua_push_json(lua_State *L, json_t *v);

#endif
