/* SPDX-License-Identifier: MIT */
/*
 * ctl_config: the daemon's configuration file. One table of top-level
 * sections, each a function that checks its JSON (naming the path of any bad
 * value) and applies it through ctl_call(), so a configuration can do exactly
 * what `tapyard ctl` can, and nothing else.
 */
#include "ctl_config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl_impair.h"
#include "ctl_impl.h"

static int ctl_config_bridges(struct ctl *ctl, json_t *value, const char *path, struct ctl_err *e);
static int ctl_config_partitions(struct ctl *ctl, json_t *value, const char *path,
				 struct ctl_err *e);
static int ctl_config_commands(struct ctl *ctl, json_t *value, const char *path, struct ctl_err *e);

/* Every top-level section, in the order they are applied; a module adds its row here. */
static const struct ctl_config_section ctl_config_sections[] = {
	{"bridges", ctl_config_bridges},
	{"partitions", ctl_config_partitions},
	{"impairments", ctl_impair_config},
	{"commands", ctl_config_commands},
};

#define CTL_CONFIG_NSECTIONS (sizeof(ctl_config_sections) / sizeof(ctl_config_sections[0]))

static const char *ctl_config_type_name(json_type type)
{
	switch (type) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

int ctl_config_type(json_t *value, json_type type, const char *path, struct ctl_err *e)
{
	bool ok = type == JSON_TRUE ? json_is_boolean(value) : json_typeof(value) == type;

	if (!ok)
		return ctl_args_fail(e, -EINVAL, "%s: expected %s", path,
				     ctl_config_type_name(type));
	if (type == JSON_STRING && json_string_length(value) == 0)
		return ctl_args_fail(e, -EINVAL, "%s: must not be empty", path);
	return 0;
}

int ctl_config_keys(json_t *obj, const char *const *allowed, const char *path, struct ctl_err *e)
{
	const char *key;
	json_t *v;
	size_t i;
	int err;

	err = ctl_config_type(obj, JSON_OBJECT, path, e);
	if (err)
		return err;
	json_object_foreach(obj, key, v) {
		for (i = 0; allowed[i] && strcmp(allowed[i], key) != 0; i++)
			;
		if (!allowed[i])
			return ctl_args_fail(e, -EINVAL, "%s.%s: unknown key", path, key);
	}
	return 0;
}

int ctl_config_get(json_t *obj, const char *key, json_type type, bool required, const char *path,
		   json_t **out, struct ctl_err *e)
{
	char where[CTL_CONFIG_PATH_MAX];

	snprintf(where, sizeof(where), "%s.%s", path, key);
	*out = json_object_get(obj, key);
	if (!*out && required)
		return ctl_args_fail(e, -EINVAL, "%s: missing", where);
	if (!*out)
		return 0;
	return ctl_config_type(*out, type, where, e);
}

int ctl_config_call(struct ctl *ctl, const char *cmd, json_t *args, const char *path,
		    struct ctl_err *e)
{
	const char *message;
	json_t *reply;
	int err;

	if (!ctl) {
		json_decref(args); /* the checking pass */
		return 0;
	}
	reply = ctl_call(ctl, cmd, args);
	err = ctl_reply_error(reply, NULL, &message);
	if (err)
		ctl_args_fail(e, -EINVAL, "%s: %s", path, message ? message : "malformed reply");
	json_decref(reply);
	return err ? -EINVAL : 0;
}

int ctl_config_each(struct ctl *ctl, json_t *value, const char *path, ctl_config_item_fn fn,
		    void *arg, struct ctl_err *e)
{
	char where[CTL_CONFIG_PATH_MAX];
	json_t *item;
	size_t i;
	int err;

	err = ctl_config_type(value, JSON_ARRAY, path, e);
	json_array_foreach(value, i, item) {
		if (err)
			break;
		snprintf(where, sizeof(where), "%s[%zu]", path, i);
		err = fn(ctl, item, where, arg, e);
	}
	return err;
}

/* ---- bridges ---- */

/* A port's "qmp" and "qmp_netdev" keys, copied into port/add's args (a string each). */
static int ctl_config_port_qmp(json_t *port, const char *path, json_t *args, struct ctl_err *e)
{
	json_t *qmp, *netdev;
	int err;

	err = ctl_config_get(port, "qmp", JSON_STRING, false, path, &qmp, e);
	if (!err)
		err = ctl_config_get(port, "qmp_netdev", JSON_STRING, false, path, &netdev, e);
	if (err)
		return err;
	if (!qmp != !netdev)
		return ctl_args_fail(e, -EINVAL,
				     "%s.%s: needed with %s (a QMP socket and the id "
				     "of the VM's -netdev)",
				     path, qmp ? "qmp_netdev" : "qmp", qmp ? "qmp" : "qmp_netdev");
	if (qmp) {
		json_object_set(args, "qmp", qmp);
		json_object_set(args, "qmp_netdev", netdev);
	}
	return 0;
}

/* One element of a bridge's "ports": port/add, then link/set when "link" is "down". */
static int ctl_config_port(struct ctl *ctl, json_t *port, const char *path, void *arg,
			   struct ctl_err *e)
{
	const char *bridge = arg, *state;
	json_t *name, *existing, *link, *type, *args;
	int err;

	err = ctl_config_keys(port, CTL_ARGS("name", "existing", "link", "type", "qmp", "qmp_netdev"),
			      path, e);
	if (!err)
		err = ctl_config_get(port, "name", JSON_STRING, true, path, &name, e);
	if (!err)
		err = ctl_config_get(port, "existing", JSON_TRUE, false, path, &existing, e);
	if (!err)
		err = ctl_config_get(port, "link", JSON_STRING, false, path, &link, e);
	if (!err)
		err = ctl_config_get(port, "type", JSON_STRING, false, path, &type, e);
	if (err)
		return err;
	state = link ? json_string_value(link) : "up";
	if (strcmp(state, "up") != 0 && strcmp(state, "down") != 0)
		return ctl_args_fail(e, -EINVAL, "%s.link: expected \"up\" or \"down\"", path);
	args = ctl_must(json_pack("{s:s, s:O, s:b, s:b, s:O*}", "bridge", bridge, "name", name,
				  "existing", json_is_true(existing), "up", 1, "type", type));
	err = ctl_config_port_qmp(port, path, args, e);
	if (err) {
		json_decref(args);
		return err;
	}
	err = ctl_config_call(ctl, "port/add", args, path, e);
	if (!err && strcmp(state, "down") == 0)
		err = ctl_config_call(ctl, "link/set",
				      json_pack("{s:O, s:b}", "port", name, "up", 0), path, e);
	return err;
}

/* One element of "bridges": bridge/add, fdb/set_age, then its ports. */
static int ctl_config_bridge(struct ctl *ctl, json_t *br, const char *path, void *arg,
			     struct ctl_err *e)
{
	char where[CTL_CONFIG_PATH_MAX];
	json_t *name, *age, *ports;
	int err;

	(void)arg;
	err = ctl_config_keys(br, CTL_ARGS("name", "fdb_age_ms", "ports"), path, e);
	if (!err)
		err = ctl_config_get(br, "name", JSON_STRING, true, path, &name, e);
	if (!err)
		err = ctl_config_get(br, "fdb_age_ms", JSON_INTEGER, false, path, &age, e);
	if (!err)
		err = ctl_config_get(br, "ports", JSON_ARRAY, false, path, &ports, e);
	if (err)
		return err;
	if (age && (json_integer_value(age) < 1 || json_integer_value(age) > UINT32_MAX))
		return ctl_args_fail(e, -EINVAL, "%s.fdb_age_ms: expected an integer from 1 to %u",
				     path, UINT32_MAX);
	err = ctl_config_call(ctl, "bridge/add", json_pack("{s:O}", "name", name), path, e);
	if (!err && age)
		err = ctl_config_call(ctl, "fdb/set_age",
				      json_pack("{s:O, s:O}", "bridge", name, "age_ms", age), path,
				      e);
	snprintf(where, sizeof(where), "%s.ports", path);
	if (!err && ports)
		err = ctl_config_each(ctl, ports, where, ctl_config_port,
				      (void *)json_string_value(name), e);
	return err;
}

static int ctl_config_bridges(struct ctl *ctl, json_t *value, const char *path, struct ctl_err *e)
{
	return ctl_config_each(ctl, value, path, ctl_config_bridge, NULL, e);
}

/* ---- partitions ---- */

/* A port set: a non-empty string or a non-empty array of them. */
static int ctl_config_names(json_t *obj, const char *key, const char *path, struct ctl_err *e)
{
	char where[CTL_CONFIG_PATH_MAX];
	json_t *v, *item;
	size_t i;

	snprintf(where, sizeof(where), "%s.%s", path, key);
	v = json_object_get(obj, key);
	if (!v)
		return ctl_args_fail(e, -EINVAL, "%s: missing", where);
	if (json_is_string(v))
		return ctl_config_type(v, JSON_STRING, where, e);
	if (!json_is_array(v) || !json_array_size(v))
		return ctl_args_fail(
			e, -EINVAL, "%s: expected a string or a non-empty array of strings", where);
	json_array_foreach(v, i, item) {
		snprintf(where, sizeof(where), "%s.%s[%zu]", path, key, i);
		if (ctl_config_type(item, JSON_STRING, where, e))
			return -EINVAL;
	}
	return 0;
}

static int ctl_config_partition(struct ctl *ctl, json_t *p, const char *path, void *arg,
				struct ctl_err *e)
{
	json_t *oneway;
	int err;

	(void)arg;
	err = ctl_config_keys(p, CTL_ARGS("from", "to", "oneway"), path, e);
	if (!err)
		err = ctl_config_names(p, "from", path, e);
	if (!err)
		err = ctl_config_names(p, "to", path, e);
	if (!err)
		err = ctl_config_get(p, "oneway", JSON_TRUE, false, path, &oneway, e);
	if (err)
		return err;
	return ctl_config_call(ctl, "partition/cut",
			       json_pack("{s:O, s:O, s:b}", "from", json_object_get(p, "from"),
					 "to", json_object_get(p, "to"), "oneway",
					 json_is_true(oneway)),
			       path, e);
}

static int ctl_config_partitions(struct ctl *ctl, json_t *value, const char *path,
				 struct ctl_err *e)
{
	return ctl_config_each(ctl, value, path, ctl_config_partition, NULL, e);
}

/* ---- commands ---- */

static int ctl_config_command(struct ctl *ctl, json_t *c, const char *path, void *arg,
			      struct ctl_err *e)
{
	json_t *cmd, *args;
	int err;

	(void)arg;
	err = ctl_config_keys(c, CTL_ARGS("cmd", "args"), path, e);
	if (!err)
		err = ctl_config_get(c, "cmd", JSON_STRING, true, path, &cmd, e);
	if (!err)
		err = ctl_config_get(c, "args", JSON_OBJECT, false, path, &args, e);
	if (err)
		return err;
	return ctl_config_call(ctl, json_string_value(cmd), json_incref(args), path, e);
}

static int ctl_config_commands(struct ctl *ctl, json_t *value, const char *path, struct ctl_err *e)
{
	return ctl_config_each(ctl, value, path, ctl_config_command, NULL, e);
}

/* ---- the whole file ---- */

/* Prefix e's message with "config: ". */
static int ctl_config_fail(struct ctl_err *e, int err)
{
	char msg[sizeof(e->msg)];

	snprintf(msg, sizeof(msg), "%s", e->msg);
	return ctl_args_fail(e, err, "config: %s", msg);
}

/* Refuse top-level keys that are not sections. */
static int ctl_config_check_sections(json_t *config, struct ctl_err *e)
{
	char known[256] = "";
	const char *key;
	size_t i, len = 0;
	json_t *v;

	for (i = 0; i < CTL_CONFIG_NSECTIONS && len < sizeof(known); i++)
		len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", i ? ", " : "",
					ctl_config_sections[i].name);
	json_object_foreach(config, key, v) {
		for (i = 0; i < CTL_CONFIG_NSECTIONS; i++) {
			if (strcmp(ctl_config_sections[i].name, key) == 0)
				break;
		}
		if (i == CTL_CONFIG_NSECTIONS)
			return ctl_args_fail(e, -EINVAL, "%s: unknown section (known: %s)", key,
					     known);
	}
	return 0;
}

