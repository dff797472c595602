/* SPDX-License-Identifier: MIT */
/*
 * tylua_cli: `tapyard test` (find *.lua files, run each in a fresh Lua
 * state with a fresh switch, report as text, TAP or JUnit) and `tapyard run`
 * (one plain script with the same API). Ctrl-C ends the running test, tears
 * its lab down and stops; a second Ctrl-C exits at once.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "interrupt.h"
#include "clock.h"
#include "ctl_opt.h"
#include "log.h"
#include "tylua.h"
#include "tylua_impl.h"
#include "tylua_watchdog.h"

#define CLI_DEFAULT_TIMEOUT 300.0

struct cli_file {
	char *path;
	struct tylua_case *cases;
	size_t n, cap;
	char *chunk_error;
	double secs;
	int pass, fail, skip;
};

struct cli_opts {
	const char *filter;
	const char *junit;
	bool list, tap, verbose, quiet, json;
	struct tylua_select sel;
	double timeout;
	char **paths;
	size_t npaths, cap;
	int tap_seq;
	struct tylua_watchdog *wd; /* ends a test held in C code */
};

static const char cli_test_usage[] =
	"usage: tapyard test [options] FILE|DIR ...\n"
	"\n"
	"Runs Lua test files (*.lua; directories are searched recursively), each in a fresh\n"
	"Lua state with its own switch and lab, tests in file order.\n"
	"\n"
	"  --filter PATTERN  run only tests whose name contains PATTERN (plain text)\n"
	"  --list            list the tests, run nothing\n"
	"  --junit FILE      also write a JUnit XML report to FILE\n"
	"  --tap             print TAP version 13 instead of the text report\n"
	"  --timeout S       per-test timeout in seconds (default 300; 0: none); a test's\n"
	"                    meta.timeout or the file's provium.timeout take precedence\n"
	"  -v, --verbose     print every test as it ends, with its t:log lines and tapyard's log\n"
	"  -q, --quiet       print failures only (and the summary line)\n"
	"  --json            print one JSON object per file instead of the text report:\n"
	"                    {path, timeout, passed, chunk_error, tests: [{name, status,\n"
	"                    message, log}]}\n"
	"  --tag TAG         run only tests whose meta.tags has TAG (repeatable: any of them)\n"
	"  --no-tag TAG      never run tests whose meta.tags has TAG (repeatable)\n"
	"  --include-slow    run the tests marked meta.slow too (skipped by default)\n"
	"  --profile NAME=PROFILE  VMs of profile NAME (*: every profile) run as PROFILE:\n"
	"                    qemu (a QEMU guest), namespace, or one of tapyard.profile's\n"
	"                    (repeatable; added to $TAPYARD_PROFILE, which says the same)\n"
	"\n"
	"The last line is \"N passed, N failed, N skipped\"; the exit code is 0 when nothing\n"
	"failed, 1 otherwise, 2 for usage errors, 130 after Ctrl-C. Guests need root.\n";

/* ---- files ---- */

static int cli_add_path(struct cli_opts *o, const char *path)
{
	if (o->npaths == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		char **grown = realloc(o->paths, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		o->paths = grown;
		o->cap = cap;
	}
	o->paths[o->npaths] = strdup(path);
	return o->paths[o->npaths++] ? 0 : -ENOMEM;
}

/* Add the *.lua files under dir, sorted, recursively. */
static int cli_scan(struct cli_opts *o, const char *dir)
{
	struct dirent **ents;
	char path[4096];
	struct stat st;
	int n, err = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		size_t len = strlen(name);

		snprintf(path, sizeof(path), "%.*s/%s",
			 (int)(strlen(dir) - (dir[strlen(dir) - 1] == '/')), dir, name);
		if (!err && name[0] != '.' && stat(path, &st) == 0) {
			if (S_ISDIR(st.st_mode))
				err = cli_scan(o, path);
			else if (len > 4 && strcmp(name + len - 4, ".lua") == 0)
				err = cli_add_path(o, path);
		}
		free(ents[i]);
	}
	free(ents);
	return err;
}

