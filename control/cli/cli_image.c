/* SPDX-License-Identifier: MIT */
/*
 * cli_image: `tapyard image build|info|agent-initrd`, the words around the
 * guest image module (control/guest/image.c). Local commands: no daemon.
 */
#include "cli_image.h"
#include "cli_image_impl.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "ctl_opt.h"
#include "image.h"

static const char cli_image_usage[] =
	"usage: tapyard image build [DIR] [--agent PATH] [--force]\n"
	"       tapyard image info [DIR]\n"
	"       tapyard image agent-initrd OUT [--dir DIR] [--agent PATH]\n"
	"       tapyard image boot [DIR] --run-dir PATH [--name NAME] [--tap IFNAME=MAC]...\n"
	"                          [--memory MB] [--cpus N] [--kernel FILE --initrd FILE]\n"
	"                          [--timeout SECONDS]\n"
	"\n"
	"The guest image of QEMU guests: Debian's kernel (linux-image-amd64, as an\n"
	"uncompressed vmlinux) and an initramfs with busybox, the virtio modules and\n"
	"tapyard's guest agent.\n"
	"\n"
	"  build         fetch the packages with apt-get download and build the image in\n"
	"                DIR; nothing to do when its inputs did not change (--force: do it)\n"
	"  info          what the image in DIR holds\n"
	"  agent-initrd  write an archive with the agent, busybox and tapyard's init, to\n"
	"                append to your own kernel's initramfs: cat yours.img OUT > both.img\n"
	"  boot          boot one QEMU guest of the image (or of --kernel and --initrd), wait\n"
	"                for its agent, then pass agent requests, one JSON object a line\n"
	"                ({\"cmd\": \"run\", \"args\": {\"cmd\": \"uname -r\"}}), from stdin to\n"
	"                the agent and its replies to stdout; EOF or Ctrl-C stops it.\n"
	"                --tap creates the TAP IFNAME and hands its fd to QEMU; the\n"
	"                console log and sockets are kept in the run directory\n"
	"\n"
	"  DIR           default $TAPYARD_IMAGE_DIR, else /var/cache/tapyard/image as\n"
	"                root, else $XDG_CACHE_HOME/tapyard/image\n"
	"  --agent PATH  the tapyard-agent program (default $TAPYARD_AGENT, else the\n"
	"                one built or installed with this tapyard)\n";

static const struct ctl_opt cli_image_options[] = {
	{"agent", 0, true, IMG_AGENT, "PATH"},
	{"force", 0, false, IMG_FORCE, NULL},
	{"dir", 0, true, IMG_DIR, "DIR"},
	{"run-dir", 0, true, IMG_RUN_DIR, "PATH"},
	{"name", 0, true, IMG_NAME, "NAME"},
	{"tap", 0, true, IMG_TAP, "IFNAME=MAC"},
	{"memory", 0, true, IMG_MEMORY, "MB"},
	{"cpus", 0, true, IMG_CPUS, "N"},
	{"kernel", 0, true, IMG_KERNEL, "FILE"},
	{"initrd", 0, true, IMG_INITRD, "FILE"},
	{"timeout", 0, true, IMG_TIMEOUT, "SECONDS"},
	{"help", 'h', false, IMG_HELP, NULL},
	{NULL, 0, false, 0, NULL},
};

/* Report a failure of the image module. */
static int cli_image_fail(const char *what, const struct image_err *e)
{
	fprintf(stderr, "tapyard: image %s: %s\n", what, e->msg);
	return CTL_EXIT_ERROR;
}

/* Run one image subcommand with its parsed words. */
static int cli_image_run(const char *sub, const struct ctl_opt_res *res)
{
	struct image_opts o = {.dir = res->npos > 1 ? res->pos[1] : NULL,
			       .agent = ctl_opt_get(res, IMG_AGENT),
			       .force = ctl_opt_has(res, IMG_FORCE),
			       .progress = stdout};
	struct image_err e = {0};
	bool dir_word = strcmp(sub, "agent-initrd") != 0;

	if (strcmp(sub, "boot") == 0)
		return res->npos > 2 ? ctl_opt_usage("image", "image", "boot: too many words")
				     : cli_image_boot(res);

	if (res->npos > 2 || (!dir_word && res->npos != 2))
		return ctl_opt_usage("image", "image", "%s: wrong number of words", sub);
	if (!dir_word && ctl_opt_has(res, IMG_FORCE))
		return ctl_opt_usage("image", "image", "agent-initrd takes no --force");
	if (strcmp(sub, "build") == 0)
		return image_build(&o, &e) ? cli_image_fail(sub, &e) : CTL_EXIT_OK;
	if (strcmp(sub, "info") == 0)
		return image_info(o.dir, stdout, &e) ? cli_image_fail(sub, &e) : CTL_EXIT_OK;
	if (!image_agent_initrd(ctl_opt_get(res, IMG_DIR), o.agent, res->pos[1], &e))
		return CTL_EXIT_OK;
	return cli_image_fail(sub, &e);
}

int cli_image_main(int argc, char **argv)
{
	static const struct ctl_opt_cmd cmd = {.name = "image",
					       .opts = cli_image_options,
					       .help = IMG_HELP,
					       .usage = cli_image_usage,
					       .max = 3};
	static const char *const subs[] = {"build", "info", "agent-initrd", "boot", NULL};
	struct ctl_opt_res res;
	int rc = ctl_opt_main(&cmd, argc, argv, &res);
	bool known = false;

	if (rc < 0 && !res.npos)
		rc = ctl_opt_usage("image", "image", "which: build, info, agent-initrd or boot?");
	for (int i = 0; rc < 0 && subs[i]; i++)
		known |= strcmp(res.pos[0], subs[i]) == 0;
	if (rc < 0 && !known)
		rc = ctl_opt_usage("image", "image", "unknown subcommand \"%s\"", res.pos[0]);
	if (rc < 0)
		rc = cli_image_run(res.pos[0], &res);
	ctl_opt_free(&res);
	return rc;
}
