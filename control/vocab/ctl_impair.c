/* SPDX-License-Identifier: MIT */
/*
 * ctl_impair: the impairment commands (see ctl_impair.h). Targets are named
 * by bridge and port names and mapped to dataplane ids; knobs are read and
 * written through one table, so parsing, validation messages and output
 * agree on every name; update semantics read the knobs in force and set
 * them back changed, in one dp_impair_set() that the loop applies at once.
 */
#include "ctl_impair.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_config.h"
#include "dp_impair.h"
#include "log.h"

#define NS_PER_MS 1000000.0
#define CTL_IMPAIR_MAX_MS 3600000.0 /* an hour */
#define CTL_FIELD_MAX 96

/* How a knob is spelled in JSON and stored in struct impair_cfg. */
enum ctl_knob_type { KNOB_MS, KNOB_PCT, KNOB_BOOL, KNOB_UINT, KNOB_INT, KNOB_DIST };

struct ctl_knob {
	const char *name;
	enum ctl_knob_type type;
	size_t off;
	int64_t min, max; /* KNOB_UINT and KNOB_INT */
};

#define CFG_OFF(f) offsetof(struct impair_cfg, f)

/* Every plain knob; gemodel and state4 have their own tables. */
static const struct ctl_knob ctl_knobs[] = {
	{"delay_ms", KNOB_MS, CFG_OFF(delay_ns), 0, 0},
	{"jitter_ms", KNOB_MS, CFG_OFF(jitter_ns), 0, 0},
	{"delay_corr", KNOB_PCT, CFG_OFF(delay_corr), 0, 0},
	{"distribution", KNOB_DIST, CFG_OFF(dist), 0, 0},
	{"keep_order", KNOB_BOOL, CFG_OFF(keep_order), 0, 0},
	{"loss", KNOB_PCT, CFG_OFF(loss), 0, 0},
	{"loss_corr", KNOB_PCT, CFG_OFF(loss_corr), 0, 0},
	{"duplicate", KNOB_PCT, CFG_OFF(duplicate), 0, 0},
	{"duplicate_corr", KNOB_PCT, CFG_OFF(duplicate_corr), 0, 0},
	{"corrupt", KNOB_PCT, CFG_OFF(corrupt), 0, 0},
	{"corrupt_corr", KNOB_PCT, CFG_OFF(corrupt_corr), 0, 0},
	{"reorder", KNOB_PCT, CFG_OFF(reorder), 0, 0},
	{"reorder_corr", KNOB_PCT, CFG_OFF(reorder_corr), 0, 0},
	{"reorder_gap", KNOB_UINT, CFG_OFF(reorder_gap), 0, UINT32_MAX},
	{"rate_bps", KNOB_UINT, CFG_OFF(rate_bps), 0, 1000000000000000ll},
	{"rate_overhead", KNOB_INT, CFG_OFF(rate_overhead), -65536, 65536},
	{"rate_cell", KNOB_UINT, CFG_OFF(rate_cell), 0, 65536},
	{"limit_packets", KNOB_UINT, CFG_OFF(limit_packets), 0, UINT32_MAX},
	{"limit_bytes", KNOB_UINT, CFG_OFF(limit_bytes), 0, INT64_MAX},
	{"seed", KNOB_UINT, CFG_OFF(seed), 1, INT64_MAX},
};

static const struct ctl_knob ctl_ge_knobs[] = {
	{"p", KNOB_PCT, CFG_OFF(ge.p), 0, 0},
	{"r", KNOB_PCT, CFG_OFF(ge.r), 0, 0},
	{"h", KNOB_PCT, CFG_OFF(ge.h), 0, 0},
	{"k", KNOB_PCT, CFG_OFF(ge.k), 0, 0},
};

static const struct ctl_knob ctl_s4_knobs[] = {
	{"p13", KNOB_PCT, CFG_OFF(s4.p13), 0, 0}, {"p31", KNOB_PCT, CFG_OFF(s4.p31), 0, 0},
	{"p32", KNOB_PCT, CFG_OFF(s4.p32), 0, 0}, {"p23", KNOB_PCT, CFG_OFF(s4.p23), 0, 0},
	{"p14", KNOB_PCT, CFG_OFF(s4.p14), 0, 0},
};

#define NKNOBS(t) (sizeof(t) / sizeof((t)[0]))

static const char *const ctl_dist_names[] = {"uniform", "normal", "pareto", "paretonormal"};

