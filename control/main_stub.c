/* SPDX-License-Identifier: MIT */
/* main_stub: stands in for main.c while the CLI is being written. */
#include <stdio.h>

int main(void)
{
	fputs("tapyard: CLI not built\n", stderr);
	return 1;
}
