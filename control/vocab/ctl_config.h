/* SPDX-License-Identifier: MIT */
/*
 * ctl_config: the daemon's declarative configuration file (`tapyard daemon
 * --config FILE`), a JSON object of top-level sections applied at start, in
 * table order, through the command vocabulary (ctl_call), never around it:
 *
 *   {"bridges": [{"name": "lan", "fdb_age_ms": 300000,
 *                 "ports": [{"name": "vm-a1", "existing": false, "link": "up"},
 *                           {"name": "vm-b1", "type": "netdev"}]}],
 *    "partitions": [{"from": ["vm-a1"], "to": ["vm-b1"], "oneway": true}],
 *    "commands": [{"cmd": "log/set", "args": {"level": "debug"}}]}
 *
 * Unknown keys are errors. Every error names its JSON path:
 *   "config: bridges[0].ports[1].name: expected a string"
 *
 * A module adds a section with one row in ctl_config_sections[] (ctl_config.c)
 * and one ctl_config_fn, which checks its value with the helpers below and
 * applies it with ctl_config_call(). Each section function runs twice: first
 * with ctl NULL, when ctl_config_call() only frees its args, so that a badly
 * formed file is refused before anything is applied; then for real.
 */
#ifndef TAPYARD_CTL_CONFIG_H
#define TAPYARD_CTL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "ctl.h"
#include "ctl_args.h"

/* Longest JSON path in a message ("bridges[0].ports[12].name"). */
#define CTL_CONFIG_PATH_MAX 128

/*
 * A section: apply value (the section's JSON, any type) to ctl.
 * @ctl: NULL in the checking pass (see above)
 * @path: the section's name, the prefix of every path in its messages
 * Return: 0, or a negative errno with e naming the path ("bridges[0].name: ...").
 */
typedef int (*ctl_config_fn)(struct ctl *ctl, json_t *value, const char *path, struct ctl_err *e);

struct ctl_config_section {
	const char *name;
	ctl_config_fn fn;
};

/*
 * ctl_config_apply() - check, then apply a parsed configuration.
 * Return: 0, or a negative errno with e->msg starting "config: ". When a
 * command fails, what was applied before it stays (the daemon exits and
 * undoes it all); a malformed file applies nothing.
 */
int ctl_config_apply(struct ctl *ctl, json_t *config, struct ctl_err *e);

/* ctl_config_load() - read, parse and apply the file at path, as ctl_config_apply(). */
int ctl_config_load(struct ctl *ctl, const char *path, struct ctl_err *e);

/* ---- helpers for section functions ---- */

/*
 * ctl_config_type() - value must be of type (JSON_TRUE stands for any boolean).
 * Return: 0 or -EINVAL ("path: expected an array").
 */
int ctl_config_type(json_t *value, json_type type, const char *path, struct ctl_err *e);

/*
 * ctl_config_keys() - obj must be an object whose keys are all in allowed
 * (NULL-terminated). Return: 0 or -EINVAL ("path.key: unknown key").
 */
int ctl_config_keys(json_t *obj, const char *const *allowed, const char *path, struct ctl_err *e);

/*
 * ctl_config_get() - member key of obj, checked against type (JSON_TRUE: a
 * boolean; a string must not be empty).
 * @out: receives the member (borrowed), NULL when absent and optional
 * Return: 0 or -EINVAL ("path.key: missing", "path.key: expected a string").
 */
int ctl_config_get(json_t *obj, const char *key, json_type type, bool required, const char *path,
		   json_t **out, struct ctl_err *e);

/*
 * ctl_config_call() - run cmd with args (stolen) through the dispatcher.
 * @ctl: NULL in the checking pass: nothing runs, returns 0
 * Return: 0, or -EINVAL with e->msg "path: <the command's error message>".
 */
int ctl_config_call(struct ctl *ctl, const char *cmd, json_t *args, const char *path,
		    struct ctl_err *e);

/* An element function of ctl_config_each(); path is "section[i]", arg as given. */
typedef int (*ctl_config_item_fn)(struct ctl *ctl, json_t *item, const char *path, void *arg,
				  struct ctl_err *e);

/*
 * ctl_config_each() - value must be an array; call fn on each element with
 * its path "path[i]". Return: 0 or the first error.
 */
int ctl_config_each(struct ctl *ctl, json_t *value, const char *path, ctl_config_item_fn fn,
		    void *arg, struct ctl_err *e);

#endif
