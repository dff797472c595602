/* SPDX-License-Identifier: MIT */
/*
 * cli_impair: netem-style words for `tapyard ctl impair` (see
 * cli_impair.h): one table maps each keyword to a parser that takes its
 * values (optional trailing values only when the next word is a number, as tc
 * does) and sets the impair/set arguments of the vocabulary.
 */
#include "cli_impair.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "ctl.h"

/* The words after `impair set` (or show, clear), consumed left to right. */
struct cli_words {
	char **w;
	int n, i;
	const char *kw; /* the keyword being parsed, for messages */
	const char *cmd; /* "set", "schedule" or "timer", for the help hint */
};

static int cli_impair_error(const char *what, const struct cli_words *ws, const char *word)
{
	fprintf(stderr, "tapyard: impair: %s%s%s%s%s%s\n(see tapyard ctl impair %s --help)\n",
		word ? what : "missing value", ws->kw ? " for " : "", ws->kw ? ws->kw : "",
		word && *word ? " \"" : "", word ? word : "", word && *word ? "\"" : "", ws->cmd);
	return CTL_EXIT_USAGE;
}

static const char *cli_impair_next(struct cli_words *ws)
{
	return ws->i < ws->n ? ws->w[ws->i++] : NULL;
}

/* Is the next word a number (an optional value follows)? */
static bool cli_impair_number_next(const struct cli_words *ws)
{
	const char *s = ws->i < ws->n ? ws->w[ws->i] : "";

	if (*s == '-' || *s == '+')
		s++;
	return isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1]));
}

/* A number followed by one of the units (name, factor); "" names the unit of a bare number. */
struct cli_unit {
	const char *name;
	double factor;
};

static int cli_impair_unit(const char *s, const struct cli_unit *units, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno || !isfinite(v) || v < 0)
		return -EINVAL;
	for (; units->name; units++) {
		if (strcasecmp(end, units->name) == 0) {
			*out = v * units->factor;
			return 0;
		}
	}
	return -EINVAL;
}

static const struct cli_unit cli_time_units[] = {
	{"", 1},      {"ms", 1},      {"msec", 1},  {"s", 1000}, {"sec", 1000},
	{"us", 1e-3}, {"usec", 1e-3}, {"ns", 1e-6}, {NULL, 0},
};
static const struct cli_unit cli_pct_units[] = {{"", 1}, {"%", 1}, {NULL, 0}};
static const struct cli_unit cli_rate_units[] = {
	{"", 1},    {"bit", 1},	   {"kbit", 1e3}, {"mbit", 1e6}, {"gbit", 1e9}, {"tbit", 1e12},
	{"bps", 8}, {"kbps", 8e3}, {"mbps", 8e6}, {"gbps", 8e9}, {NULL, 0},
};
static const struct cli_unit cli_size_units[] = {
	{"", 1},	 {"b", 1},	    {"k", 1024},	{"kb", 1024}, {"m", 1048576},
	{"mb", 1048576}, {"g", 1073741824}, {"gb", 1073741824}, {NULL, 0},
};
static const struct cli_unit cli_count_units[] = {{"", 1}, {NULL, 0}};

/* The next word as a value in units, set as args[key]: a real, or an integer when integral. */
static int cli_impair_value(struct cli_words *ws, const struct cli_unit *units, bool integer,
			    json_t *args, const char *key)
{
	const char *s = cli_impair_next(ws);
	double v;

	if (!s || cli_impair_unit(s, units, &v))
		return cli_impair_error("bad value", ws, s);
	if (integer && (v != floor(v) || v > 9e18))
		return cli_impair_error("expected a whole number", ws, s);
	json_object_set_new(args, key, integer ? json_integer((json_int_t)v) : json_real(v));
	return CTL_EXIT_OK;
}

/* PCT [CORR]: a percentage and an optional correlation. */
static int cli_impair_pct_corr(struct cli_words *ws, json_t *args, const char *key,
			       const char *corr)
{
	int rc = cli_impair_value(ws, cli_pct_units, false, args, key);

	if (!rc && cli_impair_number_next(ws))
		rc = cli_impair_value(ws, cli_pct_units, false, args, corr);
	return rc;
}

/* delay TIME [JITTER [CORR]] */
static int cli_impair_delay(struct cli_words *ws, json_t *args)
{
	int rc = cli_impair_value(ws, cli_time_units, false, args, "delay_ms");

	if (!rc && cli_impair_number_next(ws))
		rc = cli_impair_value(ws, cli_time_units, false, args, "jitter_ms");
	if (!rc && cli_impair_number_next(ws))
		rc = cli_impair_value(ws, cli_pct_units, false, args, "delay_corr");
	return rc;
}