/* ---- options ---- */

enum {
	TEST_FILTER = 1,
	TEST_JUNIT,
	TEST_TIMEOUT,
	TEST_LIST,
	TEST_TAP,
	TEST_VERBOSE,
	TEST_HELP,
	TEST_QUIET,
	TEST_JSON,
	TEST_TAG,
	TEST_NO_TAG,
	TEST_SLOW,
	TEST_PROFILE,
};

static const struct ctl_opt cli_test_options[] = {
	{"filter", 0, true, TEST_FILTER, NULL},
	{"junit", 0, true, TEST_JUNIT, NULL},
	{"timeout", 0, true, TEST_TIMEOUT, NULL},
	{"list", 0, false, TEST_LIST, NULL},
	{"tap", 0, false, TEST_TAP, NULL},
	{"verbose", 'v', false, TEST_VERBOSE, NULL},
	{"help", 'h', false, TEST_HELP, NULL},
	{"quiet", 'q', false, TEST_QUIET, NULL},
	{"json", 0, false, TEST_JSON, NULL},
	{"tag", 0, true, TEST_TAG, "TAG"},
	{"no-tag", 0, true, TEST_NO_TAG, "TAG"},
	{"include-slow", 0, false, TEST_SLOW, NULL},
	{"profile", 0, true, TEST_PROFILE, "NAME=PROFILE"},
	{NULL, 0, false, 0, NULL},
};

/* Add a test file, or the *.lua files under a directory. */
static int cli_add_file(struct cli_opts *o, const char *path)
{
	struct stat st;

	if (stat(path, &st)) {
		fprintf(stderr, "tapyard test: %s: %s\n", path, strerror(errno));
		return -ENOENT;
	}
	return S_ISDIR(st.st_mode) ? cli_scan(o, path) : cli_add_path(o, path);
}

/* The repeatable --tag/--no-tag and --include-slow of res into o->sel. Returns -1 or 2. */
static int cli_take_select(struct cli_opts *o, const struct ctl_opt_res *res)
{
	struct tylua_select *sel = &o->sel;

	sel->include_slow = ctl_opt_has(res, TEST_SLOW);
	for (int i = 0; i < res->nhits; i++) {
		bool no = res->hits[i].id == TEST_NO_TAG;
		size_t *n = no ? &sel->nno_tags : &sel->ntags;

		if (res->hits[i].id != TEST_TAG && !no)
			continue;
		if (*n == TYLUA_SELECT_MAX)
			return ctl_opt_usage("test", "test", "at most %d --tag and %d --no-tag",
					     TYLUA_SELECT_MAX, TYLUA_SELECT_MAX);
		(no ? sel->no_tags : sel->tags)[(*n)++] = res->hits[i].value;
	}
	return -1;
}

/* Each --profile NAME=PROFILE, appended to $TAPYARD_PROFILE. Returns -1 or 2. */
static int cli_take_profiles(const struct ctl_opt_res *res)
{
	const char *old;
	char *spec, probe[8];

	for (int i = 0; i < res->nhits; i++) {
		if (res->hits[i].id != TEST_PROFILE)
			continue;
		if (tylua_profile_map(res->hits[i].value, "", probe, sizeof(probe)) < 0)
			return ctl_opt_usage("test", "test", "--profile %s: expected NAME=PROFILE",
					     res->hits[i].value);
		old = getenv("TAPYARD_PROFILE");
		if (asprintf(&spec, "%s%s%s", old ? old : "", old && *old ? "," : "",
			     res->hits[i].value) < 0)
			return 2;
		setenv("TAPYARD_PROFILE", spec, 1);
		free(spec);
	}
	return -1;
}

