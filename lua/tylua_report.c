/* SPDX-License-Identifier: MIT */
/*
 * tylua_report: the runner's machine-readable report (`tapyard test
 * --json`): one JSON object per test file, on a line of its own, in the
 * shape Provium's --json prints.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tylua_impl.h"

static const char *const tylua_report_status[] = {"passed", "failed", "skipped"};

/* A string, or null for NULL. */
static json_t *tylua_report_str(const char *s)
{
	json_t *v = s ? json_string(s) : json_null();

	return v ? v : json_string("(not UTF-8)");
}

/* The log lines of a test as an array of strings. */
static json_t *tylua_report_log(const char *log)
{
	json_t *lines = json_array();

	while (log && *log) {
		size_t n = strcspn(log, "\n");

		json_t *line = json_stringn(log, n);

		json_array_append_new(lines, line ? line : json_string("(not UTF-8)"));
		log += n + (log[n] == '\n');
	}
	return lines;
}

void tylua_report_json(FILE *out, const char *path, const char *chunk_error,
		       const struct tylua_case *cases, size_t n)
{
	json_t *tests = json_array(), *file;
	bool passed = !chunk_error;
	char *text;

	for (size_t i = 0; i < n; i++) {
		const struct tylua_outcome *o = &cases[i].o;

		passed &= o->status != TYLUA_FAIL;
		json_array_append_new(tests,
				      json_pack("{s:s, s:s, s:o, s:o, s:f}", "name", cases[i].name,
						"status", tylua_report_status[o->status], "message",
						tylua_report_str(o->message), "log",
						tylua_report_log(o->log), "secs", o->secs));
	}
	file = json_pack("{s:s, s:s, s:b, s:o, s:o}", "path", path, "timeout", "in_time", "passed",
			 passed, "chunk_error", tylua_report_str(chunk_error), "tests", tests);
	text = file ? json_dumps(file, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
	if (text)
		fprintf(out, "%s\n", text);
	free(text);
	json_decref(file);
}