/* ---- reading knobs ---- */

/* A JSON number within [min, max], named field in the message. */
static int ctl_impair_number(json_t *v, const char *field, double min, double max, double *out,
			     struct ctl_err *e)
{
	double d = json_number_value(v);

	if (!json_is_number(v) || !isfinite(d) || d < min || d > max)
		return ctl_args_fail(e, -EINVAL, "%s: expected a number from %g to %g", field, min,
				     max);
	*out = d;
	return 0;
}

static int ctl_impair_integer(json_t *v, const char *field, int64_t min, int64_t max, int64_t *out,
			      struct ctl_err *e)
{
	json_int_t i = json_integer_value(v);

	if (!json_is_integer(v) || i < min || i > max)
		return ctl_args_fail(e, -EINVAL, "%s: expected an integer from %lld to %lld", field,
				     (long long)min, (long long)max);
	*out = i;
	return 0;
}

static int ctl_impair_dist(json_t *v, const char *field, enum impair_dist *out, struct ctl_err *e)
{
	const char *s = json_string_value(v);

	for (size_t i = 0; s && i < NKNOBS(ctl_dist_names); i++) {
		if (strcmp(s, ctl_dist_names[i]) == 0) {
			*out = (enum impair_dist)i;
			return 0;
		}
	}
	return ctl_args_fail(e, -EINVAL,
			     "%s: expected \"uniform\", \"normal\", \"pareto\" or \"paretonormal\"",
			     field);
}

/* Store JSON value v of knob k into cfg. */
static int ctl_knob_read(const struct ctl_knob *k, json_t *v, const char *field,
			 struct impair_cfg *cfg, struct ctl_err *e)
{
	char *p = (char *)cfg + k->off;
	int64_t i = 0;
	double d = 0;
	int err = 0;

	switch (k->type) {
	case KNOB_MS:
		err = ctl_impair_number(v, field, 0, CTL_IMPAIR_MAX_MS, &d, e);
		*(uint64_t *)p = err ? 0 : (uint64_t)llround(d * NS_PER_MS);
		break;
	case KNOB_PCT:
		err = ctl_impair_number(v, field, 0, 100, &d, e);
		memcpy(p, &d, sizeof(d));
		break;
	case KNOB_BOOL:
		if (!json_is_boolean(v))
			return ctl_args_fail(e, -EINVAL, "%s: expected a boolean", field);
		*(bool *)p = json_is_true(v);
		break;
	case KNOB_DIST:
		err = ctl_impair_dist(v, field, (enum impair_dist *)p, e);
		break;
	case KNOB_UINT:
	case KNOB_INT:
		err = ctl_impair_integer(v, field, k->min, k->max, &i, e);
		if (err)
			break;
		if (k->max <= UINT32_MAX && k->min >= 0)
			*(uint32_t *)p = (uint32_t)i;
		else if (k->min < 0)
			*(int32_t *)p = (int32_t)i;
		else
			*(uint64_t *)p = (uint64_t)i;
		break;
	}
	return err;
}

static const struct ctl_knob *ctl_knob_find(const struct ctl_knob *t, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(t[i].name, name) == 0)
			return &t[i];
	return NULL;
}

/* Read the members of obj named in table t into cfg; unknown members are errors. */
static int ctl_knobs_read_table(json_t *obj, const struct ctl_knob *t, size_t n, const char *prefix,
				struct impair_cfg *cfg, struct ctl_err *e)
{
	char field[CTL_FIELD_MAX];
	const struct ctl_knob *k;
	const char *key;
	json_t *v;
	int err;

	json_object_foreach(obj, key, v) {
		k = ctl_knob_find(t, n, key);
		if ((size_t)snprintf(field, sizeof(field), "%s.%s", prefix, key) >= sizeof(field))
			return ctl_args_fail(e, -EINVAL, "%s: a knob name of %zu characters is unknown",
					     prefix, strlen(key));
		if (!k)
			return ctl_args_fail(e, -EINVAL, "%s: unknown knob", field);
		err = ctl_knob_read(k, v, field, cfg, e);
		if (err)
			return err;
	}
	return 0;
}

