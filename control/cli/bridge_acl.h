/* SPDX-License-Identifier: MIT */
/*
 * bridge_acl: who may attach to which bridge through `tapyard bridge-helper`,
 * read from a file in qemu-bridge-helper's bridge.conf format:
 *
 *   # comment
 *   allow lan         allow bridge "lan"
 *   allow all         allow every bridge
 *   deny lab2         deny bridge "lab2" (a deny wins over any allow)
 *   deny all          deny every bridge
 *   include FILE      read FILE's rules too (a missing FILE is ignored)
 *
 * A bridge nothing allows is refused. The file and every included file must
 * be a regular file owned by root and writable by nobody else, opened
 * without following a link; otherwise everything is refused.
 */
#ifndef TAPYARD_BRIDGE_ACL_H
#define TAPYARD_BRIDGE_ACL_H

#include <stddef.h>

#define BRIDGE_ACL_DEFAULT "/etc/tapyard/bridge.conf"

/*
 * bridge_acl_check() - may bridge be used, by the rules in the file at path?
 * @why: receives a sentence when the answer is not 0 (size bytes)
 * Return: 0 allowed, -EACCES denied by the rules, or another negative errno
 * when the file cannot be trusted or read (-ENOENT, -EPERM: not root's,
 * -EINVAL: a malformed line, -ELOOP: includes nested too deep).
 */
int bridge_acl_check(const char *path, const char *bridge, char *why, size_t size);

#endif
