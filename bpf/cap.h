/* SPDX-License-Identifier: MIT */
/* cap: eBPF capture taps (not yet built: the capture issue adds them). */
#ifndef TAPYARD_CAP_H
#define TAPYARD_CAP_H

#include <stdbool.h>

/* True when this build carries BPF capture programs. */
bool cap_available(void);

#endif