/* gemodel {p, r?, h?, k?}, with tc's defaults r = 100, 1-h = 100, 1-k = 0. */
static int ctl_impair_ge(json_t *v, const char *field, struct impair_cfg *cfg, struct ctl_err *e)
{
	if (!json_is_object(v) || !json_object_get(v, "p"))
		return ctl_args_fail(e, -EINVAL, "%s: expected an object {p, r?, h?, k?}", field);
	cfg->ge = (struct impair_ge){.r = 100, .h = 100};
	cfg->loss_model = IMPAIR_LOSS_GE;
	return ctl_knobs_read_table(v, ctl_ge_knobs, NKNOBS(ctl_ge_knobs), field, cfg, e);
}

/* state4 {p13, ...}, with tc's defaults p31 = 100 - p13, p32 = 0, p23 = 100, p14 = 0. */
static int ctl_impair_s4(json_t *v, const char *field, struct impair_cfg *cfg, struct ctl_err *e)
{
	int err;

	if (!json_is_object(v) || !json_object_get(v, "p13"))
		return ctl_args_fail(e, -EINVAL,
				     "%s: expected an object {p13, p31?, p32?, p23?, p14?}", field);
	cfg->s4 = (struct impair_4state){.p23 = 100};
	cfg->loss_model = IMPAIR_LOSS_4STATE;
	err = ctl_knobs_read_table(v, ctl_s4_knobs, NKNOBS(ctl_s4_knobs), field, cfg, e);
	if (!err && !json_object_get(v, "p31"))
		cfg->s4.p31 = 100 - cfg->s4.p13;
	return err;
}

/* The loss model: loss, gemodel and state4 exclude each other and replace each other. */
static int ctl_impair_loss_model(json_t *obj, const char *prefix, struct impair_cfg *cfg,
				 struct ctl_err *e)
{
	json_t *loss = json_object_get(obj, "loss"), *ge = json_object_get(obj, "gemodel");
	json_t *s4 = json_object_get(obj, "state4");
	char field[CTL_FIELD_MAX];

	if (!!loss + !!ge + !!s4 > 1)
		return ctl_args_fail(e, -EINVAL, "%s: give one loss model: loss, gemodel or state4",
				     prefix);
	if (!loss && !ge && !s4)
		return 0;
	cfg->loss_model = IMPAIR_LOSS_RANDOM;
	cfg->loss = 0;
	cfg->ge = (struct impair_ge){0};
	cfg->s4 = (struct impair_4state){0};
	snprintf(field, sizeof(field), "%s.%s", prefix, ge ? "gemodel" : "state4");
	if (ge)
		return ctl_impair_ge(ge, field, cfg, e);
	if (s4)
		return ctl_impair_s4(s4, field, cfg, e);
	return 0; /* loss itself is a plain knob */
}

/* Is key a knob name (or one of the extra names the command takes)? */
static bool ctl_is_knob(const char *key, const char *const *extra)
{
	if (ctl_knob_find(ctl_knobs, NKNOBS(ctl_knobs), key) || strcmp(key, "gemodel") == 0 ||
	    strcmp(key, "state4") == 0)
		return true;
	for (; extra && *extra; extra++)
		if (strcmp(key, *extra) == 0)
			return true;
	return false;
}

/*
 * Apply the knobs in obj to cfg; members named in skip (target, mode...) are
 * left alone, any other unknown member is an error. prefix names obj in
 * messages ("args", "args.steps[2]").
 */
static int ctl_knobs_read(json_t *obj, const char *prefix, const char *const *skip,
			  struct impair_cfg *cfg, struct ctl_err *e)
{
	char field[CTL_FIELD_MAX];
	const struct ctl_knob *k;
	const char *key;
	json_t *v;
	int err;

	err = ctl_impair_loss_model(obj, prefix, cfg, e);
	json_object_foreach(obj, key, v) {
		if (err)
			break;
		snprintf(field, sizeof(field), "%s.%s", prefix, key);
		if (!ctl_is_knob(key, skip))
			return ctl_args_fail(e, -EINVAL, "%s: unknown knob", field);
		k = ctl_knob_find(ctl_knobs, NKNOBS(ctl_knobs), key);
		if (k && !json_is_null(v))
			err = ctl_knob_read(k, v, field, cfg, e);
	}
	return err;
}

