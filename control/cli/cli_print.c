/* SPDX-License-Identifier: MIT */
/* cli_print: aligned human-readable tables of command results for `tapyard ctl`. */
#include "cli_print.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CTL_PRINT_GROUP_COLS 6 /* numbers per row in a counter block */

/* A table filled cell by cell, row after row, printed with aligned columns. */
struct cli_print_table {
	unsigned int ncols;
	unsigned int right; /* bit i set: right-align column i */
	size_t n, cap; /* cells filled and allocated */
	char **cells;
};

/* Append one cell; out of memory leaves it empty. */
static void cli_print_cell(struct cli_print_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void cli_print_cell(struct cli_print_table *t, const char *fmt, ...)
{
	char **grown;
	va_list ap;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		grown = realloc(t->cells, t->cap * sizeof(*grown));
		if (!grown) {
			t->cap = t->n;
			return;
		}
		t->cells = grown;
	}
	va_start(ap, fmt);
	if (vasprintf(&t->cells[t->n], fmt, ap) < 0)
		t->cells[t->n] = NULL;
	va_end(ap);
	t->n++;
}

/* Start a table whose header row is the NULL-terminated column names in ap. */
static void cli_print_table_init(struct cli_print_table *t, unsigned int right, va_list ap)
{
	const char *name;
	va_list count;

	*t = (struct cli_print_table){.right = right};
	va_copy(count, ap);
	while (va_arg(count, const char *))
		t->ncols++;
	va_end(count);
	while ((name = va_arg(ap, const char *)))
		cli_print_cell(t, "%s", name);
}

static const char *cli_print_cell_at(const struct cli_print_table *t, size_t i)
{
	return i < t->n && t->cells[i] ? t->cells[i] : "";
}

/* Print the table with columns two spaces apart, then free it. */
static void cli_print_table_out(struct cli_print_table *t, FILE *f, const char *indent)
{
	size_t width[32] = {0}, len;
	unsigned int c;
	const char *s;

	for (size_t i = 0; i < t->n; i++) {
		len = strlen(cli_print_cell_at(t, i));
		c = (unsigned int)(i % t->ncols);
		if (c < 32 && len > width[c])
			width[c] = len;
	}
	for (size_t i = 0; i < t->n; i++) {
		c = (unsigned int)(i % t->ncols);
		s = cli_print_cell_at(t, i);
		if (c == 0)
			fputs(indent, f);
		if (t->right & (1u << c))
			fprintf(f, "%*s", (int)width[c], s);
		else if (c + 1 == t->ncols || i + 1 == t->n)
			fputs(s, f); /* no trailing blanks */
		else
			fprintf(f, "%-*s", (int)width[c], s);
		fputs(c + 1 == t->ncols || i + 1 == t->n ? "\n" : "  ", f);
	}
	for (size_t i = 0; i < t->n; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n = t->cap = 0;
}

/* A string member of obj, or "-" when absent. */
static const char *cli_print_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "-";
}

/*
 * Print names over their values in aligned columns, CTL_PRINT_GROUP_COLS per
 * row, label before the first row: the layout of `ip -s link`.
 */
static void cli_print_group(FILE *f, const char *label, const char *const *names, json_t **values,
			    size_t n)
{
	struct cli_print_table t;
	size_t cols;

	for (size_t start = 0; start < n; start += CTL_PRINT_GROUP_COLS) {
		cols = n - start < CTL_PRINT_GROUP_COLS ? n - start : CTL_PRINT_GROUP_COLS;
		t = (struct cli_print_table){.ncols = (unsigned int)cols + 1, .right = ~1u};
		cli_print_cell(&t, "%-6s", start ? "" : label);
		for (size_t i = 0; i < cols; i++)
			cli_print_cell(&t, "%s", names[start + i]);
		cli_print_cell(&t, "%s", "");
		for (size_t i = 0; i < cols; i++)
			cli_print_cell(&t, "%" JSON_INTEGER_FORMAT,
				       json_integer_value(values[start + i]));
		cli_print_table_out(&t, f, "    ");
	}
}

