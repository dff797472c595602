/* SPDX-License-Identifier: MIT */
/*
 * test_ctl_opt: the option parser of every subcommand. Long and short
 * options, --opt=value and --opt value, flags, positional words anywhere,
 * "--", the first-pass mode (unknown words kept) and the stop-at-first-word
 * mode; each usage error names the option; the number helpers, the
 * usage line and ctl_opt_main() (--help first wins, too many words).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"
#include "ctl_opt.h"

enum { O_SOCKET = 1, O_JSON, O_HELP, O_COUNT, O_VERBOSE };

static const struct ctl_opt opts[] = {
	{"socket", 0, true, O_SOCKET, "PATH"},	  {"json", 0, false, O_JSON, NULL},
	{"help", 'h', false, O_HELP, NULL},	  {"count", 'c', true, O_COUNT, NULL},
	{"verbose", 'v', false, O_VERBOSE, NULL}, {NULL, 0, false, 0, NULL},
};

#define NWORDS(w) ((int)(sizeof(w) / sizeof((w)[0])))

/* Parse words; the expected return is rc. */
static void parse(char **words, int n, unsigned int flags, int rc, struct ctl_opt_res *res)
{
	assert_int_equal(ctl_opt_parse(opts, flags, n, words, res), rc);
}

static void test_long_and_short(void **state)
{
	char *w[] = {"--socket", "/s", "--json", "-h", "-v", "--count=3", "-c", "4"};
	struct ctl_opt_res res;

	(void)state;
	parse(w, NWORDS(w), 0, 0, &res);
	assert_int_equal(res.nhits, 6);
	assert_int_equal(res.npos, 0);
	assert_string_equal(ctl_opt_get(&res, O_SOCKET), "/s");
	assert_string_equal(ctl_opt_get(&res, O_JSON), "--json");
	assert_true(ctl_opt_has(&res, O_HELP));
	assert_true(ctl_opt_has(&res, O_VERBOSE));
	assert_string_equal(ctl_opt_get(&res, O_COUNT), "4"); /* the last wins */
	assert_int_equal(res.hits[4].id, O_COUNT); /* every one, in order */
	assert_string_equal(res.hits[4].value, "3");
	ctl_opt_free(&res);
}

static void test_equals_and_next_word(void **state)
{
	char *eq[] = {"--socket=/a=b"}, *next[] = {"--socket", "--json"};
	struct ctl_opt_res res;

	(void)state;
	parse(eq, NWORDS(eq), 0, 0, &res);
	assert_string_equal(ctl_opt_get(&res, O_SOCKET), "/a=b");
	ctl_opt_free(&res);
	/* The next word is the value, whatever it looks like. */
	parse(next, NWORDS(next), 0, 0, &res);
	assert_string_equal(ctl_opt_get(&res, O_SOCKET), "--json");
	assert_false(ctl_opt_has(&res, O_JSON));
	ctl_opt_free(&res);
}

static void test_positional(void **state)
{
	char *w[] = {"port", "--json", "add", "-", "br0"};
	struct ctl_opt_res res;

	(void)state;
	parse(w, NWORDS(w), 0, 0, &res);
	assert_int_equal(res.npos, 4);
	assert_string_equal(res.pos[0], "port");
	assert_string_equal(res.pos[1], "add");
	assert_string_equal(res.pos[2], "-");
	assert_string_equal(res.pos[3], "br0");
	assert_null(res.pos[4]);
	assert_true(ctl_opt_has(&res, O_JSON));
	assert_false(ctl_opt_has(&res, O_HELP));
	assert_null(ctl_opt_get(&res, O_SOCKET));
	ctl_opt_free(&res);
}

static void test_dash_dash(void **state)
{
	char *w[] = {"-v", "--", "--json", "-h"};
	struct ctl_opt_res res;

	(void)state;
	parse(w, NWORDS(w), 0, 0, &res);
	assert_int_equal(res.nhits, 1);
	assert_int_equal(res.npos, 2);
	assert_string_equal(res.pos[0], "--json");
	assert_string_equal(res.pos[1], "-h");
	ctl_opt_free(&res);
}

