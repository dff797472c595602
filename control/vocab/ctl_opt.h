/* SPDX-License-Identifier: MIT */
/*
 * ctl_opt: the one option parser of every `tapyard` subcommand (daemon,
 * cleanup, ctl and its capture commands, test, run, lsp-setup), and the
 * number parsing and usage-error line they share.
 *
 * A subcommand declares a const table of its options; ctl_opt_parse() walks
 * the words, checks them against the table and returns every option it met,
 * in order, with its value, and the positional words. It prints nothing: a
 * usage error comes back as -EINVAL with a message naming the option, which
 * the caller prints with its own prefix (ctl_opt_usage()).
 *
 *   --name VALUE, --name=VALUE   an option that takes a value (never empty)
 *   --name, -x                   a flag (-x: the option's letter; one per word)
 *   --                           ends the options: every later word is positional
 *   -                            a positional word, as is anything not starting with -
 */
#ifndef TAPYARD_CTL_OPT_H
#define TAPYARD_CTL_OPT_H

#include <stdbool.h>

/* One option of a table; a row with a NULL name ends the table. */
struct ctl_opt {
	const char *name; /* long name without the dashes: "socket" for --socket */
	char letter; /* short name: 'h' for -h; 0 for none */
	bool value; /* takes a value */
	int id; /* what the caller calls it (ctl_opt_get()); any number */
	const char *what; /* the value in "--socket needs a PATH"; NULL: "value" */
};

/* Flags of ctl_opt_parse(). */
enum {
	/* Options end at the first positional word (`tapyard run FILE ARGS...`). */
	CTL_OPT_STOP = 1 << 0,
	/* Words that are not options of the table are positional, "--" too (and it
	 * ends the options): a first pass for global options, the rest parsed later. */
	CTL_OPT_PASS = 1 << 1,
};

/* One option met: its id, and its value (a flag's: the word as typed). */
struct ctl_opt_hit {
	int id;
	const char *value;
};

/* What ctl_opt_parse() found; free with ctl_opt_free(). */
struct ctl_opt_res {
	struct ctl_opt_hit *hits; /* the options, in the order given */
	int nhits;
	char **pos; /* the positional words, in order (NULL-terminated) */
	int npos;
	char msg[160]; /* the usage error, without prefix or newline */
};

/*
 * ctl_opt_parse() - parse words against an option table.
 * @opts: the table, ended by a row with a NULL name
 * @flags: CTL_OPT_* flags
 * @argc, @argv: the words after the subcommand's name (argv[0] is a word)
 * @res: filled (zeroed first); free it with ctl_opt_free() whatever this returns
 * Return: 0, -EINVAL (res->msg says which word is wrong: "unknown option --foo",
 * "--interval needs a value", "--json takes no value") or -ENOMEM (res->msg:
 * "out of memory"). After an error, res holds the options before the bad word
 * (so that a --help given first can still win).
 */
int ctl_opt_parse(const struct ctl_opt *opts, unsigned int flags, int argc, char **argv,
		  struct ctl_opt_res *res);

/* Free what ctl_opt_parse() allocated; the struct may be reused. NULL is a no-op. */
void ctl_opt_free(struct ctl_opt_res *res);

/* The value of the last option id given (a flag's word), or NULL when it was not given. */
const char *ctl_opt_get(const struct ctl_opt_res *res, int id);

/* Was option id given? */
bool ctl_opt_has(const struct ctl_opt_res *res, int id);

/* A subcommand that takes nothing but its options and positional words. */
struct ctl_opt_cmd {
	const char *name; /* "daemon": in "tapyard: daemon: ..." and "tapyard daemon --help" */
	const struct ctl_opt *opts;
	unsigned int flags; /* CTL_OPT_* */
	int help; /* the id of its --help option */
	const char *usage; /* what --help prints */
	int max; /* positional words it takes at most; -1: any number */
};

/*
 * ctl_opt_main() - parse a subcommand's words the way every subcommand does:
 * --help (before any bad word) prints cmd->usage on stdout; a bad word, or
 * more than cmd->max positional ones, prints a usage error naming it.
 * @argv: argv[0] is the subcommand's name, the rest as typed
 * @res: filled as by ctl_opt_parse(); free it with ctl_opt_free() in every case
 * Return: -1 to go on with res, or the exit code to return: CTL_EXIT_OK after
 * --help, CTL_EXIT_USAGE, CTL_EXIT_ERROR (out of memory).
 */
int ctl_opt_main(const struct ctl_opt_cmd *cmd, int argc, char **argv, struct ctl_opt_res *res);

/*
 * ctl_opt_int() - a whole number in [min, max], all of s.
 * Return: 0 with *out set, or -EINVAL (not a number, out of range, NULL or empty s).
 */
int ctl_opt_int(const char *s, long long min, long long max, long long *out);

/*
 * ctl_opt_real() - a real number in [min, max], all of s.
 * Return: 0 with *out set, or -EINVAL, as ctl_opt_int().
 */
int ctl_opt_real(const char *s, double min, double max, double *out);

/*
 * ctl_opt_usage() - print a usage error on stderr:
 * "tapyard: CMD: MESSAGE\n(see tapyard HELP --help)\n".
 * @cmd: the message's prefix ("daemon"), or NULL for none
 * @help: the command whose --help to point at ("ctl capture")
 * Return: CTL_EXIT_USAGE, for the caller to return.
 */
int ctl_opt_usage(const char *cmd, const char *help, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