/* The options and files of res into o. Returns -1 to go on, or an exit code. */
static int cli_take(struct cli_opts *o, const struct ctl_opt_res *res)
{
	const char *timeout = ctl_opt_get(res, TEST_TIMEOUT);

	o->filter = ctl_opt_get(res, TEST_FILTER);
	o->junit = ctl_opt_get(res, TEST_JUNIT);
	o->list = ctl_opt_has(res, TEST_LIST);
	o->tap = ctl_opt_has(res, TEST_TAP);
	o->verbose = ctl_opt_has(res, TEST_VERBOSE);
	o->quiet = ctl_opt_has(res, TEST_QUIET);
	o->json = ctl_opt_has(res, TEST_JSON);
	if (cli_take_select(o, res) >= 0 || cli_take_profiles(res) >= 0)
		return 2;
	o->timeout = CLI_DEFAULT_TIMEOUT;
	if (timeout && ctl_opt_real(timeout, 0, INFINITY, &o->timeout))
		return ctl_opt_usage("test", "test", "--timeout: not a number of seconds: %s",
				     timeout);
	for (int i = 0; i < res->npos; i++) {
		if (cli_add_file(o, res->pos[i]))
			return 2;
	}
	if (!o->npaths) {
		fprintf(stderr, "tapyard test: no test files given\n%s", cli_test_usage);
		return 2;
	}
	return -1;
}

static const struct ctl_opt_cmd cli_test_cmd = {
	.name = "test",
	.opts = cli_test_options,
	.help = TEST_HELP,
	.usage = cli_test_usage,
	.max = -1,
};

/* Parse `tapyard test` options into o. Returns -1 to go on, or an exit code (0 after --help). */
static int cli_parse(int argc, char **argv, struct cli_opts *o)
{
	struct ctl_opt_res res;
	int rc = ctl_opt_main(&cli_test_cmd, argc, argv, &res);

	if (rc < 0)
		rc = cli_take(o, &res);
	ctl_opt_free(&res);
	return rc;
}

/* ---- reporting ---- */

static const char *const cli_status[] = {"PASS", "FAIL", "SKIP"};

/* Print text with every line indented by indent. */
static void cli_indent(FILE *f, const char *text, const char *indent)
{
	while (text && *text) {
		size_t n = strcspn(text, "\n");

		fprintf(f, "%s%.*s\n", indent, (int)n, text);
		text += n + (text[n] == '\n');
	}
}

static void cli_print_case(const struct tylua_case *c, bool verbose)
{
	printf("    %s %s (%.2fs)\n", cli_status[c->o.status], c->name, c->o.secs);
	if (c->o.status != TYLUA_PASS)
		cli_indent(stdout, c->o.message, "        ");
	if (!verbose && c->o.status == TYLUA_FAIL && c->o.log && *c->o.log) {
		printf("        log:\n");
		cli_indent(stdout, c->o.log, "          ");
	}
}

static void cli_tap_case(struct cli_opts *o, const char *path, const struct tylua_case *c)
{
	o->tap_seq++;
	if (c->o.status == TYLUA_SKIP) {
		printf("ok %d - %s: %s # SKIP %s\n", o->tap_seq, path, c->name,
		       c->o.message ? c->o.message : "");
		return;
	}
	printf("%s %d - %s: %s\n", c->o.status == TYLUA_PASS ? "ok" : "not ok", o->tap_seq, path,
	       c->name);
	if (c->o.status == TYLUA_FAIL) {
		printf("  ---\n  message: |\n");
		cli_indent(stdout, c->o.message, "    ");
		printf("  ...\n");
	}
	if (o->verbose)
		cli_indent(stdout, c->o.log, "# ");
}

