/* SPDX-License-Identifier: MIT */
/* cli_image's inside: the option ids its files share, and `image boot`. */
#ifndef TAPYARD_CLI_IMAGE_IMPL_H
#define TAPYARD_CLI_IMAGE_IMPL_H

#include "ctl_opt.h"

enum {
	IMG_AGENT = 1,
	IMG_FORCE,
	IMG_DIR,
	IMG_RUN_DIR,
	IMG_NAME,
	IMG_TAP,
	IMG_MEMORY,
	IMG_CPUS,
	IMG_KERNEL,
	IMG_INITRD,
	IMG_TIMEOUT,
	IMG_HELP,
};

/* `tapyard image boot` with its parsed words (cli_image_boot.c). Returns the exit code. */
int cli_image_boot(const struct ctl_opt_res *res);

#endif