/* impair_cfg_check() with a message naming the field under prefix. */
static int ctl_impair_check(const struct impair_cfg *cfg, const char *prefix, struct ctl_err *e)
{
	const char *field;

	if (!impair_cfg_check(cfg, &field))
		return 0;
	if (strcmp(field, "reorder") == 0)
		return ctl_args_fail(e, -EINVAL, "%s.reorder: reordering needs a delay (delay_ms)",
				     prefix);
	if (strcmp(field, "reorder_gap") == 0)
		return ctl_args_fail(e, -EINVAL, "%s.reorder_gap: needs reorder", prefix);
	if (strncmp(field, "state4.", 7) == 0)
		return ctl_args_fail(e, -EINVAL,
				     "%s.state4: p13 + p14 and p31 + p32 must not exceed 100",
				     prefix);
	return ctl_args_fail(e, -EINVAL, "%s.%s: out of range", prefix, field);
}

/* ---- writing knobs ---- */

static json_t *ctl_knob_json(const struct ctl_knob *k, const struct impair_cfg *cfg)
{
	const char *p = (const char *)cfg + k->off;
	double d;

	switch (k->type) {
	case KNOB_MS:
		return *(const uint64_t *)p ? json_real((double)*(const uint64_t *)p / NS_PER_MS)
					    : NULL;
	case KNOB_PCT:
		memcpy(&d, p, sizeof(d));
		return d != 0 ? json_real(d) : NULL;
	case KNOB_BOOL:
		return *(const bool *)p ? json_true() : NULL;
	case KNOB_DIST:
		return cfg->jitter_ns ? json_string(ctl_dist_names[cfg->dist]) : NULL;
	case KNOB_UINT:
	case KNOB_INT:
		break;
	}
	if (k->min < 0)
		return *(const int32_t *)p ? json_integer(*(const int32_t *)p) : NULL;
	if (k->max <= UINT32_MAX)
		return *(const uint32_t *)p ? json_integer(*(const uint32_t *)p) : NULL;
	return *(const uint64_t *)p ? json_integer((json_int_t) * (const uint64_t *)p) : NULL;
}

/* The knobs of table t that are set, as members of obj (all of them when all is true). */
static void ctl_knobs_put(json_t *obj, const struct ctl_knob *t, size_t n,
			  const struct impair_cfg *cfg, bool all)
{
	for (size_t i = 0; i < n; i++) {
		json_t *v = ctl_knob_json(&t[i], cfg);

		if (!v && all)
			v = json_real(0);
		if (v)
			json_object_set_new(obj, t[i].name, ctl_must(v));
	}
}

/* The knobs in force, as they are spelled in requests; unset knobs are left out. */
static json_t *ctl_knobs_json(const struct impair_cfg *cfg)
{
	json_t *obj = ctl_must(json_object()), *sub;

	ctl_knobs_put(obj, ctl_knobs, NKNOBS(ctl_knobs), cfg, false);
	if (cfg->loss_model == IMPAIR_LOSS_GE) {
		sub = ctl_must(json_object());
		ctl_knobs_put(sub, ctl_ge_knobs, NKNOBS(ctl_ge_knobs), cfg, true);
		json_object_set_new(obj, "gemodel", sub);
	} else if (cfg->loss_model == IMPAIR_LOSS_4STATE) {
		sub = ctl_must(json_object());
		ctl_knobs_put(sub, ctl_s4_knobs, NKNOBS(ctl_s4_knobs), cfg, true);
		json_object_set_new(obj, "state4", sub);
	}
	return obj;
}

static json_t *ctl_stats_json(const struct impair_stats *s)
{
	return ctl_must(json_pack(
		"{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "delayed", (json_int_t)s->delayed,
		"dropped_loss", (json_int_t)s->dropped_loss, "dropped_queue",
		(json_int_t)s->dropped_queue, "dropped_port", (json_int_t)s->dropped_port,
		"duplicated", (json_int_t)s->duplicated, "corrupted", (json_int_t)s->corrupted,
		"reordered", (json_int_t)s->reordered, "queue_depth", (json_int_t)s->queue_packets,
		"queue_bytes", (json_int_t)s->queue_bytes));
}

/* ---- targets ---- */

/* The port named by args.key, which must be on bridge *br (DP_ALL: any; then set). */
static int ctl_impair_port(struct ctl *ctl, json_t *args, const char *key, uint32_t *id,
			   uint32_t *br, struct ctl_err *e)
{
	struct dp_port_info pi;
	const char *name;
	int err;

	err = ctl_args_str(args, key, true, &name, e);
	if (!err)
		err = ctl_find_port(ctl, name, id, e);
	if (!err)
		err = ctl_port_info(ctl, *id, &pi, e);
	if (err)
		return err;
	if (*br != DP_ALL && pi.bridge != *br)
		return ctl_args_fail(e, -EINVAL, "args.%s: port \"%s\" is on another bridge", key,
				     name);
	*br = pi.bridge;
	return 0;
}