static void test_stop(void **state)
{
	char *w[] = {"-v", "script.lua", "-h", "--bogus"};
	struct ctl_opt_res res;

	(void)state;
	parse(w, NWORDS(w), CTL_OPT_STOP, 0, &res);
	assert_true(ctl_opt_has(&res, O_VERBOSE));
	assert_false(ctl_opt_has(&res, O_HELP));
	assert_int_equal(res.npos, 3);
	assert_string_equal(res.pos[2], "--bogus");
	ctl_opt_free(&res);
}

static void test_pass(void **state)
{
	char *w[] = {"counters", "--bridge", "b", "--json", "-x", "--", "--json"};
	struct ctl_opt_res res;

	(void)state;
	parse(w, NWORDS(w), CTL_OPT_PASS, 0, &res);
	assert_int_equal(res.nhits, 1);
	assert_int_equal(res.npos, 6); /* "--" is kept for the second pass */
	assert_string_equal(res.pos[1], "--bridge");
	assert_string_equal(res.pos[3], "-x");
	assert_string_equal(res.pos[4], "--");
	assert_string_equal(res.pos[5], "--json");
	ctl_opt_free(&res);
}

/* words must fail with -EINVAL and the message msg. */
static void fails(char **words, int n, const char *msg)
{
	struct ctl_opt_res res;

	parse(words, n, 0, -EINVAL, &res);
	assert_string_equal(res.msg, msg);
	ctl_opt_free(&res);
}

static void test_errors(void **state)
{
	char *missing[] = {"x", "--count"}, *what[] = {"--socket"}, *empty[] = {"--count="};
	char *unknown[] = {"--foo=1"}, *letter[] = {"-q"}, *joined[] = {"-vh"};
	char *flag[] = {"--json=yes"}, *prefix[] = {"--sock", "/s"}, *short_missing[] = {"-c"};

	(void)state;
	fails(missing, NWORDS(missing), "--count needs a value");
	fails(what, NWORDS(what), "--socket needs a PATH");
	fails(empty, NWORDS(empty), "--count needs a value");
	fails(short_missing, NWORDS(short_missing), "-c needs a value");
	fails(unknown, NWORDS(unknown), "unknown option --foo=1");
	fails(letter, NWORDS(letter), "unknown option -q");
	fails(joined, NWORDS(joined), "unknown option -vh");
	fails(flag, NWORDS(flag), "--json takes no value");
	fails(prefix, NWORDS(prefix), "unknown option --sock");
}

static void test_empty_and_free(void **state)
{
	struct ctl_opt_res res;

	(void)state;
	parse(NULL, 0, 0, 0, &res);
	assert_int_equal(res.npos, 0);
	assert_int_equal(res.nhits, 0);
	assert_null(res.pos[0]);
	ctl_opt_free(&res);
	ctl_opt_free(&res); /* twice is fine */
	ctl_opt_free(NULL);
}