static void cli_print_uptime(FILE *f, json_int_t s)
{
	if (s >= 86400)
		fprintf(f, "%" JSON_INTEGER_FORMAT "d ", s / 86400);
	if (s >= 3600)
		fprintf(f, "%02" JSON_INTEGER_FORMAT "h ", s / 3600 % 24);
	if (s >= 60)
		fprintf(f, "%02" JSON_INTEGER_FORMAT "m ", s / 60 % 60);
	fprintf(f, "%02" JSON_INTEGER_FORMAT "s", s % 60);
}

void cli_print_status(FILE *f, json_t *result)
{
	json_t *loop = json_object_get(result, "loop"), *v, *values[32];
	const char *names[32], *key;
	size_t n = 0;

	fprintf(f, "tapyard %s, up ", cli_print_str(result, "version"));
	cli_print_uptime(f, json_integer_value(json_object_get(result, "uptime_s")));
	fprintf(f, ", log level %s\n", cli_print_str(result, "log_level"));
	fprintf(f, "bridges %" JSON_INTEGER_FORMAT ", ports %" JSON_INTEGER_FORMAT "\n",
		json_integer_value(json_object_get(result, "bridges")),
		json_integer_value(json_object_get(result, "ports")));
	fprintf(f, "loop: %s, %s reads\n",
		json_is_true(json_object_get(loop, "running")) ? "running" : "stopped",
		json_is_true(json_object_get(loop, "multishot")) ? "multishot" : "single-shot");
	json_object_foreach(loop, key, v) {
		if (json_is_integer(v) && n < 32) {
			names[n] = key;
			values[n++] = v;
		}
	}
	cli_print_group(f, "", names, values, n);
}

/* Fills the cells of one row from one element of a result array. */
typedef void (*cli_print_row_fn)(struct cli_print_table *t, json_t *item);

/*
 * One row per element of the array items, under a header row of the
 * NULL-terminated column names; nothing at all for an empty array.
 */
static void cli_print_rows(FILE *f, json_t *items, cli_print_row_fn row, unsigned int right, ...)
{
	struct cli_print_table t;
	json_t *item;
	va_list ap;
	size_t i;

	if (!json_array_size(items))
		return;
	va_start(ap, right);
	cli_print_table_init(&t, right, ap);
	va_end(ap);
	json_array_foreach(items, i, item)
		row(&t, item);
	cli_print_table_out(&t, f, "");
}

static void cli_print_bridge_row(struct cli_print_table *t, json_t *br)
{
	char *ports = NULL;
	size_t len = 0, j;
	json_t *port;
	FILE *m = open_memstream(&ports, &len);

	if (m) {
		json_array_foreach(json_object_get(br, "ports"), j, port)
			fprintf(m, "%s%s", j ? " " : "", json_string_value(port));
		fclose(m);
	}
	cli_print_cell(t, "%s", cli_print_str(br, "name"));
	cli_print_cell(t, "%s", len ? ports : "-");
	free(ports);
}

void cli_print_bridges(FILE *f, json_t *result)
{
	cli_print_rows(f, result, cli_print_bridge_row, 0, "NAME", "PORTS", NULL);
}

/* How link state reaches the port's guest: "qmp PATH#ID", "carrier" or "switch only". */
static void cli_print_guest_link(struct cli_print_table *t, json_t *p)
{
	const char *via = cli_print_str(p, "link_via");

	if (strcmp(via, "qmp") == 0)
		cli_print_cell(t, "qmp %s#%s", cli_print_str(p, "qmp"),
			       cli_print_str(p, "qmp_netdev"));
	else if (strcmp(via, "switch") == 0)
		cli_print_cell(t, "switch only");
	else
		cli_print_cell(t, "%s", via);
}