static int ctl_impair_port_dir(struct ctl *ctl, json_t *args, struct dp_impair_target *t,
			       struct ctl_err *e)
{
	uint32_t br = DP_ALL;
	const char *dir;
	int err;

	err = ctl_args_str(args, "dir", true, &dir, e);
	if (err)
		return err;
	if (strcmp(dir, "tx") != 0 && strcmp(dir, "rx") != 0)
		return ctl_args_fail(e, -EINVAL, "args.dir: expected \"tx\" or \"rx\"");
	t->kind = dir[0] == 't' ? DP_IMPAIR_PORT_TX : DP_IMPAIR_PORT_RX;
	return ctl_impair_port(ctl, args, "port", &t->a, &br, e);
}

/* The target named by args: exactly one of bridge, port + dir, from + to. */
static int ctl_impair_target(struct ctl *ctl, json_t *args, struct dp_impair_target *t,
			     struct ctl_err *e)
{
	bool bridge = json_object_get(args, "bridge"), port = json_object_get(args, "port");
	bool pair = json_object_get(args, "from") || json_object_get(args, "to");
	const char *name;
	uint32_t br = DP_ALL;
	int err;

	*t = (struct dp_impair_target){0};
	if (bridge + port + pair != 1)
		return ctl_args_fail(e, -EINVAL,
				     "args: give one target: bridge, port and dir, "
				     "or from and to");
	if (port)
		return ctl_impair_port_dir(ctl, args, t, e);
	if (json_object_get(args, "dir"))
		return ctl_args_fail(e, -EINVAL, "args.dir: only with port");
	if (pair) {
		t->kind = DP_IMPAIR_PAIR;
		err = ctl_impair_port(ctl, args, "from", &t->a, &br, e);
		if (!err)
			err = ctl_impair_port(ctl, args, "to", &t->b, &br, e);
		if (!err && t->a == t->b)
			err = ctl_args_fail(e, -EINVAL, "args.to: the same port as args.from");
		return err;
	}
	t->kind = DP_IMPAIR_BRIDGE;
	err = ctl_args_str(args, "bridge", true, &name, e);
	return err ? err : ctl_find_bridge(ctl, name, &t->a, e);
}

/* The target as the members of a request: {"port": P, "dir": "tx"}... */
static json_t *ctl_target_json(struct ctl *ctl, const struct dp_impair_target *t)
{
	char name[DP_BRIDGE_NAME_MAX] = "";
	struct dp_port_info a = {0}, b = {0};

	dp_port_info(ctl->dp, t->a, &a);
	switch (t->kind) {
	case DP_IMPAIR_BRIDGE:
		dp_bridge_name(ctl->dp, t->a, name);
		return ctl_must(json_pack("{s:s}", "bridge", name));
	case DP_IMPAIR_PORT_TX:
	case DP_IMPAIR_PORT_RX:
		return ctl_must(json_pack("{s:s, s:s}", "port", a.name, "dir",
					  t->kind == DP_IMPAIR_PORT_TX ? "tx" : "rx"));
	case DP_IMPAIR_PAIR:
		break;
	}
	dp_port_info(ctl->dp, t->b, &b);
	return ctl_must(json_pack("{s:s, s:s}", "from", a.name, "to", b.name));
}

/* ---- commands ---- */

/* args.mode: true for "replace", false for "update" (the default). */
static int ctl_impair_mode(json_t *args, bool *replace, struct ctl_err *e)
{
	const char *mode;
	int err = ctl_args_str(args, "mode", false, &mode, e);

	*replace = false;
	if (err || !mode)
		return err;
	if (strcmp(mode, "update") != 0 && strcmp(mode, "replace") != 0)
		return ctl_args_fail(e, -EINVAL, "args.mode: expected \"update\" or \"replace\"");
	*replace = mode[0] == 'r';
	return 0;
}

/* The knobs in force on t (none when it has no impairment), seed 0: keep it. */
static int ctl_impair_current(struct ctl *ctl, const struct dp_impair_target *t,
			      struct impair_cfg *cfg, struct ctl_err *e)
{
	int err = dp_impair_get(ctl->dp, t, cfg, NULL);

	if (err == -ENODATA) {
		*cfg = (struct impair_cfg){0};
		err = 0;
	}
	cfg->seed = 0;
	return err ? ctl_dp_fail(e, err, "impair") : 0;
}