/* Up to n percentages named keys (the first required) into a new object args[key]. */
static int cli_impair_model(struct cli_words *ws, json_t *args, const char *key,
			    const char *const *keys, int n)
{
	json_t *obj = json_object();
	int rc = cli_impair_value(ws, cli_pct_units, false, obj, keys[0]);

	for (int i = 1; !rc && i < n && cli_impair_number_next(ws); i++)
		rc = cli_impair_value(ws, cli_pct_units, false, obj, keys[i]);
	if (rc) {
		json_decref(obj);
		return rc;
	}
	json_object_set_new(args, key, obj);
	return CTL_EXIT_OK;
}

/* loss [random] PCT [CORR] | loss gemodel P [R [1-H [1-K]]] | loss state P13 [...] */
static int cli_impair_loss(struct cli_words *ws, json_t *args)
{
	static const char *const ge[] = {"p", "r", "h", "k"};
	static const char *const s4[] = {"p13", "p31", "p32", "p23", "p14"};
	const char *model = ws->i < ws->n ? ws->w[ws->i] : "";

	if (strcmp(model, "gemodel") == 0 || strcmp(model, "state") == 0 ||
	    strcmp(model, "random") == 0)
		ws->i++;
	if (strcmp(model, "gemodel") == 0)
		return cli_impair_model(ws, args, "gemodel", ge, 4);
	if (strcmp(model, "state") == 0)
		return cli_impair_model(ws, args, "state4", s4, 5);
	return cli_impair_pct_corr(ws, args, "loss", "loss_corr");
}

/* rate RATE [OVERHEAD [CELLSIZE]] */
static int cli_impair_rate(struct cli_words *ws, json_t *args)
{
	int rc = cli_impair_value(ws, cli_rate_units, true, args, "rate_bps");
	const char *s;
	char *end;
	long v;

	if (rc || !cli_impair_number_next(ws))
		return rc;
	s = cli_impair_next(ws);
	v = strtol(s, &end, 10);
	if (*end || v < -65536 || v > 65536)
		return cli_impair_error("bad packet overhead", ws, s);
	json_object_set_new(args, "rate_overhead", json_integer(v));
	if (cli_impair_number_next(ws))
		rc = cli_impair_value(ws, cli_size_units, true, args, "rate_cell");
	return rc;
}

static int cli_impair_jitter(struct cli_words *ws, json_t *args)
{
	return cli_impair_value(ws, cli_time_units, false, args, "jitter_ms");
}

static int cli_impair_delay_corr(struct cli_words *ws, json_t *args)
{
	return cli_impair_value(ws, cli_pct_units, false, args, "delay_corr");
}

static int cli_impair_dist(struct cli_words *ws, json_t *args)
{
	const char *s = cli_impair_next(ws);

	if (!s)
		return cli_impair_error("missing name", ws, s);
	json_object_set_new(args, "distribution", json_string(s));
	return CTL_EXIT_OK;
}

static int cli_impair_keep_order(struct cli_words *ws, json_t *args)
{
	(void)ws;
	json_object_set_new(args, "keep_order", json_true());
	return CTL_EXIT_OK;
}

static int cli_impair_duplicate(struct cli_words *ws, json_t *args)
{
	return cli_impair_pct_corr(ws, args, "duplicate", "duplicate_corr");
}

static int cli_impair_corrupt(struct cli_words *ws, json_t *args)
{
	return cli_impair_pct_corr(ws, args, "corrupt", "corrupt_corr");
}

static int cli_impair_reorder(struct cli_words *ws, json_t *args)
{
	return cli_impair_pct_corr(ws, args, "reorder", "reorder_corr");
}

static int cli_impair_gap(struct cli_words *ws, json_t *args)
{
	return cli_impair_value(ws, cli_count_units, true, args, "reorder_gap");
}

static int cli_impair_limit(struct cli_words *ws, json_t *args)
{
	return cli_impair_value(ws, cli_count_units, true, args, "limit_packets");
}

static int cli_impair_limit_bytes(struct cli_words *ws, json_t *args)
{
	return cli_impair_value(ws, cli_size_units, true, args, "limit_bytes");
}

static int cli_impair_seed(struct cli_words *ws, json_t *args)
{
	return cli_impair_value(ws, cli_count_units, true, args, "seed");
}