/* Run every section present in config, in table order. */
static int ctl_config_run(struct ctl *ctl, json_t *config, struct ctl_err *e)
{
	const struct ctl_config_section *s;
	json_t *value;
	int err = 0;

	for (size_t i = 0; !err && i < CTL_CONFIG_NSECTIONS; i++) {
		s = &ctl_config_sections[i];
		value = json_object_get(config, s->name);
		if (value)
			err = s->fn(ctl, value, s->name, e);
	}
	return err;
}

int ctl_config_apply(struct ctl *ctl, json_t *config, struct ctl_err *e)
{
	int err;

	if (!json_is_object(config))
		return ctl_args_fail(e, -EINVAL, "config: expected an object");
	err = ctl_config_check_sections(config, e);
	if (!err)
		err = ctl_config_run(NULL, config, e); /* check everything first */
	if (!err)
		err = ctl_config_run(ctl, config, e);
	return err ? ctl_config_fail(e, err) : 0;
}

int ctl_config_load(struct ctl *ctl, const char *path, struct ctl_err *e)
{
	json_error_t jerr;
	json_t *config;
	int err;

	config = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!config) {
		if (jerr.line < 1)
			return ctl_args_fail(e, -EINVAL, "config: %s", jerr.text);
		return ctl_args_fail(e, -EINVAL, "config: %s:%d:%d: %s", path, jerr.line,
				     jerr.column, jerr.text);
	}
	err = ctl_config_apply(ctl, config, e);
	json_decref(config);
	return err;
}