/* {target..., knobs, stats?} of t as it is now. */
static json_t *ctl_impair_describe(struct ctl *ctl, const struct dp_impair_target *t, bool stats)
{
	struct impair_stats st = {0};
	struct impair_cfg cfg = {0};
	json_t *obj = ctl_target_json(ctl, t);

	dp_impair_get(ctl->dp, t, &cfg, &st);
	json_object_set_new(obj, "knobs", ctl_knobs_json(&cfg));
	if (stats)
		json_object_set_new(obj, "stats", ctl_stats_json(&st));
	return obj;
}

/* Map a dp_impair_* error to a message. */
static int ctl_impair_fail(int err, const char *what, struct ctl_err *e)
{
	if (err == -ENOSPC)
		return ctl_args_fail(e, err, "%s: too many impairment targets (at most %d)", what,
				     DP_IMPAIR_MAX);
	return ctl_dp_fail(e, err, what);
}

static const char *const ctl_set_extra[] = {"bridge", "port", "dir", "from", "to", "mode", NULL};

static int cmd_impair_set(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct dp_impair_target t;
	struct impair_cfg cfg = {0};
	bool replace;
	int err;

	err = ctl_impair_target(ctl, args, &t, e);
	if (!err)
		err = ctl_impair_mode(args, &replace, e);
	if (!err && !replace)
		err = ctl_impair_current(ctl, &t, &cfg, e);
	if (!err)
		err = ctl_knobs_read(args, "args", ctl_set_extra, &cfg, e);
	if (!err)
		err = ctl_impair_check(&cfg, "args", e);
	if (err)
		return err;
	err = dp_impair_set(ctl->dp, &t, &cfg);
	if (err)
		return ctl_impair_fail(err, "impair/set", e);
	*result = ctl_impair_describe(ctl, &t, false);
	return 0;
}

static int cmd_impair_get(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct dp_impair_target t;
	int err = ctl_impair_target(ctl, args, &t, e);

	if (err)
		return err;
	*result = ctl_impair_describe(ctl, &t, true);
	return 0;
}

static int cmd_impair_clear(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct dp_impair_target t;
	int err = ctl_impair_target(ctl, args, &t, e);

	(void)result;
	if (err)
		return err;
	err = dp_impair_set(ctl->dp, &t, NULL);
	return err ? ctl_impair_fail(err, "impair/clear", e) : 0;
}

static int cmd_impair_clear_all(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	uint32_t br;
	int err = ctl_find_bridge_opt(ctl, args, &br, e);

	(void)result;
	if (err)
		return err;
	err = dp_impair_clear_all(ctl->dp, br);
	return err ? ctl_impair_fail(err, "impair/clear_all", e) : 0;
}

static int cmd_impair_list(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct dp_impair_entry *list = ctl->scratch->impairs;
	uint32_t br;
	size_t n;
	json_t *obj;
	int err = ctl_find_bridge_opt(ctl, args, &br, e);

	if (err)
		return err;
	n = dp_impair_list(ctl->dp, br, list, DP_IMPAIR_MAX);
	*result = ctl_must(json_array());
	for (size_t i = 0; i < n && i < DP_IMPAIR_MAX; i++) {
		obj = ctl_target_json(ctl, &list[i].target);
		json_object_set_new(obj, "knobs", ctl_knobs_json(&list[i].cfg));
		json_object_set_new(obj, "stats", ctl_stats_json(&list[i].stats));
		json_object_set_new(obj, "scheduled", json_boolean(list[i].scheduled));
		json_array_append_new(*result, obj);
	}
	return 0;
}

/* ---- schedules ---- */

static const char *const ctl_step_extra[] = {"at_ms", NULL};

/* Step i of args.steps into *s, its knobs starting from prev. */
static int ctl_impair_step(json_t *item, size_t i, const struct impair_cfg *prev, bool replace,
			   struct impair_step *s, struct ctl_err *e)
{
	char prefix[48], field[CTL_FIELD_MAX];
	double at = 0;
	int err;

