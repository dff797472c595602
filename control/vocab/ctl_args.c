/* SPDX-License-Identifier: MIT */
/* ctl_args: typed, checked access to the "args" object of a control request. */
#include "ctl_args.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int ctl_args_fail(struct ctl_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	e->code = err;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

static bool ctl_args_allowed(const char *key, const char *const *allowed)
{
	for (; *allowed; allowed++) {
		if (strcmp(key, *allowed) == 0)
			return true;
	}
	return false;
}

int ctl_args_check(json_t *args, const char *const *allowed, struct ctl_err *e)
{
	const char *key;
	json_t *v;

	json_object_foreach(args, key, v) {
		if (!ctl_args_allowed(key, allowed))
			return ctl_args_fail(e, -EINVAL, "args.%s: unknown argument", key);
	}
	return 0;
}

/* The value of key, or NULL when absent or null; -EINVAL when required and missing. */
static int ctl_args_get(json_t *args, const char *key, bool required, json_t **v, struct ctl_err *e)
{
	*v = json_object_get(args, key);
	if (*v && json_is_null(*v))
		*v = NULL;
	if (!*v && required)
		return ctl_args_fail(e, -EINVAL, "args.%s: missing", key);
	return 0;
}

static int ctl_args_string_value(json_t *v, const char *key, const char **out, struct ctl_err *e)
{
	if (!json_is_string(v))
		return ctl_args_fail(e, -EINVAL, "args.%s: expected a string", key);
	if (json_string_length(v) == 0)
		return ctl_args_fail(e, -EINVAL, "args.%s: must not be empty", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return ctl_args_fail(e, -EINVAL, "args.%s: contains a NUL byte", key);
	*out = json_string_value(v);
	return 0;
}

int ctl_args_str(json_t *args, const char *key, bool required, const char **out, struct ctl_err *e)
{
	json_t *v;
	int err;

	*out = NULL;
	err = ctl_args_get(args, key, required, &v, e);
	if (err || !v)
		return err;
	return ctl_args_string_value(v, key, out, e);
}

int ctl_args_bool(json_t *args, const char *key, int def, bool *out, struct ctl_err *e)
{
	json_t *v;
	int err;

	*out = def > 0;
	err = ctl_args_get(args, key, def == CTL_ARGS_REQUIRED, &v, e);
	if (err || !v)
		return err;
	if (!json_is_boolean(v))
		return ctl_args_fail(e, -EINVAL, "args.%s: expected a boolean", key);
	*out = json_is_true(v);
	return 0;
}

int ctl_args_uint(json_t *args, const char *key, uint64_t min, uint64_t max, uint64_t *out,
		  struct ctl_err *e)
{
	json_int_t i;
	json_t *v;
	int err;

	err = ctl_args_get(args, key, true, &v, e);
	if (err)
		return err;
	i = json_is_integer(v) ? json_integer_value(v) : -1;
	if (!json_is_integer(v) || i < 0 || (uint64_t)i < min || (uint64_t)i > max)
		return ctl_args_fail(e, -EINVAL, "args.%s: expected an integer from %llu to %llu",
				     key, (unsigned long long)min, (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

int ctl_args_uint_opt(json_t *args, const char *key, uint64_t min, uint64_t max, uint64_t def,
		      uint64_t *out, struct ctl_err *e)
{
	json_t *v;

	ctl_args_get(args, key, false, &v, e);
	if (!v) {
		*out = def;
		return 0;
	}
	return ctl_args_uint(args, key, min, max, out, e);
}

int ctl_args_strs(json_t *args, const char *key, bool required, const char **out, size_t max,
		  size_t *n, struct ctl_err *e)
{
	char field[96];
	size_t i;
	json_t *v, *item;
	int err;

	*n = 0;
	err = ctl_args_get(args, key, required, &v, e);
	if (err || !v)
		return err;
	if (json_is_string(v)) {
		*n = 1;
		return ctl_args_string_value(v, key, &out[0], e);
	}
	if (!json_is_array(v))
		return ctl_args_fail(e, -EINVAL,
				     "args.%s: expected a string or an array of strings", key);
	if (json_array_size(v) == 0)
		return ctl_args_fail(e, -EINVAL, "args.%s: must not be empty", key);
	if (json_array_size(v) > max)
		return ctl_args_fail(e, -E2BIG, "args.%s: more than %zu names", key, max);
	json_array_foreach(v, i, item) {
		snprintf(field, sizeof(field), "%s[%zu]", key, i);
		err = ctl_args_string_value(item, field, &out[i], e);
		if (err)
			return err;
	}
	*n = json_array_size(v);
	return 0;
}
