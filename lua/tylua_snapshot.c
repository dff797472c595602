/* SPDX-License-Identifier: MIT */
/*
 * tylua_snapshot: Provium's snapshots (section 2.5) for namespace guests:
 * lab:snapshot([dir]) / provium:snapshot([dir]), lab:restore(dir | snapshot),
 * vm:snapshot([path]) / vm:restore(path | snapshot), and the Snapshot
 * userdata (path(), size(), delete()).
 *
 * A snapshot refuses while a capture stream of what it covers is open, with
 * Provium's message and a line per stream (a closed stream no longer counts).
 * DIR/lab.json holds the lab's VMs and, per bridge, Provium's fields
 * (members, latency_ms, drop_rate_pct, bandwidth_bps, uplink_enabled,
 * routes, isolated, partitions on any names, directional_partitions and
 * directional_impairments, fully_partitioned) plus tapyard's own: the
 * subnet, NICs left disconnected, and every impairment knob (seed included)
 * of the bridge and of each pair. A namespace guest has no memory to save:
 * restoring rebuilds the lab through the Lab and Bridge methods and boots
 * again the guests that were booted.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tylua_impl.h"

#define TYLUA_SNAPSHOT "tapyard.snapshot"

struct tylua_snap {
	bool lab; /* a lab's directory, or a vm's file */
	char path[4096];
};

/* ---- the open-stream guard ---- */

/* Does stream st belong to what is snapshot: lab (vm NULL), or a bridge of vm? */
static bool tylua_snap_covers(struct tylua_world *w, struct tylua_stream *st, uint32_t lab,
			      struct tylua_vm *vm)
{
	struct tylua_bridge *br = tylua_bridge_find(w, st->bridge, NULL);

	if (vm)
		return json_object_get(vm->bridges, st->bridge) != NULL;
	return tylua_lab_within(w, st->lab, lab) || (br && tylua_lab_within(w, br->lab, lab));
}

/* Raise Provium's error when streams are open; who: "lab" or the vm's name. */
static void tylua_snap_guard(lua_State *L, uint32_t lab, struct tylua_vm *vm, const char *what)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_slots *s = &w->slots[TYLUA_K_STREAM];
	luaL_Buffer b;
	int n = 0;

	luaL_buffinit(L, &b);
	for (uint32_t i = 0; i < s->cap; i++) {
		struct tylua_stream *st = s->obj[i];

		if (!st || st->closed || !tylua_snap_covers(w, st, lab, vm))
			continue;
		n++;
		lua_pushfstring(L, "\n  - capture(%s %s) opened at %s:%d",
				st->nic ? "nic" : "bridge", st->bridge, st->site_file,
				st->site_line);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	if (n)
		luaL_error(L,
			   "restore vm `%s` failed: %s: %d stream(s) still open%s\n  Close streams "
			   "before snapshotting.",
			   vm ? vm->name : "lab", what, n, lua_tostring(L, -1));
	lua_pop(L, 1);
}

/* ---- lab.json ---- */

/* The keys of obj as a sorted JSON array (keys "a\tb" as [a, b] pairs when pairs). */
static json_t *tylua_snap_keys(json_t *obj, bool pairs)
{
	json_t *arr = json_array(), *v;
	const char *k;

	json_object_foreach(obj, k, v) {
		size_t tab = strcspn(k, "\t");

		if (pairs)
			json_array_append_new(
				arr, json_pack("[s%, s]", k, tab, k + tab + (k[tab] != 0)));
		else
			json_array_append_new(arr, json_string(k));
	}
	return arr;
}

/* A knob as Provium's integer field (0 when unset). */
static json_int_t tylua_snap_knob(json_t *knobs, const char *knob)
{
	return (json_int_t)json_number_value(json_object_get(knobs, knob));
}

