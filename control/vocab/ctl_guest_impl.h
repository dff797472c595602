/* SPDX-License-Identifier: MIT */
/*
 * ctl_guest_impl: what the guest commands share between ctl_guest.c (the
 * commands, the namespace kind, and the dispatch between kinds) and
 * ctl_guest_qemu.c (the QEMU kind): a dispatcher's guests, their NICs and the
 * bridges' subnets. Not for other files.
 */
#ifndef TAPYARD_CTL_GUEST_IMPL_H
#define TAPYARD_CTL_GUEST_IMPL_H

#include <net/if.h>
#include <stdint.h>

#include "ctl_guest.h"
#include "ctl_impl.h"

#define CG_NAME_MAX 64
#define CG_MAX_GUESTS 1024
#define CG_MAX_NICS 16

/* What a guest is. */
enum cg_kind { CG_NETNS, CG_QEMU };

/* One NIC of a guest: a port of the switch. */
struct cg_nic {
	char bridge[DP_BRIDGE_NAME_MAX];
	char port[PORT_NAME_MAX];
	char ifname[IFNAMSIZ]; /* its name inside the guest */
	uint32_t addr; /* network byte order */
	unsigned int prefix;
	uint8_t mac[6];
	int bus; /* QEMU: the pcie-root-port it is plugged into */
	char qid[PORT_NAME_MAX]; /* QEMU: its id there (netdev net-<qid>): the port's first name */
};

struct cg_vm;

struct cg_guest {
	char name[CG_NAME_MAX];
	enum cg_kind kind;
	struct guest *g; /* CG_NETNS */
	struct cg_vm *vm; /* CG_QEMU */
	struct cg_nic nics[CG_MAX_NICS]; /* sorted by bridge name */
	size_t n;
};

/* A bridge's subnet. */
struct cg_net {
	char bridge[DP_BRIDGE_NAME_MAX];
	uint32_t net; /* network byte order */
	unsigned int prefix;
};

/* Everything one dispatcher's guests share (ctl->guests). */
struct ctl_guests {
	char dir[64]; /* holds the hosts file, and the QEMU guests' run directories */
	char hosts[96];
	char *hosts_text; /* what the hosts file holds, as last written */
	size_t hosts_len;
	struct cg_guest *guests[CG_MAX_GUESTS];
	size_t n;
	struct cg_net nets[DP_MAX_BRIDGES];
	size_t nnets;
	uint64_t vm_serial; /* the last QEMU's serial */
	bool image_current; /* the default image's agent was found to be this tapyard's */
};

/* The guest called name in s, or NULL. */
struct cg_guest *ctl_guest_find(struct ctl_guests *s, const char *name, size_t *idx);

/* Run a nested command; its error becomes ours. *result (may be NULL) gets a new reference. */
int ctl_guest_call(struct ctl *ctl, const char *cmd, json_t *args, json_t **result,
		   struct ctl_err *e);

/* Delete a NIC's port (already gone is fine). */
void ctl_guest_port_del(struct ctl *ctl, const char *port);

/* ---- the QEMU kind (ctl_guest_qemu.c) ---- */

/*
 * ctl_guest_qemu_add() - launch QEMU for gu (args of guest/add: kernel,
 * initrd, memory, cpus, boot_timeout_ms); a later wait is
 * ctl_guest_qemu_wait_start(). Return: 0 or a negative errno with e set.
 */
int ctl_guest_qemu_add(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu, json_t *args,
		       struct ctl_err *e);

/* Fill later with a wait until gu's agent answers (guest/add, guest/wait). */
int ctl_guest_qemu_wait_start(struct ctl *ctl, struct cg_guest *gu, struct ctl_later *later,
			      struct ctl_err *e);

/* Stop gu's QEMU (at once, or when a wait in progress ends) and forget it. */
void ctl_guest_qemu_destroy(struct ctl *ctl, struct cg_guest *gu);

/* Hot-plug gu's NIC pos (its port made here), configured by the agent. */
int ctl_guest_qemu_plug(struct ctl *ctl, struct cg_guest *gu, size_t pos, struct ctl_err *e);

/* Unplug NIC nic of gu from QEMU (its port is already deleted). */
void ctl_guest_qemu_unplug(struct cg_guest *gu, const struct cg_nic *nic);

/* Name gu's NICs eth0, eth1... in their order through the agent, but NIC skip. */
int ctl_guest_qemu_renumber(struct cg_guest *gu, size_t skip);

/* Wait until the agent sees carrier up (or down) on gu's NIC ifname. */
int ctl_guest_qemu_link_wait(struct cg_guest *gu, const char *ifname, bool up);

/* Give every ready QEMU guest of s the hosts file s->hosts_text. */
void ctl_guest_qemu_hosts(struct ctl_guests *s);

/* guest/run on a QEMU guest: the agent runs args (its fields are guest/run's). */
int ctl_guest_qemu_run_start(struct ctl *ctl, struct cg_guest *gu, json_t *args,
			     struct ctl_later *later, struct ctl_err *e);

/* guest/console: the last lines (at most 2 KiB) of gu's console log, and its path. */
int ctl_guest_qemu_console(const struct cg_guest *gu, unsigned int lines, json_t **result);

/* guest/save: gu's state into path; *result: what guest/restore needs besides. */
int ctl_guest_qemu_save(struct cg_guest *gu, const char *path, json_t **result, struct ctl_err *e);

/*
 * ctl_guest_qemu_restore() - guest/restore: gu (its NICs filled, ports not made
 * yet) resumed from path: QEMU started with gu's NICs on their root ports and
 * the saved state, its NICs' ports made. args: guest/save's result.
 */
int ctl_guest_qemu_restore(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu,
			   const char *path, json_t *args, struct ctl_err *e);

/* proc/start on a QEMU guest: the agent starts args (proc/start's) in the background. */
int ctl_guest_qemu_spawn(struct cg_guest *gu, json_t *args, struct ctl_guest_spawned *out,
			 struct ctl_err *e);

/* What guest/list says of a QEMU guest besides name and nics. */
void ctl_guest_qemu_json(const struct cg_guest *gu, json_t *obj);

#endif