	snprintf(prefix, sizeof(prefix), "args.steps[%zu]", i);
	snprintf(field, sizeof(field), "%s.at_ms", prefix);
	if (!json_is_object(item))
		return ctl_args_fail(e, -EINVAL, "%s: expected an object", prefix);
	err = ctl_impair_number(json_object_get(item, "at_ms"), field, 0, 1e12, &at, e);
	if (err)
		return err;
	s->at_ns = (uint64_t)llround(at * NS_PER_MS);
	if (replace)
		memset(&s->cfg, 0, sizeof(s->cfg));
	else
		s->cfg = *prev;
	s->cfg.seed = 0;
	err = ctl_knobs_read(item, prefix, ctl_step_extra, &s->cfg, e);
	return err ? err : ctl_impair_check(&s->cfg, prefix, e);
}

/* args.steps as a list of full knob sets, starting from base. */
static int ctl_impair_steps(json_t *args, const struct impair_cfg *base, bool replace,
			    struct impair_step *steps, size_t *n, struct ctl_err *e)
{
	json_t *list = json_object_get(args, "steps"), *item;
	size_t i;
	int err;

	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > DP_IMPAIR_MAX_STEPS)
		return ctl_args_fail(e, -EINVAL, "args.steps: expected an array of 1 to %d steps",
				     DP_IMPAIR_MAX_STEPS);
	json_array_foreach(list, i, item) {
		err = ctl_impair_step(item, i, i ? &steps[i - 1].cfg : base, replace, &steps[i], e);
		if (!err && i && steps[i].at_ns <= steps[i - 1].at_ns)
			err = ctl_args_fail(e, -EINVAL,
					    "args.steps[%zu].at_ms: not after the step "
					    "before",
					    i);
		if (err)
			return err;
	}
	*n = json_array_size(list);
	return 0;
}

/* args.repeat and args.period_ms: the period in ns, 0 without repeat. */
static int ctl_impair_period(json_t *args, uint64_t last_ns, uint64_t *period, struct ctl_err *e)
{
	json_t *v = json_object_get(args, "period_ms");
	bool repeat;
	double ms = 0;
	int err;

	*period = 0;
	err = ctl_args_bool(args, "repeat", 0, &repeat, e);
	if (err || !repeat)
		return err ? err
		       : v ? ctl_args_fail(e, -EINVAL, "args.period_ms: only with repeat")
			   : 0;
	if (!v)
		return ctl_args_fail(e, -EINVAL, "args.period_ms: missing (repeat needs it)");
	err = ctl_impair_number(v, "args.period_ms", 0, 1e12, &ms, e);
	if (err)
		return err;
	*period = (uint64_t)llround(ms * NS_PER_MS);
	if (*period <= last_ns)
		return ctl_args_fail(e, -EINVAL,
				     "args.period_ms: must exceed the last step's at_ms");
	return 0;
}

static int cmd_impair_schedule(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct impair_step *steps = ctl->scratch->steps;
	struct dp_impair_target t;
	struct impair_cfg base = {0};
	uint64_t period = 0;
	bool replace;
	size_t n = 0;
	int err;

	err = ctl_impair_target(ctl, args, &t, e);
	if (!err)
		err = ctl_impair_mode(args, &replace, e);
	if (!err)
		err = ctl_impair_current(ctl, &t, &base, e);
	if (!err)
		err = ctl_impair_steps(args, &base, replace, steps, &n, e);
	if (!err)
		err = ctl_impair_period(args, steps[n - 1].at_ns, &period, e);
	if (err)
		return err;
	err = dp_impair_schedule(ctl->dp, &t, steps, n, period);
	if (err)
		return ctl_impair_fail(err, "impair/schedule", e);
	*result = ctl_impair_describe(ctl, &t, false);
	json_object_set_new(*result, "steps", ctl_must(json_integer((json_int_t)n)));
	return 0;
}

/* The upper bound in us of the histogram bucket where a fraction q of frames is reached. */
static uint64_t ctl_impair_late_quantile(const struct dp_impair_timer *t, uint64_t total, double q)
{
	uint64_t seen = 0;

	for (unsigned int i = 0; i < DP_IMPAIR_LATE_BUCKETS; i++) {
		seen += t->late[i];
		if (seen && (double)seen >= q * (double)total)
			return 1ull << i;
	}
	return 0;
}

