/* SPDX-License-Identifier: MIT */
/* tapyard: the entry point, the only file that sees the daemon, the CLI and Lua; hands each subcommand to its module. */
#include <stdio.h>
#include <string.h>

#include "bridge_helper.h"
#include "cli.h"
#include "cli_image.h"
#include "ctl.h"
#include "cleanup.h"
#include "daemon.h"
#include "tylua.h"

#ifndef TAPYARD_VERSION
#define TAPYARD_VERSION "unknown"
#endif

static const char main_usage[] =
	"usage: tapyard COMMAND [ARGS]\n"
	"\n"
	"  daemon [OPTIONS]   run the switch in the foreground (tapyard daemon --help)\n"
	"  ctl COMMAND ...    control a running daemon (tapyard ctl --help)\n"
	"  cleanup [OPTIONS]  remove what a killed daemon left behind (tapyard cleanup --help)\n"
	"  bridge-helper --br=BR --fd=N  QEMU's bridge helper for tapyard bridges (--help)\n"
	"  test [OPTIONS] FILE|DIR...  run Lua test files (tapyard test --help)\n"
	"  run FILE [ARGS]    run a Lua script with the lab API (tapyard run --help)\n"
	"  lsp-setup [DIR]    write Lua Language Server type stubs for the API\n"
	"  image build|info|agent-initrd  the QEMU guests' image (tapyard image --help)\n"
	"  --help             this text\n"
	"  --version          print the version\n";

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(main_usage, stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(main_usage, stdout);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("tapyard %s\n", TAPYARD_VERSION);
		return CTL_EXIT_OK;
	}
	if (strcmp(argv[1], "daemon") == 0)
		return daemon_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "ctl") == 0)
		return cli_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "cleanup") == 0)
		return cleanup_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "bridge-helper") == 0)
		return bridge_helper_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "test") == 0)
		return tylua_test_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return tylua_run_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "lsp-setup") == 0)
		return tylua_lsp_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "image") == 0)
		return cli_image_main(argc - 1, argv + 1);
	fprintf(stderr, "tapyard: unknown command \"%s\"\n%s", argv[1], main_usage);
	return CTL_EXIT_USAGE;
}