/* directional_impairments and tapyard's pair_knobs of a bridge. */
static void tylua_snap_pairs(struct tylua_bridge *br, json_t *out)
{
	json_t *dir = json_array(), *all = json_array(), *knobs;
	const char *k;

	json_object_foreach(br->pairs, k, knobs) {
		size_t tab = strcspn(k, "\t");
		json_t *p = json_pack("{s:s%, s:s}", "from", k, tab, "to", k + tab + 1);

		json_array_append_new(
			dir, json_pack("{s:O, s:O, s:I, s:I, s:I}", "from",
				       json_object_get(p, "from"), "to", json_object_get(p, "to"),
				       "latency_ms", tylua_snap_knob(knobs, "delay_ms"),
				       "drop_rate_pct", tylua_snap_knob(knobs, "loss"),
				       "bandwidth_bps", tylua_snap_knob(knobs, "rate_bps")));
		json_object_set(p, "knobs", knobs);
		json_array_append_new(all, p);
	}
	json_object_set_new(out, "directional_impairments", dir);
	json_object_set_new(out, "pair_knobs", all);
}

static json_t *tylua_snap_bridge(struct tylua_bridge *br)
{
	json_t *out, *down = json_array(), *m;
	const char *name;

	json_object_foreach(br->members, name, m) {
		if (json_is_true(json_object_get(m, "down")))
			json_array_append_new(down, json_string(name));
	}
	out = json_pack("{s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:b, s:o, s:o, s:o, s:o, s:b, s:O}",
			"name", br->name, "subnet", br->subnet, "members",
			tylua_snap_keys(br->members, false), "down", down, "latency_ms",
			tylua_snap_knob(br->knobs, "delay_ms"), "drop_rate_pct",
			tylua_snap_knob(br->knobs, "loss"), "bandwidth_bps",
			tylua_snap_knob(br->knobs, "rate_bps"), "uplink_enabled", 0, "routes",
			tylua_snap_keys(br->routes, false), "isolated",
			tylua_snap_keys(br->isolated, false), "partitions",
			tylua_snap_keys(br->parts, true), "directional_partitions",
			tylua_snap_keys(br->dparts, true), "fully_partitioned", br->all_cut,
			"knobs", br->knobs);
	tylua_snap_pairs(br, out);
	return out;
}

static json_t *tylua_snap_vm(struct tylua_vm *vm)
{
	return json_pack("{s:s, s:s, s:b, s:i, s:i, s:s, s:o}", "name", vm->name, "profile",
			 vm->profile, "ipv6", vm->ipv6, "memory_mb", (int)vm->memory_mb, "cpus",
			 (int)vm->cpus, "state", tylua_vm_state_name(vm->state), "bridges",
			 tylua_snap_keys(vm->bridges, false));
}

/* The lab.json of lab slot (its own objects and its sub-labs'). */
static json_t *tylua_snap_lab(struct tylua_world *w, uint32_t lab)
{
	json_t *vms = json_array(), *bridges = json_array();
	struct tylua_slots *s = &w->slots[TYLUA_K_VM];

	for (uint32_t i = 0; i < s->cap; i++) {
		if (s->obj[i] && tylua_lab_within(w, ((struct tylua_vm *)s->obj[i])->lab, lab))
			json_array_append_new(vms, tylua_snap_vm(s->obj[i]));
	}
	s = &w->slots[TYLUA_K_BRIDGE];
	for (uint32_t i = 0; i < s->cap; i++) {
		if (s->obj[i] && tylua_lab_within(w, ((struct tylua_bridge *)s->obj[i])->lab, lab))
			json_array_append_new(bridges, tylua_snap_bridge(s->obj[i]));
	}
	return json_pack("{s:i, s:s, s:s, s:o, s:o}", "version", 1, "guests", "namespace",
			 "tapyard", TAPYARD_VERSION, "vms", vms, "bridges", bridges);
}

/* ---- the Snapshot userdata ---- */

static void tylua_snap_push(lua_State *L, bool lab, const char *path)
{
	struct tylua_snap *sn = lua_newuserdatauv(L, sizeof(*sn), 0);

	sn->lab = lab;
	snprintf(sn->path, sizeof(sn->path), "%s", path);
	luaL_setmetatable(L, TYLUA_SNAPSHOT);
}

/* The path a restore argument names: a string or a Snapshot. */
static const char *tylua_snap_arg(lua_State *L, int idx, const char *what)
{
	struct tylua_snap *sn = luaL_testudata(L, idx, TYLUA_SNAPSHOT);

	if (sn)
		return sn->path;
	if (lua_type(L, idx) == LUA_TSTRING)
		return lua_tostring(L, idx);
	luaL_error(L, "%s: expected snapshot|string, got %s", what, luaL_typename(L, idx));
	return NULL;
}