/* The spin asked for: args.spin_us, or auto (args.auto true); *set false when neither. */
static int ctl_impair_timer_arg(json_t *args, uint32_t *spin_us, bool *set, struct ctl_err *e)
{
	uint64_t spin;
	bool autospin = false;
	int err = ctl_args_bool(args, "auto", 0, &autospin, e);

	if (err)
		return err;
	*set = autospin || json_object_get(args, "spin_us");
	if (autospin && json_object_get(args, "spin_us"))
		return ctl_args_fail(e, -EINVAL, "args: give spin_us or auto, not both");
	if (autospin || !*set) {
		*spin_us = DP_IMPAIR_SPIN_AUTO;
		return 0;
	}
	err = ctl_args_uint(args, "spin_us", 0, DP_IMPAIR_SPIN_MAX_US, &spin, e);
	*spin_us = (uint32_t)spin;
	return err;
}

/*
 * impair/timer: set the spin time (args.spin_us, or args.auto: learned) if
 * given; report it, whether it is learned, the loop's typical wake-up
 * lateness and the delayed frames' lateness.
 */
static int cmd_impair_timer(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct dp_impair_timer t;
	json_t *hist;
	uint64_t total = 0;
	uint32_t spin;
	bool set;
	int err = ctl_impair_timer_arg(args, &spin, &set, e);

	if (err)
		return err;
	if (set) {
		err = dp_impair_timer_set(ctl->dp, spin);
		if (err)
			return ctl_dp_fail(e, err, "impair/timer");
	}
	dp_impair_timer_get(ctl->dp, &t);
	hist = ctl_must(json_array());
	for (unsigned int i = 0; i < DP_IMPAIR_LATE_BUCKETS; i++) {
		total += t.late[i];
		json_array_append_new(hist, ctl_must(json_integer((json_int_t)t.late[i])));
	}
	*result = ctl_must(
		json_pack("{s:I, s:b, s:I, s:I, s:{s:I, s:I, s:I}, s:o}", "spin_us",
			  (json_int_t)t.spin_us, "auto", t.spin_auto, "wake_p50_us",
			  (json_int_t)t.wake_typical_us, "sent", (json_int_t)total, "late_us",
			  "p50", (json_int_t)ctl_impair_late_quantile(&t, total, 0.5), "p99",
			  (json_int_t)ctl_impair_late_quantile(&t, total, 0.99), "max",
			  (json_int_t)ctl_impair_late_quantile(&t, total, 1.0), "histogram", hist));
	return 0;
}

/* impair/set takes every knob; the dispatcher checks names against this list. */
#define CTL_IMPAIR_KNOB_ARGS                                                                      \
	"delay_ms", "jitter_ms", "delay_corr", "distribution", "keep_order", "loss", "loss_corr", \
		"gemodel", "state4", "duplicate", "duplicate_corr", "corrupt", "corrupt_corr",    \
		"reorder", "reorder_corr", "reorder_gap", "rate_bps", "rate_overhead",            \
		"rate_cell", "limit_packets", "limit_bytes", "seed"

const struct ctl_cmd ctl_impair_cmds[CTL_IMPAIR_NCMDS] = {
	CTL_CMD("impair/set", cmd_impair_set,
		CTL_ARGS("bridge", "port", "dir", "from", "to", "mode", CTL_IMPAIR_KNOB_ARGS)),
	CTL_READ("impair/get", cmd_impair_get, CTL_ARGS("bridge", "port", "dir", "from", "to")),
	CTL_CMD("impair/clear", cmd_impair_clear, CTL_ARGS("bridge", "port", "dir", "from", "to")),
	CTL_CMD("impair/clear_all", cmd_impair_clear_all, CTL_ARGS("bridge")),
	CTL_READ("impair/list", cmd_impair_list, CTL_ARGS("bridge")),
	CTL_CMD("impair/schedule", cmd_impair_schedule,
		CTL_ARGS("bridge", "port", "dir", "from", "to", "mode", "steps", "repeat",
			 "period_ms")),
	CTL_CMD("impair/timer", cmd_impair_timer, CTL_ARGS("spin_us", "auto")),
};

/* ---- the daemon configuration's "impairments" section ---- */

static int ctl_impair_config_item(struct ctl *ctl, json_t *item, const char *path, void *arg,
				  struct ctl_err *e)
{
	int err = ctl_config_type(item, JSON_OBJECT, path, e);

	(void)arg;
	if (err)
		return err;
	json_incref(item);
	return ctl_config_call(ctl,
			       json_object_get(item, "steps") ? "impair/schedule" : "impair/set",
			       item, path, e);
}

int ctl_impair_config(struct ctl *ctl, json_t *value, const char *path, struct ctl_err *e)
{
	return ctl_config_each(ctl, value, path, ctl_impair_config_item, NULL, e);
}
