/* SPDX-License-Identifier: MIT */
/* cap: placeholder for the eBPF capture layer. */
#include "cap.h"

bool cap_available(void)
{
	return false;
}
