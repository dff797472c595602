/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ctl: libFuzzer target for the control request parser and dispatcher.
 * Each input is one request line handed to ctl_dispatch_text() over a live,
 * running dataplane: bridge "fz" with pair ports p0..p3 whose peers send and
 * drain a frame after every input, so commands race real forwarding.
 *
 * State carries over between inputs (that is the point: a cut, a link down,
 * a deleted port); when the inputs have deleted ports or added bridges or
 * ports, the switch is put back to its starting shape. Requests that would
 * reach outside this process are not run: guest commands (they start
 * processes) and anything naming a file ("path"). As root, TAPs a request
 * creates live in a private network namespace that dies with the process.
 *
 * Build: CC=clang meson setup build-fuzz -Dfuzz=true (tests/fuzz.sh adds the
 * sanitizers and coverage for the libraries and runs it for a bounded time).
 */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>

#include "ctl.h"
#include "log.h"

#define FUZZ_PEERS 4

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dp *fuzz_dp;
static struct ctl *fuzz_ctl;
static int fuzz_peer[FUZZ_PEERS] = {-1, -1, -1, -1};

/* Run a setup command that must succeed. */
static void fuzz_must(const char *cmd, json_t *args)
{
	json_t *reply = ctl_call(fuzz_ctl, cmd, args);
	const char *message;

	if (ctl_reply_error(reply, NULL, &message)) {
		fprintf(stderr, "fuzz_ctl: setup %s failed: %s\n", cmd, message);
		abort();
	}
	json_decref(reply);
}

/* Delete every bridge, then build bridge "fz" with pair ports p0..p3 again. */
static void fuzz_reset(void)
{
	uint32_t ids[DP_MAX_BRIDGES];
	size_t n = dp_bridge_list(fuzz_dp, ids, DP_MAX_BRIDGES);
	struct port *p;
	char name[8];

	for (size_t i = 0; i < n; i++)
		dp_bridge_del(fuzz_dp, ids[i]);
	fuzz_must("partition/heal_all", NULL);
	fuzz_must("bridge/add", json_pack("{s:s}", "name", "fz"));
	for (int i = 0; i < FUZZ_PEERS; i++) {
		if (fuzz_peer[i] >= 0)
			close(fuzz_peer[i]);
		snprintf(name, sizeof(name), "p%d", i);
		if (port_pair_open(name, &p, &fuzz_peer[i]) ||
		    ctl_attach_port(fuzz_ctl, "fz", p, NULL)) {
			fprintf(stderr, "fuzz_ctl: cannot attach pair port %s\n", name);
			abort();
		}
	}
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct dp_config cfg = {.nbufs = 64, .buf_size = 4096, .tx_slots = 256};

	(void)argc;
	(void)argv;
	if (geteuid() == 0 && unshare(CLONE_NEWNET) < 0) {
		perror("fuzz_ctl: unshare(CLONE_NEWNET)");
		abort();
	}
	log_set_level(LOG_LVL_ERROR);
	if (dp_create(&cfg, &fuzz_dp) || dp_start(fuzz_dp) || ctl_create(fuzz_dp, &fuzz_ctl)) {
		fprintf(stderr, "fuzz_ctl: cannot start the dataplane\n");
		abort();
	}
	fuzz_reset();
	return 0;
}

/* Does any object in v have a member named key? */
static bool fuzz_has_key(json_t *v, const char *key)
{
	const char *k;
	json_t *m;
	size_t i;

	if (json_is_array(v)) {
		json_array_foreach(v, i, m) {
			if (fuzz_has_key(m, key))
				return true;
		}
	}
	json_object_foreach(v, k, m) {
		if (strcmp(k, key) == 0 || fuzz_has_key(m, key))
			return true;
	}
	return false;
}

/* Would this request reach outside the process (start programs, write files)? */
static bool fuzz_outside(const uint8_t *data, size_t size)
{
	json_t *req = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	bool outside = (cmd && strncmp(cmd, "guest/", 6) == 0) || fuzz_has_key(req, "path");

	json_decref(req);
	return outside;
}

/* Peer 0 broadcasts a frame; every peer drains what reached it. */
static void fuzz_traffic(void)
{
	uint8_t f[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5};
	uint8_t in[4096];

	send(fuzz_peer[0], f, sizeof(f), MSG_DONTWAIT);
	for (int i = 0; i < FUZZ_PEERS; i++) {
		while (recv(fuzz_peer[i], in, sizeof(in), MSG_DONTWAIT) > 0)
			;
	}
}

/* Is the switch still in its starting shape: bridge "fz" with p0..p3 and nothing else? */
static bool fuzz_intact(void)
{
	struct dp_stats st;
	char name[8];
	uint32_t id;

	dp_get_stats(fuzz_dp, &st);
	if (st.bridges != 1 || st.ports != FUZZ_PEERS)
		return false;
	for (int i = 0; i < FUZZ_PEERS; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		if (dp_port_find(fuzz_dp, name, &id) < 0)
			return false;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *reply;

	if (fuzz_outside(data, size))
		return -1; /* not added to the corpus */
	reply = ctl_dispatch_text(fuzz_ctl, (const char *)data, size);
	if (!reply || reply[0] != '{')
		abort(); /* every input gets a JSON object back */
	free(reply);
	log_set_level(LOG_LVL_ERROR);
	fuzz_traffic();
	if (!fuzz_intact())
		fuzz_reset();
	return 0;
}