static void cli_print_port_row(struct cli_print_table *t, json_t *p)
{
	cli_print_cell(t, "%s", cli_print_str(p, "name"));
	cli_print_cell(t, "%s", cli_print_str(p, "bridge"));
	cli_print_cell(t, "%s", cli_print_str(p, "kind"));
	cli_print_cell(t, "%s", json_is_true(json_object_get(p, "up")) ? "up" : "down");
	cli_print_cell(t, "%s%s%s",
		       json_is_true(json_object_get(p, "created")) ? "created" : "existing",
		       json_is_true(json_object_get(p, "offloads")) ? ",offloads" : "",
		       json_is_true(json_object_get(p, "gone")) ? ",gone" : "");
	cli_print_guest_link(t, p);
}

void cli_print_ports(FILE *f, json_t *result)
{
	/* link/qmp and link/set reply with one port, port/list with an array of them. */
	json_t *one = json_is_object(result) ? json_pack("[O]", result) : NULL;

	cli_print_rows(f, one ? one : result, cli_print_port_row, 0, "NAME", "BRIDGE", "KIND",
		       "LINK", "FLAGS", "GUEST LINK", NULL);
	json_decref(one);
}

void cli_print_port_added(FILE *f, json_t *result)
{
	const char *changed = json_string_value(json_object_get(result, "changed"));

	fprintf(f, "port %s added to bridge %s as a %s port (%s)%s%s\n",
		cli_print_str(result, "name"), cli_print_str(result, "bridge"),
		cli_print_str(result, "kind"),
		json_is_true(json_object_get(result, "created")) ? "created" : "existing",
		changed ? "; changed on the interface: " : "", changed ? changed : "");
}

static void cli_print_partition_row(struct cli_print_table *t, json_t *p)
{
	cli_print_cell(t, "%s", cli_print_str(p, "from"));
	cli_print_cell(t, "->");
	cli_print_cell(t, "%s", cli_print_str(p, "to"));
}

void cli_print_partitions(FILE *f, json_t *result)
{
	cli_print_rows(f, result, cli_print_partition_row, 0, "FROM", "", "TO", NULL);
}

/* The group a counter is shown in, and its name there. */
static int cli_print_counter_group(const char *name, const char **shown)
{
	static const char *const prefixes[] = {"rx_", "tx_", "drop_"};

	for (int g = 0; g < 3; g++) {
		if (strncmp(name, prefixes[g], strlen(prefixes[g])) == 0) {
			*shown = name + strlen(prefixes[g]);
			return g;
		}
	}
	*shown = name;
	return 1; /* multicast and other counters of what the guest sent */
}

static void cli_print_counter_block(FILE *f, json_t *port)
{
	static const char *const labels[] = {"RX:", "TX:", "drops:"};
	const char *names[3][64], *key, *shown;
	json_t *values[3][64], *v;
	size_t n[3] = {0};
	int g;

	fprintf(f, "%s (bridge %s)\n", cli_print_str(port, "name"), cli_print_str(port, "bridge"));
	json_object_foreach(json_object_get(port, "counters"), key, v) {
		g = cli_print_counter_group(key, &shown);
		if (n[g] < 64) {
			names[g][n[g]] = shown;
			values[g][n[g]++] = v;
		}
	}
	for (g = 0; g < 3; g++)
		cli_print_group(f, labels[g], names[g], values[g], n[g]);
}

void cli_print_counters(FILE *f, json_t *result)
{
	json_t *port;
	size_t i;

	json_array_foreach(json_object_get(result, "ports"), i, port)
		cli_print_counter_block(f, port);
}

/* A port's counter by name; "drops" is the sum of its drop_* counters. */
static double cli_print_counter(json_t *port, const char *name)
{
	json_t *counters = json_object_get(port, "counters"), *v;
	json_int_t sum = 0;
	const char *key;

	if (strcmp(name, "drops") != 0)
		return (double)json_integer_value(json_object_get(counters, name));
	json_object_foreach(counters, key, v) {
		if (strncmp(key, "drop_", 5) == 0)
			sum += json_integer_value(v);
	}
	return (double)sum;
}

