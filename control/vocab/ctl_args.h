/* SPDX-License-Identifier: MIT */
/*
 * ctl_args: typed access to a request's "args" object, with error messages
 * that name the bad field ("args.up: expected a boolean"). Internal to ctl.
 *
 * Every helper returns 0 or a negative errno and, on error, fills a
 * struct ctl_err with the message the reply will carry.
 */
#ifndef TAPYARD_CTL_ARGS_H
#define TAPYARD_CTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* An error on its way into a reply. */
struct ctl_err {
	int code; /* negative errno */
	char msg[4096]; /* a VM's boot error ends with its console's last lines */
};

/* Record err and a printf-style message in e. Returns err. */
int ctl_args_fail(struct ctl_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * ctl_args_check() - refuse keys of args not in allowed (NULL-terminated).
 * Return: 0 or -EINVAL ("args.foo: unknown argument").
 */
int ctl_args_check(json_t *args, const char *const *allowed, struct ctl_err *e);

/*
 * ctl_args_str() - a non-empty string argument.
 * @out: receives the string (borrowed from args) or NULL when absent and optional
 * Return: 0 or -EINVAL.
 */
int ctl_args_str(json_t *args, const char *key, bool required, const char **out, struct ctl_err *e);

/* Pass as def to ctl_args_bool() for a required argument. */
#define CTL_ARGS_REQUIRED -1

/* A boolean argument; def (0 or 1) when absent, or CTL_ARGS_REQUIRED. Returns 0 or -EINVAL. */
int ctl_args_bool(json_t *args, const char *key, int def, bool *out, struct ctl_err *e);

/*
 * ctl_args_uint() - a required integer argument within [min, max].
 * Return: 0 or -EINVAL ("args.age_ms: expected an integer from 1 to 4294967295").
 */
int ctl_args_uint(json_t *args, const char *key, uint64_t min, uint64_t max, uint64_t *out,
		  struct ctl_err *e);

/*
 * ctl_args_uint_opt() - an optional integer argument within [min, max].
 * @def: what *out receives when the argument is absent or null
 * Return: 0 or -EINVAL, as ctl_args_uint().
 */
int ctl_args_uint_opt(json_t *args, const char *key, uint64_t min, uint64_t max, uint64_t def,
		      uint64_t *out, struct ctl_err *e);

/*
 * ctl_args_strs() - a string or an array of strings.
 * @out: receives up to max borrowed strings
 * @n: receives the count (0 when absent and optional)
 * Return: 0, -EINVAL (wrong type, empty) or -E2BIG (more than max).
 */
int ctl_args_strs(json_t *args, const char *key, bool required, const char **out, size_t max,
		  size_t *n, struct ctl_err *e);

#endif
