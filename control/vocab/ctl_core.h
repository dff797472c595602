/* SPDX-License-Identifier: MIT */
/*
 * ctl_core: the switch's own commands (status, bridge/, port/,
 * partition/, counters/, fdb/ and log/set), a table for the dispatcher.
 */
#ifndef TAPYARD_CTL_CORE_H
#define TAPYARD_CTL_CORE_H

#include "ctl_impl.h"

#define CTL_CORE_NCMDS 20

extern const struct ctl_cmd ctl_core_cmds[CTL_CORE_NCMDS];

/* A port as port/list shows it: a new reference. */
json_t *ctl_port_json(struct ctl *ctl, const struct dp_port_info *pi);

#endif
