/* SPDX-License-Identifier: MIT */
/*
 * ctl_opt: the option parser every subcommand shares (see ctl_opt.h). One
 * pass over the words: each is positional, "--", or an option looked up in
 * the caller's table, whose value is the rest after '=' or the next word.
 * ctl_opt_main() adds what every subcommand does around it: --help, the
 * usage error, too many words.
 */
#include "ctl_opt.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

__attribute__((format(printf, 2, 3))) static int ctl_opt_fail(struct ctl_opt_res *res,
							      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Does word look like an option ("-x", "--name"; not "-" alone)? */
static bool ctl_opt_is_option(const char *word)
{
	return word[0] == '-' && word[1];
}

/* The row of opts that word names (-x, --name or --name=VALUE), or NULL. */
static const struct ctl_opt *ctl_opt_find(const struct ctl_opt *opts, const char *word)
{
	const char *name = word + 2;
	size_t len = strcspn(name, "=");

	for (; opts->name; opts++) {
		if (word[1] != '-' && opts->letter && opts->letter == word[1] && !word[2])
			return opts;
		if (word[1] == '-' && strlen(opts->name) == len && !strncmp(name, opts->name, len))
			return opts;
	}
	return NULL;
}

/* Record option o, given as argv[*i], taking its value (argv[*i + 1] or after '='). */
static int ctl_opt_take(const struct ctl_opt *o, int argc, char **argv, int *i,
			struct ctl_opt_res *res)
{
	const char *word = argv[*i], *eq = word[1] == '-' ? strchr(word, '=') : NULL;
	const char *value = word;
	int len = (int)strcspn(word, "=");

	if (!o->value && eq)
		return ctl_opt_fail(res, "%.*s takes no value", len, word);
	if (o->value)
		value = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
	if (!value || !*value)
		return ctl_opt_fail(res, "%.*s needs a %s", len, word, o->what ? o->what : "value");
	res->hits[res->nhits++] = (struct ctl_opt_hit){o->id, value};
	return 0;
}

/* One word that is an option (or "--"); *ended: the options are over. */
static int ctl_opt_word(const struct ctl_opt *opts, unsigned int flags, int argc, char **argv,
			int *i, bool *ended, struct ctl_opt_res *res)
{
	const struct ctl_opt *o;

	if (strcmp(argv[*i], "--") == 0) {
		*ended = true;
		if (flags & CTL_OPT_PASS)
			res->pos[res->npos++] = argv[*i];
		return 0;
	}
	o = ctl_opt_find(opts, argv[*i]);
	if (o)
		return ctl_opt_take(o, argc, argv, i, res);
	if (!(flags & CTL_OPT_PASS))
		return ctl_opt_fail(res, "unknown option %s", argv[*i]);
	res->pos[res->npos++] = argv[*i];
	return 0;
}

int ctl_opt_parse(const struct ctl_opt *opts, unsigned int flags, int argc, char **argv,
		  struct ctl_opt_res *res)
{
	bool ended = false;
	int err = 0;

	memset(res, 0, sizeof(*res));
	res->hits = calloc((size_t)argc + 1, sizeof(*res->hits));
	res->pos = calloc((size_t)argc + 1, sizeof(*res->pos));
	if (!res->hits || !res->pos) {
		ctl_opt_fail(res, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; !err && i < argc; i++) {
		if (!ended && ctl_opt_is_option(argv[i])) {
			err = ctl_opt_word(opts, flags, argc, argv, &i, &ended, res);
			continue;
		}
		res->pos[res->npos++] = argv[i];
		ended = ended || (flags & CTL_OPT_STOP);
	}
	return err;
}

void ctl_opt_free(struct ctl_opt_res *res)
{
	if (!res)
		return;
	free(res->hits);
	free(res->pos);
	res->hits = NULL;
	res->pos = NULL;
	res->nhits = res->npos = 0;
}

const char *ctl_opt_get(const struct ctl_opt_res *res, int id)
{
	for (int i = res->nhits - 1; i >= 0; i--) {
		if (res->hits[i].id == id)
			return res->hits[i].value;
	}
	return NULL;
}

bool ctl_opt_has(const struct ctl_opt_res *res, int id)
{
	return ctl_opt_get(res, id) != NULL;
}

int ctl_opt_int(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end || errno || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int ctl_opt_real(const char *s, double min, double max, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno || isnan(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int ctl_opt_main(const struct ctl_opt_cmd *cmd, int argc, char **argv, struct ctl_opt_res *res)
{
	int err = ctl_opt_parse(cmd->opts, cmd->flags, argc - 1, argv + 1, res);

	if (ctl_opt_has(res, cmd->help)) {
		fputs(cmd->usage, stdout);
		return CTL_EXIT_OK;
	}
	if (err == -ENOMEM) {
		fprintf(stderr, "tapyard: %s: %s\n", cmd->name, res->msg);
		return CTL_EXIT_ERROR;
	}
	if (err)
		return ctl_opt_usage(cmd->name, cmd->name, "%s", res->msg);
	if (cmd->max >= 0 && res->npos > cmd->max)
		return ctl_opt_usage(cmd->name, cmd->name, "unexpected argument \"%s\"",
				     res->pos[cmd->max]);
	return -1;
}

int ctl_opt_usage(const char *cmd, const char *help, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "tapyard: %s%s", cmd ? cmd : "", cmd ? ": " : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see tapyard %s --help)\n", help);
	return CTL_EXIT_USAGE;
}