static void test_numbers(void **state)
{
	long long n = 7;
	double d = 7;

	(void)state;
	assert_int_equal(ctl_opt_int("42", 1, 100, &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(ctl_opt_int("0", 1, 100, &n), -EINVAL);
	assert_int_equal(ctl_opt_int("101", 1, 100, &n), -EINVAL);
	assert_int_equal(ctl_opt_int("4x", 1, 100, &n), -EINVAL);
	assert_int_equal(ctl_opt_int("", 1, 100, &n), -EINVAL);
	assert_int_equal(ctl_opt_int(NULL, 1, 100, &n), -EINVAL);
	assert_int_equal(ctl_opt_int("99999999999999999999", 0, INT64_MAX, &n), -EINVAL);
	assert_int_equal(n, 42); /* untouched on error */
	assert_int_equal(ctl_opt_real("0.25", 0.01, 86400, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(ctl_opt_real("0.001", 0.01, 86400, &d), -EINVAL);
	assert_int_equal(ctl_opt_real("nan", 0, 1e9, &d), -EINVAL);
	assert_int_equal(ctl_opt_real("1s", 0, 1e9, &d), -EINVAL);
	assert_true(d == 0.25);
}

static void test_usage_line(void **state)
{
	char buf[256] = "";
	FILE *saved = stderr, *f = tmpfile();

	(void)state;
	assert_non_null(f);
	stderr = f;
	assert_int_equal(ctl_opt_usage("daemon", "daemon", "unknown option %s", "--x"),
			 CTL_EXIT_USAGE);
	assert_int_equal(ctl_opt_usage(NULL, "ctl", "bad"), CTL_EXIT_USAGE);
	stderr = saved;
	rewind(f);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f) > 0, 1);
	fclose(f);
	assert_string_equal(buf,
			    "tapyard: daemon: unknown option --x\n(see tapyard daemon --help)\n"
			    "tapyard: bad\n(see tapyard ctl --help)\n");
}

static const struct ctl_opt_cmd cmd = {
	.name = "lsp-setup",
	.opts = opts,
	.help = O_HELP,
	.usage = "usage: x\n",
	.max = 1,
};

/* ctl_opt_main() on words, with stdout and stderr caught into out and err. */
static int run_main(char **words, int n, char *out, char *err, size_t size)
{
	FILE *saved_out = stdout, *saved_err = stderr, *fo = tmpfile(), *fe = tmpfile();
	struct ctl_opt_res res;
	int rc;

	assert_non_null(fo);
	assert_non_null(fe);
	stdout = fo;
	stderr = fe;
	rc = ctl_opt_main(&cmd, n, words, &res);
	stdout = saved_out;
	stderr = saved_err;
	ctl_opt_free(&res);
	rewind(fo);
	rewind(fe);
	out[fread(out, 1, size - 1, fo)] = '\0';
	err[fread(err, 1, size - 1, fe)] = '\0';
	fclose(fo);
	fclose(fe);
	return rc;
}

static void test_main(void **state)
{
	char *ok[] = {"lsp-setup", "dir", "-v"}, *help[] = {"lsp-setup", "-h", "--bogus"};
	char *late_help[] = {"lsp-setup", "--bogus", "-h"}, *extra[] = {"lsp-setup", "a", "b"};
	char out[256], err[256];

	(void)state;
	assert_int_equal(run_main(ok, NWORDS(ok), out, err, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_string_equal(err, "");
	/* --help before a bad word wins; after it, the bad word does. */
	assert_int_equal(run_main(help, NWORDS(help), out, err, sizeof(out)), CTL_EXIT_OK);
	assert_string_equal(out, "usage: x\n");
	assert_string_equal(err, "");
	assert_int_equal(run_main(late_help, NWORDS(late_help), out, err, sizeof(out)),
			 CTL_EXIT_USAGE);
	assert_string_equal(out, "");
	assert_string_equal(err, "tapyard: lsp-setup: unknown option --bogus\n"
				 "(see tapyard lsp-setup --help)\n");
	assert_int_equal(run_main(extra, NWORDS(extra), out, err, sizeof(out)), CTL_EXIT_USAGE);
	assert_string_equal(err, "tapyard: lsp-setup: unexpected argument \"b\"\n"
				 "(see tapyard lsp-setup --help)\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_and_short), cmocka_unit_test(test_equals_and_next_word),
		cmocka_unit_test(test_positional),     cmocka_unit_test(test_dash_dash),
		cmocka_unit_test(test_stop),	       cmocka_unit_test(test_pass),
		cmocka_unit_test(test_errors),	       cmocka_unit_test(test_empty_and_free),
		cmocka_unit_test(test_numbers),	       cmocka_unit_test(test_usage_line),
		cmocka_unit_test(test_main),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
