/* SPDX-License-Identifier: MIT */
/* cli_image: `tapyard image` (build, info, agent-initrd), the guest image's command line. */
#ifndef TAPYARD_CLI_IMAGE_H
#define TAPYARD_CLI_IMAGE_H

/*
 * cli_image_main() - run `tapyard image ...`.
 * @argv: argv[0] is "image", then the words as typed
 * Return: the process's exit code (CTL_EXIT_*).
 */
int cli_image_main(int argc, char **argv);

#endif