static int cli_impair_replace(struct cli_words *ws, json_t *args)
{
	(void)ws;
	json_object_set_new(args, "mode", json_string("replace"));
	return CTL_EXIT_OK;
}

/* A target option: --bridge B, --port P, --dir D, --from A, --to B (or --opt=value). */
static int cli_impair_target(struct cli_words *ws, json_t *args)
{
	const char *opt = ws->kw + 2, *eq = strchr(opt, '='), *v;
	char key[16];

	snprintf(key, sizeof(key), "%.*s", eq ? (int)(eq - opt) : (int)strlen(opt), opt);
	v = eq ? eq + 1 : cli_impair_next(ws);
	if (!v || !*v)
		return cli_impair_error("missing value", ws, v);
	json_object_set_new(args, key, json_string(v));
	return CTL_EXIT_OK;
}

struct cli_keyword {
	const char *word;
	int (*fn)(struct cli_words *ws, json_t *args);
};

static const struct cli_keyword cli_keywords[] = {
	{"delay", cli_impair_delay},
	{"jitter", cli_impair_jitter},
	{"delay-corr", cli_impair_delay_corr},
	{"distribution", cli_impair_dist},
	{"keep-order", cli_impair_keep_order},
	{"loss", cli_impair_loss},
	{"duplicate", cli_impair_duplicate},
	{"corrupt", cli_impair_corrupt},
	{"reorder", cli_impair_reorder},
	{"gap", cli_impair_gap},
	{"rate", cli_impair_rate},
	{"limit", cli_impair_limit},
	{"limit-bytes", cli_impair_limit_bytes},
	{"seed", cli_impair_seed},
	{"--replace", cli_impair_replace},
	{"--bridge", cli_impair_target},
	{"--port", cli_impair_target},
	{"--dir", cli_impair_target},
	{"--from", cli_impair_target},
	{"--to", cli_impair_target},
};

/* The keyword word starts with (options may carry "=value"). */
static const struct cli_keyword *cli_impair_keyword(const char *word)
{
	for (size_t i = 0; i < sizeof(cli_keywords) / sizeof(cli_keywords[0]); i++) {
		size_t len = strlen(cli_keywords[i].word);

		if (strncmp(word, cli_keywords[i].word, len) == 0 &&
		    (word[len] == '\0' || (word[0] == '-' && word[len] == '=')))
			return &cli_keywords[i];
	}
	return NULL;
}

/* Is k a target option or --replace (as opposed to a knob)? */
static bool cli_impair_is_option(const struct cli_keyword *k)
{
	return k->fn == cli_impair_target || k->fn == cli_impair_replace;
}

int cli_impair_args(char **words, int n, json_t *args)
{
	struct cli_words ws = {words, n, 0, NULL, "set"};
	const struct cli_keyword *k;
	int rc = CTL_EXIT_OK;

	while (!rc && ws.i < ws.n) {
		ws.kw = NULL;
		k = cli_impair_keyword(ws.w[ws.i]);
		if (!k)
			return cli_impair_error("unknown word", &ws, ws.w[ws.i]);
		ws.kw = ws.w[ws.i++];
		rc = k->fn(&ws, args);
	}
	return rc;
}

/* One word of `impair schedule`: into is args before the first step, else the step. */
static int cli_impair_schedule_word(struct cli_words *ws, json_t *args, json_t **into)
{
	const char *w = ws->w[ws->i];
	const struct cli_keyword *k;

	ws->kw = NULL;
	if (strcmp(w, "at") == 0 || strcmp(w, "--period") == 0) {
		ws->kw = ws->w[ws->i++];
		if (w[0] == '-') {
			json_object_set_new(args, "repeat", json_true());
			return cli_impair_value(ws, cli_time_units, false, args, "period_ms");
		}
		*into = json_object();
		json_array_append_new(json_object_get(args, "steps"), *into);
		return cli_impair_value(ws, cli_time_units, false, *into, "at_ms");
	}
	k = cli_impair_keyword(w);
	if (!k)
		return cli_impair_error("unknown word", ws, w);
	if (cli_impair_is_option(k) && *into != args)
		return cli_impair_error("the target and --replace go before the first step", ws, w);
	if (!cli_impair_is_option(k) && *into == args)
		return cli_impair_error("knobs go in steps (at TIME KNOB VALUE...)", ws, w);
	ws->kw = ws->w[ws->i++];
	return k->fn(ws, *into);
}