static void cli_file_line(struct cli_opts *o, const struct cli_file *f)
{
	if (o->json) {
		tylua_report_json(stdout, f->path, f->chunk_error, f->cases, f->n);
		return;
	}
	if (o->quiet && !f->fail)
		return;
	if (o->tap) {
		if (f->chunk_error) {
			printf("not ok %d - %s # file failed to load\n  ---\n  message: |\n",
			       ++o->tap_seq, f->path);
			cli_indent(stdout, f->chunk_error, "    ");
			printf("  ...\n");
		}
		return;
	}
	printf("%s %s (%d passed, %d failed, %d skipped; %.2fs)\n",
	       f->fail	 ? "FAIL"
	       : f->pass ? "PASS"
			 : "SKIP",
	       f->path, f->pass, f->fail, f->skip, f->secs);
	if (f->chunk_error)
		cli_indent(stdout, f->chunk_error, "        ");
	for (size_t i = 0; !o->verbose && i < f->n; i++) {
		if (f->cases[i].o.status == TYLUA_FAIL)
			cli_print_case(&f->cases[i], false);
	}
}

/* Write s with XML escapes. */
static void cli_xml(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

static void cli_junit_case(FILE *f, const struct cli_file *file, const struct tylua_case *c)
{
	fputs("    <testcase classname=\"", f);
	cli_xml(f, file->path);
	fputs("\" name=\"", f);
	cli_xml(f, c->name);
	fprintf(f, "\" time=\"%.3f\">\n", c->o.secs);
	if (c->o.status != TYLUA_PASS) {
		fputs(c->o.status == TYLUA_FAIL ? "      <failure message=\""
						: "      <skipped message=\"",
		      f);
		cli_xml(f, c->o.message ? strtok(strdupa(c->o.message), "\n") : "");
		fputs("\">", f);
		if (c->o.status == TYLUA_FAIL)
			cli_xml(f, c->o.message);
		fputs(c->o.status == TYLUA_FAIL ? "</failure>\n" : "</skipped>\n", f);
	}
	if (c->o.log && *c->o.log) {
		fputs("      <system-out>", f);
		cli_xml(f, c->o.log);
		fputs("</system-out>\n", f);
	}
	fputs("    </testcase>\n", f);
}

static int cli_junit(const char *path, struct cli_file *files, size_t n)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		fprintf(stderr, "tapyard test: --junit %s: %s\n", path, strerror(errno));
		return -errno;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"tapyard\">\n", f);
	for (size_t i = 0; i < n; i++) {
		fputs("  <testsuite name=\"", f);
		cli_xml(f, files[i].path);
		fprintf(f, "\" tests=\"%zu\" failures=\"%d\" skipped=\"%d\" time=\"%.3f\">\n",
			files[i].n + (files[i].chunk_error != NULL), files[i].fail, files[i].skip,
			files[i].secs);
		if (files[i].chunk_error) {
			fputs("    <testcase classname=\"", f);
			cli_xml(f, files[i].path);
			fputs("\" name=\"(load)\">\n      <failure message=\"the file failed to "
			      "load\">",
			      f);
			cli_xml(f, files[i].chunk_error);
			fputs("</failure>\n    </testcase>\n", f);
		}
		for (size_t j = 0; j < files[i].n; j++)
			cli_junit_case(f, &files[i], &files[i].cases[j]);
		fputs("  </testsuite>\n", f);
	}
	fputs("</testsuites>\n", f);
	return fclose(f) ? -errno : 0;
}

/* ---- running ---- */

static struct tylua_case *cli_case_new(struct cli_file *f, const char *name)
{
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 8;
		struct tylua_case *grown = realloc(f->cases, cap * sizeof(*grown));

		if (!grown)
			return NULL;
		f->cases = grown;
		f->cap = cap;
	}
	memset(&f->cases[f->n], 0, sizeof(f->cases[0]));
	f->cases[f->n].name = strdup(name);
	return &f->cases[f->n++];
}

