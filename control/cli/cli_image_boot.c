/* SPDX-License-Identifier: MIT */
/*
 * cli_image_boot: `tapyard image boot`, one QEMU guest by hand: TAPs created
 * here (their fds handed to QEMU), the boot and the wait for the agent
 * (qemu.c), then agent requests from stdin and replies on stdout, one JSON
 * object a line, until EOF or Ctrl-C. For trying an image or a kernel of
 * your own, and for the end-to-end test of the guest image.
 */
#include "cli_image_impl.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "image.h"
#include "interrupt.h"
#include "port.h"
#include "qemu.h"

#define BOOT_CALL_TIMEOUT_MS (10u * 60 * 1000)

/* What `image boot` holds: the TAPs (ports) and the VM. */
struct cli_boot {
	struct port *taps[QEMU_NICS_MAX];
	struct qemu_nic nics[QEMU_NICS_MAX];
	size_t ntaps;
	char kernel[600], initrd[600];
	struct qemu_opts o;
};

/*
 * "IFNAME=MAC": create the TAP, or open one made beforehand (`ip tuntap add`,
 * as microvm.nix's tap-up does) that no one holds, and note its fd and MAC.
 */
static int cli_boot_tap(struct cli_boot *b, const char *spec)
{
	struct port_tap_opts topts = {0};
	char ifname[32];
	unsigned int m[6];
	const char *eq = strchr(spec, '=');
	int err;

	if (!eq || eq - spec >= (long)sizeof(ifname) || b->ntaps == QEMU_NICS_MAX ||
	    sscanf(eq + 1, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return ctl_opt_usage("image", "image", "--tap %s: expected IFNAME=MAC", spec);
	snprintf(ifname, sizeof(ifname), "%.*s", (int)(eq - spec), spec);
	err = port_tap_open(ifname, &topts, &b->taps[b->ntaps]);
	if (err) {
		fprintf(stderr, "tapyard: image boot: TAP %s: %s\n", ifname, port_strerror(err));
		return CTL_EXIT_ERROR;
	}
	b->nics[b->ntaps].fd = port_fd(b->taps[b->ntaps]);
	for (int i = 0; i < 6; i++)
		b->nics[b->ntaps].mac[i] = (uint8_t)m[i];
	b->ntaps++;
	return -1;
}

/* A whole number option in [min, max] into *out (unset: unchanged). */
static int cli_boot_num(const struct ctl_opt_res *res, int id, const char *name, long long max,
			unsigned int *out)
{
	long long v;

	if (!ctl_opt_has(res, id))
		return -1;
	if (ctl_opt_int(ctl_opt_get(res, id), 1, max, &v))
		return ctl_opt_usage("image", "image", "--%s: expected 1 to %lld", name, max);
	*out = (unsigned int)v;
	return -1;
}

/* The options into b (TAPs created): -1 to go on, or an exit code. */
static int cli_boot_opts(struct cli_boot *b, const struct ctl_opt_res *res)
{
	struct image_err e;
	int rc = -1;

	b->o.name = ctl_opt_has(res, IMG_NAME) ? ctl_opt_get(res, IMG_NAME) : "vm";
	b->o.dir = ctl_opt_get(res, IMG_RUN_DIR);
	if (!b->o.dir)
		return ctl_opt_usage("image", "image", "boot needs --run-dir PATH");
	if (ctl_opt_has(res, IMG_KERNEL) != ctl_opt_has(res, IMG_INITRD))
		return ctl_opt_usage("image", "image", "give --kernel and --initrd together");
	if (ctl_opt_has(res, IMG_KERNEL)) {
		snprintf(b->kernel, sizeof(b->kernel), "%s", ctl_opt_get(res, IMG_KERNEL));
		snprintf(b->initrd, sizeof(b->initrd), "%s", ctl_opt_get(res, IMG_INITRD));
	} else if (image_files(res->npos > 1 ? res->pos[1] : NULL, b->kernel, b->initrd,
			       sizeof(b->kernel), &e)) {
		fprintf(stderr, "tapyard: image boot: %s\n", e.msg);
		return CTL_EXIT_ERROR;
	}
	b->o.kernel = b->kernel;
	b->o.initrd = b->initrd;
	rc = cli_boot_num(res, IMG_MEMORY, "memory", 65536, &b->o.memory_mb);
	if (rc < 0)
		rc = cli_boot_num(res, IMG_CPUS, "cpus", 64, &b->o.cpus);
	if (rc < 0)
		rc = cli_boot_num(res, IMG_TIMEOUT, "timeout", 3600, &b->o.boot_timeout_ms);
	b->o.boot_timeout_ms *= 1000;
	for (int i = 0; rc < 0 && i < res->nhits; i++) {
		if (res->hits[i].id == IMG_TAP)
			rc = cli_boot_tap(b, res->hits[i].value);
	}
	b->o.nics = b->nics;
	b->o.nnics = b->ntaps;
	return rc;
}

/* One request line from stdin to the agent, its reply to stdout. */
static void cli_boot_request(struct qemu *vm, const char *line)
{
	json_t *req = json_loads(line, 0, NULL), *result = NULL, *reply;
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	char msg[512] = "";
	int err;

	if (!cmd) {
		err = -EINVAL;
		snprintf(msg, sizeof(msg), "expected {\"cmd\": ..., \"args\": {...}}");
	} else {
		err = agent_client_call(qemu_agent(vm), cmd,
					json_incref(json_object_get(req, "args")),
					BOOT_CALL_TIMEOUT_MS, &result, msg, sizeof(msg));
	}
	if (err)
		reply = json_pack("{s:b, s:{s:s, s:s}}", "ok", 0, "error", "code",
				  strerrorname_np(-err) ? strerrorname_np(-err) : "EIO", "message",
				  msg);
	else
		reply = json_pack("{s:b, s:o}", "ok", 1, "result", result ? result : json_object());
	json_dumpf(reply, stdout, JSON_COMPACT);
	putchar('\n');
	fflush(stdout);
	json_decref(reply);
	json_decref(req);
}

/* Pass requests until EOF or an interrupt. */
static void cli_boot_serve(struct qemu *vm)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while (!interrupt_pending() && (n = getline(&line, &cap, stdin)) >= 0) {
		if (n > 1)
			cli_boot_request(vm, line);
	}
	free(line);
}

int cli_image_boot(const struct ctl_opt_res *res)
{
	struct cli_boot b = {0};
	struct qemu_err e;
	struct qemu *vm = NULL;
	char why[256];
	int rc = cli_boot_opts(&b, res);

	if (rc < 0) {
		qemu_accel_pick(b.o.accel, why, sizeof(why));
		fprintf(stderr, "tapyard: image boot: %s\n", why);
		interrupt_install(true);
		if (qemu_start(&b.o, &vm, &e)) {
			fprintf(stderr, "tapyard: image boot: %s", e.msg);
			rc = CTL_EXIT_ERROR;
		}
	}
	if (rc < 0) {
		fprintf(stderr, "tapyard: image boot: vm \"%s\" ready in %llu ms (QEMU pid %d)\n",
			b.o.name, (unsigned long long)qemu_boot_ms(vm), (int)qemu_pid(vm));
		cli_boot_serve(vm);
		rc = CTL_EXIT_OK;
	}
	qemu_stop(vm);
	for (size_t i = 0; i < b.ntaps; i++)
		port_destroy(b.taps[i]);
	return rc;
}