int cli_impair_schedule(char **words, int n, json_t *args)
{
	struct cli_words ws = {words, n, 0, NULL, "schedule"};
	json_t *into = args;
	int rc = CTL_EXIT_OK;

	json_object_set_new(args, "steps", json_array());
	while (!rc && ws.i < ws.n)
		rc = cli_impair_schedule_word(&ws, args, &into);
	ws.kw = NULL;
	if (!rc && into == args)
		return cli_impair_error("no step given (at TIME KNOB VALUE...)", &ws, "");
	return rc;
}

int cli_impair_timer(char **words, int n, json_t *args)
{
	struct cli_words ws = {words, n, 0, NULL, "timer"};
	double ms;

	if (n == 0)
		return CTL_EXIT_OK;
	if (strcmp(words[0], "auto") == 0) {
		json_object_set_new(args, "auto", json_true());
		return CTL_EXIT_OK;
	}
	if (cli_impair_unit(words[0], cli_time_units, &ms) || ms * 1000 != floor(ms * 1000) ||
	    ms > 1e6)
		return cli_impair_error("expected a time in whole microseconds, like 100us", &ws,
					words[0]);
	json_object_set_new(args, "spin_us", json_integer((json_int_t)(ms * 1000)));
	return CTL_EXIT_OK;
}

/* ---- output ---- */

/* "port vm1 tx", "bridge lan" or "vm1 -> vm2". */
static void impair_print_target(FILE *f, json_t *r)
{
	const char *port = json_string_value(json_object_get(r, "port"));

	if (port)
		fprintf(f, "port %s %s", port, json_string_value(json_object_get(r, "dir")));
	else if (json_object_get(r, "bridge"))
		fprintf(f, "bridge %s", json_string_value(json_object_get(r, "bridge")));
	else
		fprintf(f, "%s -> %s", json_string_value(json_object_get(r, "from")),
			json_string_value(json_object_get(r, "to")));
}

/* Members of obj as "key value" pairs on one line; nested objects as key{a b ...}. */
static void impair_print_members(FILE *f, json_t *obj)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		if (json_is_object(v)) {
			fprintf(f, " %s {", key);
			impair_print_members(f, v);
			fprintf(f, " }");
		} else if (json_is_string(v)) {
			fprintf(f, " %s %s", key, json_string_value(v));
		} else if (json_is_boolean(v)) {
			fprintf(f, " %s", key);
		} else if (json_is_integer(v)) {
			fprintf(f, " %s %" JSON_INTEGER_FORMAT, key, json_integer_value(v));
		} else {
			fprintf(f, " %s %g", key, json_number_value(v));
		}
	}
}

void cli_impair_print(FILE *f, json_t *result)
{
	json_t *stats = json_object_get(result, "stats");

	impair_print_target(f, result);
	fputc(':', f);
	impair_print_members(f, json_object_get(result, "knobs"));
	if (json_is_true(json_object_get(result, "scheduled")))
		fprintf(f, " (scheduled)");
	fputc('\n', f);
	if (stats) {
		fputs("   ", f);
		impair_print_members(f, stats);
		fputc('\n', f);
	}
}

void cli_impair_print_list(FILE *f, json_t *result)
{
	json_t *item;
	size_t i;

	json_array_foreach(result, i, item)
		cli_impair_print(f, item);
	if (json_array_size(result) == 0)
		fprintf(f, "no impairments\n");
}

void cli_impair_print_timer(FILE *f, json_t *result)
{
	json_t *late = json_object_get(result, "late_us");
	json_int_t sent = json_integer_value(json_object_get(result, "sent"));

	json_int_t spin = json_integer_value(json_object_get(result, "spin_us"));

	fprintf(f, "spin: %" JSON_INTEGER_FORMAT " us before each deadline%s\n", spin,
		json_is_true(json_object_get(result, "auto"))
			? " and after each wake-up while frames are queued (auto: learned)"
		: spin ? ""
		       : " (off: sleep)");
	fprintf(f, "loop wake-up lateness: p50 %" JSON_INTEGER_FORMAT " us\n",
		json_integer_value(json_object_get(result, "wake_p50_us")));
	if (!sent) {
		fprintf(f, "no delayed frame sent yet\n");
		return;
	}
	fprintf(f,
		"%" JSON_INTEGER_FORMAT " delayed frames sent, late by: p50 < %" JSON_INTEGER_FORMAT
		" us, p99 < %" JSON_INTEGER_FORMAT " us, max < %" JSON_INTEGER_FORMAT " us\n",
		sent, json_integer_value(json_object_get(late, "p50")),
		json_integer_value(json_object_get(late, "p99")),
		json_integer_value(json_object_get(late, "max")));
}