static int snap_path(lua_State *L)
{
	lua_pushstring(L, ((struct tylua_snap *)luaL_checkudata(L, 1, TYLUA_SNAPSHOT))->path);
	return 1;
}

/* Total bytes of the files of a snapshot. */
static int snap_size(lua_State *L)
{
	struct tylua_snap *sn = luaL_checkudata(L, 1, TYLUA_SNAPSHOT);
	char file[4096 + 260];
	struct dirent *e;
	struct stat st;
	lua_Integer total = 0;
	DIR *d = sn->lab ? opendir(sn->path) : NULL;

	if (!sn->lab && stat(sn->path, &st) == 0)
		total = st.st_size;
	while (d && (e = readdir(d))) {
		snprintf(file, sizeof(file), "%s/%s", sn->path, e->d_name);
		if (e->d_name[0] != '.' && stat(file, &st) == 0 && S_ISREG(st.st_mode))
			total += st.st_size;
	}
	if (d)
		closedir(d);
	lua_pushinteger(L, total);
	return 1;
}

/* Remove the QEMU guests' states (NAME.qemu) of a lab snapshot's directory. */
static void tylua_snap_unlink_qemu(const char *dir)
{
	char file[4200];
	struct dirent *d;
	DIR *dp = opendir(dir);
	size_t n;

	while (dp && (d = readdir(dp))) {
		n = strlen(d->d_name);
		if (n <= 5 || strcmp(d->d_name + n - 5, ".qemu") != 0)
			continue;
		snprintf(file, sizeof(file), "%s/%s", dir, d->d_name);
		unlink(file);
	}
	if (dp)
		closedir(dp);
}

static int snap_delete(lua_State *L)
{
	struct tylua_snap *sn = luaL_checkudata(L, 1, TYLUA_SNAPSHOT);
	char file[4200];

	if (sn->lab) {
		snprintf(file, sizeof(file), "%s/lab.json", sn->path);
		unlink(file);
		tylua_snap_unlink_qemu(sn->path);
		if (rmdir(sn->path) && errno != ENOENT)
			return luaL_error(L, "snapshot:delete: %s: %s", sn->path, strerror(errno));
	} else if (unlink(sn->path) && errno != ENOENT) {
		return luaL_error(L, "snapshot:delete: %s: %s", sn->path, strerror(errno));
	}
	snprintf(file, sizeof(file), "%s.qemu", sn->path); /* a QEMU guest's state */
	unlink(file);
	return 0;
}

static int snap_tostring(lua_State *L)
{
	struct tylua_snap *sn = luaL_checkudata(L, 1, TYLUA_SNAPSHOT);

	lua_pushfstring(L, "%s(%s)", sn->lab ? "lab_snapshot" : "snapshot", sn->path);
	return 1;
}

/* ---- lab:snapshot, lab:restore ---- */

/* Write text to path (created or truncated). Raises on failure. */
static void tylua_snap_write(lua_State *L, const char *path, json_t *doc, const char *what)
{
	int err = json_dump_file(doc, path, JSON_INDENT(2) | JSON_SORT_KEYS);

	json_decref(doc);
	if (err)
		luaL_error(L, "%s: cannot write %s: %s", what, path, strerror(errno));
}

/* Save each booted QEMU guest of lab as DIR/NAME.qemu, noted in its entry of vms. */
static void tylua_snap_save_qemu(lua_State *L, uint32_t lab, const char *dir, json_t *vms)
{
	struct tylua_world *w = tylua_world(L);
	struct tylua_slots *s = &w->slots[TYLUA_K_VM];
	char base[4200];
	json_t *entry, *saved;
	size_t j;

	for (uint32_t i = 0; i < s->cap; i++) {
		struct tylua_vm *vm = s->obj[i];

		if (!vm || !tylua_lab_within(w, vm->lab, lab))
			continue;
		snprintf(base, sizeof(base), "%s/%s", dir, vm->name);
		saved = tylua_vm_save(L, vm, base);
		json_array_foreach(vms, j, entry) {
			if (saved && strcmp(json_string_value(json_object_get(entry, "name")),
					    vm->name) == 0)
				json_object_set(entry, "qemu", saved);
		}
		json_decref(saved);
	}
}

