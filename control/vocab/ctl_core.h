/* SPDX-License-Identifier: MIT */
/*
 * ctl_core: the switch's own commands (status, bridge/, port/, link/set,
 * partition/, counters/, fdb/ and log/set), a table for the dispatcher.
 */
#ifndef TAPYARD_CTL_CORE_H
#define TAPYARD_CTL_CORE_H

#include "ctl_impl.h"

#define CTL_CORE_NCMDS 21

extern const struct ctl_cmd ctl_core_cmds[CTL_CORE_NCMDS];

#endif