/* The port named like port in a counters/get result, or NULL. */
static json_t *cli_print_port_in(json_t *result, json_t *port)
{
	const char *name = cli_print_str(port, "name");
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(result, "ports"), i, p) {
		if (strcmp(cli_print_str(p, "name"), name) == 0)
			return p;
	}
	return NULL;
}

/* A number as a cell with an SI prefix: 950, 12.3k, 4.56M. */
static void cli_print_si(struct cli_print_table *t, double v, const char *unit)
{
	static const char prefixes[] = " kMGTP";
	int i = 0;

	while (v >= 999.5 && i < 5) {
		v /= 1000;
		i++;
	}
	if (!i)
		cli_print_cell(t, "%.0f%s", v, unit);
	else
		cli_print_cell(t, "%.*f%c%s", v < 9.995 ? 2 : v < 99.95 ? 1 : 0, v, prefixes[i],
			       unit);
}

/* The rate of a counter between before and now, times scale; "-" without a sample. */
static void cli_print_rate(struct cli_print_table *t, json_t *now, json_t *before,
			   const char *counter, double scale, double seconds)
{
	double delta;

	if (!before || seconds <= 0) {
		cli_print_cell(t, "-");
		return;
	}
	delta = cli_print_counter(now, counter) - cli_print_counter(before, counter);
	if (delta < 0)
		cli_print_cell(t, "-"); /* counters were reset */
	else
		cli_print_si(t, delta * scale / seconds, "");
}

/* Start a table with the NULL-terminated header row that follows right. */
static void cli_print_table_start(struct cli_print_table *t, unsigned int right, ...)
{
	va_list ap;

	va_start(ap, right);
	cli_print_table_init(t, right, ap);
	va_end(ap);
}

void cli_print_rates(FILE *f, json_t *now, json_t *before, double seconds)
{
	struct cli_print_table t;
	json_t *port, *old;
	size_t i;

	cli_print_table_start(&t, ~1u, "PORT", "RX_PKTS", "RX_PPS", "RX_BIT/S", "TX_PKTS",
			      "TX_PPS", "TX_BIT/S", "DROPS", "DROP/S", NULL);
	json_array_foreach(json_object_get(now, "ports"), i, port) {
		old = before ? cli_print_port_in(before, port) : NULL;
		cli_print_cell(&t, "%s", cli_print_str(port, "name"));
		cli_print_cell(&t, "%.0f", cli_print_counter(port, "rx_packets"));
		cli_print_rate(&t, port, old, "rx_packets", 1, seconds);
		cli_print_rate(&t, port, old, "rx_bytes", 8, seconds);
		cli_print_cell(&t, "%.0f", cli_print_counter(port, "tx_packets"));
		cli_print_rate(&t, port, old, "tx_packets", 1, seconds);
		cli_print_rate(&t, port, old, "tx_bytes", 8, seconds);
		cli_print_cell(&t, "%.0f", cli_print_counter(port, "drops"));
		cli_print_rate(&t, port, old, "drops", 1, seconds);
	}
	cli_print_table_out(&t, f, "");
}

static void cli_print_fdb_row(struct cli_print_table *t, json_t *e)
{
	cli_print_cell(t, "%s", cli_print_str(e, "mac"));
	cli_print_cell(t, "%s", cli_print_str(e, "port"));
	cli_print_cell(t, "%.1fs",
		       (double)json_integer_value(json_object_get(e, "idle_ms")) / 1000.0);
}

void cli_print_fdb(FILE *f, json_t *result)
{
	cli_print_rows(f, result, cli_print_fdb_row, 1u << 2, "MAC", "PORT", "IDLE", NULL);
}