int tylua_lab_snapshot(lua_State *L)
{
	struct tylua_handle *h = luaL_checkudata(L, 1, TYLUA_LAB);
	const char *dir = luaL_optstring(L, 2, NULL);
	char tmp[] = "/tmp/tapyard-snapshot-XXXXXX", path[4200];
	json_t *doc, **box;

	tylua_check_handle(L, 1, TYLUA_K_LAB, TYLUA_LAB, "lab:snapshot", NULL);
	tylua_snap_guard(L, h->slot, NULL, "lab:snapshot");
	if (!dir && !mkdtemp(tmp))
		return luaL_error(L, "lab:snapshot: cannot make a directory: %s", strerror(errno));
	if (dir && mkdir(dir, 0755) && errno != EEXIST)
		return luaL_error(L, "lab:snapshot: %s: %s", dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/lab.json", dir ? dir : tmp);
	doc = tylua_snap_lab(tylua_world(L), h->slot);
	box = tylua_json_box(L, doc);
	tylua_snap_save_qemu(L, h->slot, dir ? dir : tmp, json_object_get(doc, "vms"));
	tylua_snap_write(L, path, tylua_json_take(L, box), "lab:snapshot");
	if (dir)
		lua_pushstring(L, dir);
	else
		tylua_snap_push(L, true, tmp);
	return 1;
}

/*
 * Rebuild a lab from lab.json (decoded) with the public methods, so that a
 * restore is exactly what a test doing the same calls would get.
 */
static const char tylua_restore_lua[] =
	"local lab, snap, resume = ...\n"
	"local vms = {}\n"
	"for _, v in ipairs(snap.vms or {}) do\n"
	"  local function size(n) return (n or 0) > 0 and n or nil end\n"
	"  vms[v.name] = lab:vm(v.name, v.profile ~= '' and v.profile or nil,\n"
	"                       {ipv6 = v.ipv6, memory = size(v.memory_mb), cpus = size(v.cpus)})\n"
	"end\n"
	"for _, b in ipairs(snap.bridges or {}) do\n"
	"  local br = lab:bridge(b.name, {subnet = b.subnet ~= '' and b.subnet or nil})\n"
	"  for _, m in ipairs(b.members) do br:attach(vms[m] or m) end\n"
	"  for _, m in ipairs(b.down or {}) do br:nic(m):disconnect() end\n"
	"  for _, r in ipairs(b.routes or {}) do br:route(r) end\n"
	"  for _, p in ipairs(b.partitions or {}) do br:partition(p[1], p[2]) end\n"
	"  for _, p in ipairs(b.directional_partitions or {}) do\n"
	"    br:partition({from = p[1], to = p[2]})\n"
	"  end\n"
	"  for _, m in ipairs(b.isolated or {}) do br:isolate(m) end\n"
	"  if b.fully_partitioned then br:partition_all() end\n"
	"  if b.knobs and next(b.knobs) then\n"
	"    local k = {mode = 'replace'}\n"
	"    for key, v in pairs(b.knobs) do k[key] = v end\n"
	"    br:impair(k)\n"
	"  end\n"
	"  for _, p in ipairs(b.pair_knobs or {}) do\n"
	"    local k = {from = p.from, to = p.to, mode = 'replace'}\n"
	"    for key, v in pairs(p.knobs) do k[key] = v end\n"
	"    br:impair(k)\n"
	"  end\n"
	"end\n"
	"for _, v in ipairs(snap.vms or {}) do\n"
	"  if v.qemu then resume(vms[v.name], v.qemu)\n"
	"  elseif v.state == 'booted' then vms[v.name]:boot() end\n"
	"end\n";

/* Push the decoded JSON file at path. */
static void tylua_snap_read(lua_State *L, const char *path, const char *what)
{
	json_error_t jerr;
	json_t *doc = json_load_file(path, 0, &jerr);
	json_t **box;

	if (!doc)
		luaL_error(L, "%s: %s: %s", what, path, jerr.text);
	box = tylua_json_box(L, doc);
	tylua_push_json(L, doc);
	json_decref(tylua_json_take(L, box));
	lua_remove(L, -2); /* the emptied box */
}

/* resume(vm, saved): a QEMU guest of a lab snapshot resumed where it was. */
static int tylua_snap_resume(lua_State *L)
{
	struct tylua_vm *vm = tylua_check_handle(L, 1, TYLUA_K_VM, TYLUA_VM, "lab:restore", NULL);
	json_t **box = tylua_json_box(L, tylua_to_json(L, 2));

	tylua_vm_resume(L, vm, *box, "lab:restore");
	json_decref(tylua_json_take(L, box));
	return 0;
}

int tylua_lab_restore(lua_State *L)
{
	const char *dir;
	char path[4200];

	tylua_check_handle(L, 1, TYLUA_K_LAB, TYLUA_LAB, "lab:restore", NULL);
	dir = tylua_snap_arg(L, 2, "lab:restore");
	snprintf(path, sizeof(path), "%s/lab.json", dir);
	if (luaL_loadbuffer(L, tylua_restore_lua, sizeof(tylua_restore_lua) - 1, "=lab:restore"))
		return lua_error(L);
	lua_pushvalue(L, 1);
	tylua_snap_read(L, path, "lab:restore");
	lua_pushcfunction(L, tylua_snap_resume);
	lua_call(L, 3, 0);
	lua_settop(L, 1);
	return 1;
}

/* ---- vm:snapshot, vm:restore ---- */

int tylua_vm_snapshot(lua_State *L)
{
	struct tylua_vm *vm = tylua_check_handle(L, 1, TYLUA_K_VM, TYLUA_VM, "vm:snapshot", NULL);
	char tmp[] = "/tmp/tapyard-vm-snapshot-XXXXXX";
	const char *path = luaL_optstring(L, 2, NULL);
	json_t *doc, *saved;
	int fd;

	tylua_snap_guard(L, 0, vm, "vm:snapshot");
	if (!path) {
		fd = mkstemp(tmp);
		if (fd < 0)
			return luaL_error(L, "vm:snapshot: %s", strerror(errno));
		close(fd);
		path = tmp;
	}
	doc = tylua_snap_vm(vm);
	saved = tylua_vm_save(L, vm, path); /* a QEMU guest's memory and devices */
	if (saved)
		json_object_set_new(doc, "qemu", saved);
	tylua_snap_write(L, path, doc, "vm:snapshot");
	tylua_snap_push(L, false, path);
	return 1;
}

/* vm:restore: a namespace guest has no memory state; a booted one is booted afresh. */
int tylua_vm_restore(lua_State *L)
{
	struct tylua_vm *vm = tylua_check_handle(L, 1, TYLUA_K_VM, TYLUA_VM, "vm:restore", NULL);
	const char *path = tylua_snap_arg(L, 2, "vm:restore");
	json_t *saved, **box;
	const char *state;

	tylua_snap_read(L, path, "vm:restore");
	lua_getfield(L, -1, "name");
	if (!lua_isstring(L, -1) || strcmp(lua_tostring(L, -1), vm->name) != 0)
		return luaL_error(L, "vm:restore: %s is a snapshot of vm `%s`, not `%s`", path,
				  lua_tostring(L, -1) ? lua_tostring(L, -1) : "?", vm->name);
	if (lua_getfield(L, -2, "qemu") == LUA_TTABLE) { /* resume it where it was */
		saved = tylua_to_json(L, lua_gettop(L));
		box = tylua_json_box(L, saved);
		tylua_vm_resume(L, vm, saved, "vm:restore");
		json_decref(tylua_json_take(L, box));
		return 0;
	}
	lua_getfield(L, -3, "state");
	state = lua_tostring(L, -1);
	tylua_vm_shutdown(L, vm);
	if (state && strcmp(state, "booted") == 0)
		tylua_vm_boot(L, vm, "vm:restore");
	return 0;
}

void tylua_snapshot_open(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"path", snap_path},
		{"size", snap_size},
		{"delete", snap_delete},
		{NULL, NULL},
	};
	static const luaL_Reg meta[] = {
		{"__tostring", snap_tostring},
		{NULL, NULL},
	};

	tylua_new_type(L, TYLUA_SNAPSHOT, methods, meta);
}