/* Load the file's chunk (which registers its tests); an error is kept as chunk_error. */
static bool cli_load(lua_State *L, struct cli_file *f)
{
	int status = luaL_loadfilex(L, f->path, "t");

	if (status == LUA_OK)
		status = tylua_pcall(L, 0, 0);
	if (status != LUA_OK) {
		f->chunk_error = strdup(lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
		lua_pop(L, 1);
		f->fail++;
		return false;
	}
	return true;
}

static bool cli_selected(struct cli_opts *o, const char *name)
{
	return !o->filter || strstr(name, o->filter);
}

static void cli_run_tests(lua_State *L, struct cli_opts *o, struct cli_file *f)
{
	size_t n = tylua_test_count(L);

	for (size_t i = 1; i <= n && !interrupt_pending(); i++) {
		const char *name = tylua_test_name(L, i);
		struct tylua_case *c;

		if (!cli_selected(o, name))
			continue;
		if (o->list) {
			printf("%s: %s\n", f->path, name);
			continue;
		}
		c = cli_case_new(f, name);
		if (!c)
			break;
		c->o.message = tylua_select_why(L, i, &o->sel);
		if (c->o.message)
			c->o.status = TYLUA_SKIP;
		else
			tylua_test_run(L, i, o->timeout, &c->o);
		f->pass += c->o.status == TYLUA_PASS;
		f->fail += c->o.status == TYLUA_FAIL;
		f->skip += c->o.status == TYLUA_SKIP;
		tylua_watchdog_count(o->wd, c->o.status == TYLUA_PASS, c->o.status == TYLUA_FAIL,
				     c->o.status == TYLUA_SKIP);
		if (o->tap && !o->json)
			cli_tap_case(o, f->path, c);
		else if (o->verbose && !o->quiet && !o->json)
			cli_print_case(c, true);
		fflush(stdout);
	}
}

/* os.exit() inside a test file: an error, so that the test fails and its lab is cleaned up. */
static int cli_os_exit(lua_State *L)
{
	return luaL_error(L, "os.exit() called in a test file: the test fails and its lab is "
			     "cleaned up (return from the test, or use t:fail())");
}

/* Test files run without os.exit, which would leave guests behind and print no summary. */
static void cli_no_exit(lua_State *L)
{
	lua_getglobal(L, "os");
	lua_pushcfunction(L, cli_os_exit);
	lua_setfield(L, -2, "exit");
	lua_pop(L, 1);
}

static void cli_run_file(struct cli_opts *o, struct cli_file *f)
{
	double t0 = clock_mono_s();
	lua_State *L;
	int err;

	err = tylua_state_new(o->verbose, &L);
	if (err) {
		char msg[256];

		snprintf(msg, sizeof(msg), "cannot start a switch for this file: %s",
			 strerror(-err));
		f->chunk_error = strdup(msg);
		f->fail++;
	} else {
		cli_no_exit(L);
		tylua_world(L)->watchdog = o->wd;
		if (cli_load(L, f))
			cli_run_tests(L, o, f);
		tylua_state_close(L);
	}
	f->secs = clock_mono_s() - t0;
	if (!o->list)
		cli_file_line(o, f);
	fflush(stdout);
}

static void cli_free(struct cli_opts *o, struct cli_file *files)
{
	for (size_t i = 0; i < o->npaths; i++) {
		for (size_t j = 0; files && j < files[i].n; j++) {
			free(files[i].cases[j].name);
			free(files[i].cases[j].o.message);
			free(files[i].cases[j].o.log);
		}
		if (files) {
			free(files[i].cases);
			free(files[i].chunk_error);
		}
		free(o->paths[i]);
	}
	free(files);
	free(o->paths);
}

int tylua_test_main(int argc, char **argv)
{
	struct cli_opts o = {0};
	struct cli_file *files;
	int pass = 0, fail = 0, skip = 0, rc;

	rc = cli_parse(argc, argv, &o);
	if (rc >= 0) {
		cli_free(&o, NULL);
		return rc;
	}
	log_set_level(o.verbose ? LOG_LVL_INFO : LOG_LVL_WARN);
	interrupt_install(true);
	files = calloc(o.npaths, sizeof(*files));
	if (!files) {
		cli_free(&o, NULL);
		return 2;
	}
	if (o.tap && !o.list && !o.json)
		printf("TAP version 13\n");
	if (!o.list && tylua_watchdog_start(&o.wd))
		fputs("tapyard test: no watchdog: a test held in C code runs on\n", stderr);
	for (size_t i = 0; i < o.npaths && !interrupt_pending(); i++) {
		files[i].path = o.paths[i];
		tylua_watchdog_file(o.wd, files[i].path, pass, fail, skip);
		cli_run_file(&o, &files[i]);
		pass += files[i].pass;
		fail += files[i].fail;
		skip += files[i].skip;
	}
	tylua_watchdog_stop(o.wd);
	if (o.junit && !o.list)
		cli_junit(o.junit, files, o.npaths);
	if (!o.list && !o.json) {
		if (o.tap)
			printf("1..%d\n# ", o.tap_seq);
		printf("%d passed, %d failed, %d skipped\n", pass, fail, skip);
	}
	cli_free(&o, files); /* files[i].path is borrowed from o.paths */
	if (interrupt_pending())
		return 130;
	return fail ? 1 : 0;
}

/* ---- tapyard run ---- */

static const char cli_run_usage[] =
	"usage: tapyard run [-v] FILE [ARGS...]\n"
	"\n"
	"Runs a plain Lua script with the tapyard API (provium, json, wait_until) and no test\n"
	"framework; `arg` holds FILE and ARGS. Everything it made is torn down when it ends or\n"
	"on Ctrl-C. Guests need root.\n";

/* Run script words[0] with arg = words (arg[0] is the script). Returns the exit code. */
static int cli_run_script(bool verbose, int n, char **words)
{
	lua_State *L;
	int err, status;

	log_set_level(verbose ? LOG_LVL_INFO : LOG_LVL_WARN);
	interrupt_install(true);
	err = tylua_state_new(verbose, &L);
	if (err) {
		fprintf(stderr, "tapyard run: cannot start the switch: %s\n", strerror(-err));
		return 1;
	}
	lua_createtable(L, n, 1);
	for (int j = 0; j < n; j++) {
		lua_pushstring(L, words[j]);
		lua_rawseti(L, -2, j);
	}
	lua_setglobal(L, "arg");
	status = luaL_loadfilex(L, words[0], "t");
	if (status == LUA_OK)
		status = tylua_pcall(L, 0, 0);
	if (status != LUA_OK)
		fprintf(stderr, "tapyard run: %s\n", lua_tostring(L, -1));
	else if (tylua_test_count(L))
		fprintf(stderr,
			"tapyard run: %zu test(s) registered and not run; use `tapyard test %s`\n",
			tylua_test_count(L), words[0]);
	tylua_state_close(L);
	if (interrupt_pending())
		return 130;
	return status == LUA_OK ? 0 : 1;
}

enum { RUN_VERBOSE = 1, RUN_HELP };

/* Options come before FILE: what follows it is the script's. */
static const struct ctl_opt cli_run_options[] = {
	{"verbose", 'v', false, RUN_VERBOSE, NULL},
	{"help", 'h', false, RUN_HELP, NULL},
	{NULL, 0, false, 0, NULL},
};

static const struct ctl_opt_cmd cli_run_cmd = {
	.name = "run",
	.opts = cli_run_options,
	.flags = CTL_OPT_STOP,
	.help = RUN_HELP,
	.usage = cli_run_usage,
	.max = -1,
};

int tylua_run_main(int argc, char **argv)
{
	struct ctl_opt_res res;
	int rc = ctl_opt_main(&cli_run_cmd, argc, argv, &res);

	if (rc < 0 && !res.npos) {
		fputs(cli_run_usage, stderr);
		rc = 2;
	} else if (rc < 0) {
		rc = cli_run_script(ctl_opt_has(&res, RUN_VERBOSE), res.npos, res.pos);
	}
	ctl_opt_free(&res);
	return rc;
}
