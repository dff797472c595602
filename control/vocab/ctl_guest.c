/* SPDX-License-Identifier: MIT */
/*
 * ctl_guest: the guest commands over guest.c. Per dispatcher it keeps the
 * guests by name, their NICs (port, guest-side name, address) in bridge-name
 * order, each bridge's subnet, and the hosts file every guest sees. NICs are
 * made with port/add and removed with port/del (nested ctl_call()s: the
 * dispatcher's lock is recursive), so ports stay ordinary ports for every
 * other command. guest/run replies later: the dispatcher waits for the
 * process without its lock (struct ctl_later).
 */
#include "ctl_guest.h"
#include "ctl_guest_impl.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest.h"
#include "image.h"
#include "frame.h"
#include "log.h"

/* A new set for ctl with its hosts file directory. */
static struct ctl_guests *ctl_guest_set_new(struct ctl *ctl)
{
	struct ctl_guests *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	/* the pid in the name lets a runner that must end at once find its own (tylua_watchdog.c) */
	snprintf(s->dir, sizeof(s->dir), CTL_GUEST_DIR_PREFIX "%d-XXXXXX", (int)getpid());
	if (!mkdtemp(s->dir)) {
		log_error("guest: cannot create %s: %s", s->dir, strerror(errno));
		free(s);
		return NULL;
	}
	snprintf(s->hosts, sizeof(s->hosts), "%s/hosts", s->dir);
	ctl->guests = s;
	return s;
}

/* The set of ctl; created when create is true. NULL when absent or out of memory. */
static struct ctl_guests *ctl_guest_set(struct ctl *ctl, bool create)
{
	if (!ctl->guests && create)
		return ctl_guest_set_new(ctl);
	return ctl->guests;
}

struct cg_guest *ctl_guest_find(struct ctl_guests *s, const char *name, size_t *idx)
{
	for (size_t i = 0; s && i < s->n; i++) {
		if (strcmp(s->guests[i]->name, name) == 0) {
			if (idx)
				*idx = i;
			return s->guests[i];
		}
	}
	return NULL;
}

/* The guest named by args.guest (or args.name when key says so). */
static int ctl_guest_arg(struct ctl *ctl, json_t *args, const char *key, struct ctl_guests **s,
			 struct cg_guest **gu, struct ctl_err *e)
{
	const char *name;
	int err = ctl_args_str(args, key, true, &name, e);

	if (err)
		return err;
	*s = ctl_guest_set(ctl, false);
	*gu = ctl_guest_find(*s, name, NULL);
	if (!*gu) {
		ctl_args_fail(e, -ENOENT, "guest \"%s\" not found", name);
		return -ENOENT; /* said outright: an optimising compiler cannot see it is not 0 */
	}
	return 0;
}

static struct cg_nic *ctl_guest_nic(struct cg_guest *gu, const char *bridge, size_t *idx)
{
	for (size_t i = 0; i < gu->n; i++) {
		if (strcmp(gu->nics[i].bridge, bridge) == 0) {
			if (idx)
				*idx = i;
			return &gu->nics[i];
		}
	}
	return NULL;
}

/* The errno of a reply's error code name ("ENOENT"). */
static int ctl_guest_errno(const char *code)
{
	for (int i = 1; i < 134; i++) {
		if (code && strcmp(ctl_errno_name(-i), code) == 0)
			return -i;
	}
	return -EIO;
}

/* Run a nested command; its error becomes ours. *result (may be NULL) gets a new reference. */
int ctl_guest_call(struct ctl *ctl, const char *cmd, json_t *args, json_t **result,
		   struct ctl_err *e)
{
	json_t *reply = ctl_call(ctl, cmd, args);
	const char *code, *msg;
	int err = ctl_reply_error(reply, &code, &msg);

	if (err)
		err = ctl_args_fail(e, ctl_guest_errno(code), "%s",
				    msg ? msg : "nested command failed");
	else if (result)
		*result = json_incref(json_object_get(reply, "result"));
	json_decref(reply);
	return err;
}

/* Names that work as host names: letters, digits, '-' and '_', not starting with '-'. */
static bool ctl_guest_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= CG_NAME_MAX || name[0] == '-')
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
	       n;
}

static void ctl_guest_addr_str(uint32_t addr, unsigned int prefix, char *buf, size_t len)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &addr, ip, sizeof(ip));
	snprintf(buf, len, "%s/%u", ip, prefix);
}

/* ---- the hosts file ---- */

/* Append "<addr> <guest>.<bridge> [<guest>]" lines for every NIC of every guest. */
static void ctl_guest_hosts_lines(struct ctl_guests *s, FILE *f)
{
	char ip[INET_ADDRSTRLEN];

	for (size_t i = 0; i < s->n; i++) {
		struct cg_guest *gu = s->guests[i];

		for (size_t j = 0; j < gu->n; j++) {
			inet_ntop(AF_INET, &gu->nics[j].addr, ip, sizeof(ip));
			fprintf(f, "%s\t", ip);
			if (ctl_guest_name_ok(gu->nics[j].bridge))
				fprintf(f, "%s.%s ", gu->name, gu->nics[j].bridge);
			fprintf(f, "%s\n", j == 0 ? gu->name : "");
		}
	}
}

/*
 * Rewrite the hosts file in place (one write), so that processes already
 * running in guests, which have it bind-mounted, see the change too; not
 * when it would say what it says already.
 */
static void ctl_guest_hosts_write(struct ctl_guests *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int fd;

	if (!f)
		return;
	fputs("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", f);
	fputs("# tapyard guests: <guest>.<bridge>, and <guest> for its eth0\n", f);
	ctl_guest_hosts_lines(s, f);
	fclose(f);
	if (s->hosts_text && s->hosts_len == len && memcmp(s->hosts_text, text, len) == 0) {
		free(text);
		return;
	}
	fd = open(s->hosts, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
		log_error("guest: cannot write %s: %s", s->hosts, strerror(errno));
		free(text); /* try again next time */
		text = NULL;
		len = 0;
	}
	if (fd >= 0)
		close(fd);
	free(s->hosts_text);
	s->hosts_text = text;
	s->hosts_len = len;
	ctl_guest_qemu_hosts(s);
}

/* ---- subnets and addresses ---- */

static uint32_t ctl_guest_mask(unsigned int prefix)
{
	return prefix ? htonl(~0u << (32 - prefix)) : 0;
}

static bool ctl_guest_overlap(const struct cg_net *a, uint32_t net, unsigned int prefix)
{
	uint32_t m = ctl_guest_mask(a->prefix < prefix ? a->prefix : prefix);

	return (a->net & m) == (net & m);
}

/* Refuse a subnet that overlaps another bridge's. */
static int ctl_guest_net_check(struct ctl_guests *s, uint32_t net, unsigned int prefix,
			       const char *subnet, struct ctl_err *e)
{
	char other[32];

	if (prefix < 8 || prefix > 30)
		return ctl_args_fail(e, -EINVAL, "args.subnet: \"%s\": the prefix must be 8 to 30",
				     subnet);
	for (size_t i = 0; i < s->nnets; i++) {
		if (!ctl_guest_overlap(&s->nets[i], net, prefix))
			continue;
		ctl_guest_addr_str(s->nets[i].net, s->nets[i].prefix, other, sizeof(other));
		return ctl_args_fail(e, -EINVAL, "args.subnet: %s overlaps bridge \"%s\"'s %s",
				     subnet, s->nets[i].bridge, other);
	}
	return 0;
}

/* The lowest free default subnet 10.K.0.0/24. */
static int ctl_guest_net_default(struct ctl_guests *s, uint32_t *net, struct ctl_err *e)
{
	for (uint32_t k = 1; k < 256; k++) {
		uint32_t cand = htonl(0x0a000000u | (k << 16));
		bool used = false;

		for (size_t i = 0; i < s->nnets && !used; i++)
			used = ctl_guest_overlap(&s->nets[i], cand, 24);
		if (!used) {
			*net = cand;
			return 0;
		}
	}
	return ctl_args_fail(e, -ENOSPC, "no free default subnet 10.K.0.0/24 left");
}

static bool ctl_guest_net_used(struct ctl_guests *s, const char *bridge)
{
	for (size_t i = 0; i < s->n; i++) {
		if (ctl_guest_nic(s->guests[i], bridge, NULL))
			return true;
	}
	return false;
}

/* A subnet lives as long as some NIC is on its bridge: forget the others. */
static void ctl_guest_net_prune(struct ctl_guests *s)
{
	for (size_t i = s->nnets; i-- > 0;) {
		if (ctl_guest_net_used(s, s->nets[i].bridge))
			continue;
		memmove(&s->nets[i], &s->nets[i + 1], (s->nnets - i - 1) * sizeof(s->nets[0]));
		s->nnets--;
	}
}

/* The subnet of bridge: found, or made from args.subnet or the default. */
static int ctl_guest_net(struct ctl_guests *s, const char *bridge, const char *subnet,
			 struct cg_net **out, struct ctl_err *e)
{
	struct cg_net *n;
	unsigned int prefix = 24;
	uint32_t net;
	int err;

	ctl_guest_net_prune(s);
	for (size_t i = 0; i < s->nnets; i++) {
		n = &s->nets[i];
		if (strcmp(n->bridge, bridge) != 0)
			continue;
		if (subnet && (guest_parse_cidr(subnet, &net, &prefix) || prefix != n->prefix ||
			       (net & ctl_guest_mask(prefix)) != n->net)) {
			char cur[32];

			ctl_guest_addr_str(n->net, n->prefix, cur, sizeof(cur));
			return ctl_args_fail(e, -EINVAL,
					     "args.subnet: bridge \"%s\" already uses %s", bridge,
					     cur);
		}
		*out = n;
		return 0;
	}
	if (s->nnets >= DP_MAX_BRIDGES)
		return ctl_args_fail(e, -ENOSPC, "too many subnets");
	if (subnet && guest_parse_cidr(subnet, &net, &prefix))
		return ctl_args_fail(e, -EINVAL,
				     "args.subnet: \"%s\" is not an IPv4 CIDR like 10.1.0.0/24",
				     subnet);
	err = subnet ? ctl_guest_net_check(s, net, prefix, subnet, e)
		     : ctl_guest_net_default(s, &net, e);
	if (err)
		return err;
	n = &s->nets[s->nnets++];
	snprintf(n->bridge, sizeof(n->bridge), "%s", bridge);
	n->prefix = prefix;
	n->net = net & ctl_guest_mask(prefix);
	*out = n;
	return 0;
}

static bool ctl_guest_addr_used(struct ctl_guests *s, const char *bridge, uint32_t addr)
{
	for (size_t i = 0; i < s->n; i++) {
		struct cg_nic *nic = ctl_guest_nic(s->guests[i], bridge, NULL);

		if (nic && nic->addr == addr)
			return true;
	}
	return false;
}

/* args.address (inside the subnet, free) or the lowest free address. */
static int ctl_guest_addr(struct ctl_guests *s, const struct cg_net *n, const char *want,
			  uint32_t *addr, struct ctl_err *e)
{
	uint32_t hosts = (uint32_t)((1ull << (32 - (n->prefix < 30 ? n->prefix : 30))) - 2), host;
	unsigned int prefix;

	if (want) {
		if (guest_parse_cidr(want, addr, &prefix))
			return ctl_args_fail(e, -EINVAL,
					     "args.address: \"%s\" is not an IPv4 address", want);
		host = ntohl(*addr) - ntohl(n->net);
		if ((*addr & ctl_guest_mask(n->prefix)) != n->net || host == 0 || host > hosts)
			return ctl_args_fail(
				e, -EINVAL,
				"args.address: %s is not a host of bridge \"%s\"'s subnet", want,
				n->bridge);
		if (ctl_guest_addr_used(s, n->bridge, *addr))
			return ctl_args_fail(e, -EEXIST,
					     "args.address: %s is in use on bridge \"%s\"", want,
					     n->bridge);
		return 0;
	}
	for (host = 1; host <= hosts; host++) {
		*addr = htonl(ntohl(n->net) + host);
		if (!ctl_guest_addr_used(s, n->bridge, *addr))
			return 0;
	}
	return ctl_args_fail(e, -ENOSPC, "bridge \"%s\"'s subnet is full", n->bridge);
}

/* ---- Ethernet addresses ---- */

static bool ctl_guest_mac_used(struct ctl_guests *s, const char *bridge, const uint8_t *mac)
{
	for (size_t i = 0; i < s->n; i++) {
		struct cg_nic *nic = ctl_guest_nic(s->guests[i], bridge, NULL);

		if (nic && memcmp(nic->mac, mac, 6) == 0)
			return true;
	}
	return false;
}

/*
 * The NIC's MAC: args.mac, or Provium's 52:54:00 + the low 3 bytes of
 * FNV-1a-64("<guest>-<bridge>"), so a NIC attached again keeps its address
 * and its peers' neighbour caches stay right. A clash on the bridge hashes
 * "<guest>-<bridge>#1", "#2"...
 */
static int ctl_guest_mac(struct ctl_guests *s, const char *guest, const char *bridge,
			 const char *want, uint8_t *mac, struct ctl_err *e)
{
	char id[2 * CG_NAME_MAX + 16];

	if (want) {
		if (mac_parse(want, mac) || mac_is_multicast(mac))
			return ctl_args_fail(
				e, -EINVAL,
				"args.mac: \"%s\" is not a unicast MAC like 02:00:00:00:00:01",
				want);
		return 0;
	}
	for (unsigned int k = 0; k < 1000; k++) {
		uint64_t h = 0xcbf29ce484222325ull;

		snprintf(id, sizeof(id), k ? "%s-%s#%u" : "%s-%s", guest, bridge, k);
		for (const char *c = id; *c; c++)
			h = (h ^ (uint8_t)*c) * 0x100000001b3ull;
		memcpy(mac,
		       (uint8_t[]){0x52, 0x54, 0x00, (uint8_t)(h >> 16), (uint8_t)(h >> 8),
				   (uint8_t)h},
		       6);
		if (!ctl_guest_mac_used(s, bridge, mac))
			return 0;
	}
	return ctl_args_fail(e, -EEXIST, "no free MAC for guest \"%s\" on bridge \"%s\"", guest,
			     bridge);
}

/* ---- NIC bookkeeping ---- */

/*
 * Rename the guest's NICs so that the i-th is eth<i>, skipping index skip
 * (a NIC not moved in yet). Two passes through temporary names, so that
 * shifting names never collide.
 */
static int ctl_guest_renumber(struct cg_guest *gu, size_t skip)
{
	char want[IFNAMSIZ];
	int err = 0;

	if (gu->kind == CG_QEMU)
		return ctl_guest_qemu_renumber(gu, skip);

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < gu->n; i++) {
			struct cg_nic *nic = &gu->nics[i];

			snprintf(want, sizeof(want), pass ? "eth%u" : "tyltmp%u",
				 (unsigned int)(i % CG_MAX_NICS));
			if (i == skip || strcmp(nic->ifname, want) == 0)
				continue;
			if (pass == 0 && strncmp(nic->ifname, "eth", 3) == 0 &&
			    (size_t)atoi(nic->ifname + 3) == i)
				continue;
			err = guest_link_rename(gu->g, nic->ifname, want);
			if (err) {
				log_warn("guest %s: cannot rename %s to %s: %s", gu->name,
					 nic->ifname, want, strerror(-err));
				return err;
			}
			snprintf(nic->ifname, sizeof(nic->ifname), "%s", want);
		}
	}
	return err;
}

static void ctl_guest_nic_remove(struct cg_guest *gu, size_t i)
{
	memmove(&gu->nics[i], &gu->nics[i + 1], (gu->n - i - 1) * sizeof(gu->nics[0]));
	gu->n--;
}

void ctl_guest_port_del(struct ctl *ctl, const char *port)
{
	json_t *reply = ctl_call(ctl, "port/del", ctl_must(json_pack("{s:s}", "name", port)));

	json_decref(reply);
}

/* Forget NICs whose ports vanished (port/del or bridge/del by someone else). */
static void ctl_guest_prune(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu)
{
	uint32_t id;
	bool gone = false;

	for (size_t i = gu->n; i-- > 0;) {
		if (dp_port_find(ctl->dp, gu->nics[i].port, &id) == 0)
			continue;
		if (gu->kind == CG_QEMU) /* its TAP is QEMU's: unplug it there */
			ctl_guest_qemu_unplug(gu, &gu->nics[i]);
		ctl_guest_nic_remove(gu, i);
		gone = true;
	}
	if (gone) {
		ctl_guest_renumber(gu, SIZE_MAX);
		ctl_guest_hosts_write(s);
	}
}

/* Remove a guest: its ports, its namespace and everything running inside. */
static void ctl_guest_remove(struct ctl *ctl, struct ctl_guests *s, size_t idx)
{
	struct cg_guest *gu = s->guests[idx];

	for (size_t i = 0; i < gu->n; i++)
		ctl_guest_port_del(ctl, gu->nics[i].port);
	if (gu->kind == CG_QEMU)
		ctl_guest_qemu_destroy(ctl, gu);
	else
		guest_destroy(gu->g);
	free(gu);
	memmove(&s->guests[idx], &s->guests[idx + 1], (s->n - idx - 1) * sizeof(s->guests[0]));
	s->n--;
}

static json_t *ctl_guest_nic_json(const struct cg_guest *gu, const struct cg_nic *nic,
				  unsigned int prefix)
{
	char addr[32];

	char mac[18];

	ctl_guest_addr_str(nic->addr, prefix, addr, sizeof(addr));
	mac_format(nic->mac, mac);
	return ctl_must(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "guest", gu->name, "bridge",
				  nic->bridge, "port", nic->port, "ifname", nic->ifname, "address",
				  addr, "mac", mac));
}

static unsigned int ctl_guest_prefix(struct ctl_guests *s, const char *bridge)
{
	for (size_t i = 0; i < s->nnets; i++) {
		if (strcmp(s->nets[i].bridge, bridge) == 0)
			return s->nets[i].prefix;
	}
	return 32;
}

/* ---- commands ---- */

/* guest/add's reply, made at its start. */
static int ctl_guest_add_done(struct ctl *ctl, struct ctl_later *l, int err, json_t **result,
			      struct ctl_err *e)
{
	(void)ctl;
	(void)e;
	if (err)
		json_decref(l->state);
	else
		*result = l->state;
	return err;
}

/* args.kind: "netns" (or "namespace", the default) or "qemu". */
static int ctl_guest_kind(json_t *args, enum cg_kind *kind, struct ctl_err *e)
{
	const char *k;
	int err = ctl_args_str(args, "kind", false, &k, e);

	if (err || !k)
		return err;
	if (strcmp(k, "qemu") == 0)
		*kind = CG_QEMU;
	else if (strcmp(k, "netns") != 0 && strcmp(k, "namespace") != 0)
		return ctl_args_fail(e, -EINVAL,
				     "args.kind: \"%s\": expected \"netns\" or \"qemu\"", k);
	return 0;
}

/* The new guest gu: a namespace, or a QEMU launched. */
static int ctl_guest_make(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu, json_t *args,
			  struct ctl_err *e)
{
	struct guest_opts opts = {0};
	int err;

	if (gu->kind == CG_QEMU)
		return ctl_guest_qemu_add(ctl, s, gu, args, e);
	err = ctl_args_bool(args, "ipv6", 0, &opts.ipv6, e);
	if (err)
		return err;
	err = guest_create(&opts, &gu->g);
	if (err)
		ctl_args_fail(e, err, "cannot create the network namespace of guest \"%s\": %s%s",
			      gu->name, strerror(-err), err == -EPERM ? " (guests need root)" : "");
	return err;
}

/* A new guest of kind called name (checked; not listed yet) into *gu, the set of ctl into *s. */
static int ctl_guest_new(struct ctl *ctl, const char *name, enum cg_kind kind,
			 struct ctl_guests **s, struct cg_guest **gu, struct ctl_err *e)
{
	if (!ctl_guest_name_ok(name))
		return ctl_args_fail(e, -EINVAL,
				     "args.name: \"%s\": use up to %d letters, digits, '-' and '_'",
				     name, CG_NAME_MAX - 1);
	*s = ctl_guest_set(ctl, true);
	if (!*s)
		return ctl_args_fail(e, -ENOMEM, "guest: cannot set up the hosts file directory");
	if (ctl_guest_find(*s, name, NULL))
		return ctl_args_fail(e, -EEXIST, "guest \"%s\" already exists", name);
	if ((*s)->n >= CG_MAX_GUESTS)
		return ctl_args_fail(e, -ENOSPC, "too many guests (at most %d)", CG_MAX_GUESTS);
	*gu = calloc(1, sizeof(**gu));
	if (!*gu)
		return -ENOMEM;
	snprintf((*gu)->name, sizeof((*gu)->name), "%s", name);
	(*gu)->kind = kind;
	return 0;
}

/* guest/add: a namespace at once; a QEMU guest launched, then (unless args.wait is false) its boot
 * waited for. */
static int start_guest_add(struct ctl *ctl, json_t *args, struct ctl_later *later,
			   struct ctl_err *e)
{
	struct cg_guest *gu;
	struct ctl_guests *s = NULL;
	enum cg_kind kind = CG_NETNS;
	const char *name;
	char netns[64];
	bool wait;
	int err;

	err = ctl_args_str(args, "name", true, &name, e);
	if (!err)
		err = ctl_guest_kind(args, &kind, e);
	if (!err)
		err = ctl_args_bool(args, "wait", 1, &wait, e);
	if (!err)
		err = ctl_guest_new(ctl, name, kind, &s, &gu, e);
	if (err)
		return err;
	err = ctl_guest_make(ctl, s, gu, args, e);
	if (err) {
		free(gu);
		return err;
	}
	s->guests[s->n++] = gu;
	ctl_guest_hosts_write(s);
	log_info("guest %s added%s", name, kind == CG_QEMU ? " (QEMU, booting)" : "");
	if (kind == CG_QEMU && wait)
		return ctl_guest_qemu_wait_start(ctl, gu, later, e);
	if (kind == CG_QEMU)
		later->state = ctl_must(json_pack("{s:s, s:s}", "name", name, "kind", "qemu"));
	else
		snprintf(netns, sizeof(netns), "/proc/%d/fd/%d", (int)getpid(),
			 guest_netns_fd(gu->g));
	if (kind == CG_NETNS)
		later->state = ctl_must(json_pack("{s:s, s:s, s:s}", "name", name, "kind", "netns",
						  "netns", netns));
	later->finish = ctl_guest_add_done;
	return 0;
}

/* guest/wait: until a QEMU guest's agent answers (at once for a namespace guest). */
static int start_guest_wait(struct ctl *ctl, json_t *args, struct ctl_later *later,
			    struct ctl_err *e)
{
	struct cg_guest *gu;
	struct ctl_guests *s;
	int err = ctl_guest_arg(ctl, args, "name", &s, &gu, e);

	if (err)
		return err;
	if (gu->kind == CG_QEMU)
		return ctl_guest_qemu_wait_start(ctl, gu, later, e);
	later->state = ctl_must(json_pack("{s:s}", "name", gu->name));
	later->finish = ctl_guest_add_done;
	return 0;
}

static int cmd_guest_del(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct cg_guest *gu;
	struct ctl_guests *s;
	size_t idx = 0;
	int err;

	(void)result;
	err = ctl_guest_arg(ctl, args, "name", &s, &gu, e);
	if (err)
		return err;
	ctl_guest_find(s, gu->name, &idx);
	log_info("guest %s deleted", gu->name);
	ctl_guest_remove(ctl, s, idx);
	ctl_guest_hosts_write(s);
	return 0;
}

/* Create the port of a new NIC (down, to be renamed) and find its netdev. */
static int ctl_guest_port_make(struct ctl *ctl, const char *bridge, const char *port, int *netns,
			       int *ifindex, struct ctl_err *e)
{
	char ifname[PORT_NAME_MAX];
	uint32_t id;
	int err;

	err = ctl_guest_call(
		ctl, "port/add",
		ctl_must(json_pack("{s:s, s:s, s:b}", "bridge", bridge, "name", port, "up", 0)),
		NULL, e);
	if (err)
		return err;
	err = dp_port_find(ctl->dp, port, &id);
	if (!err)
		err = dp_port_netdev(ctl->dp, id, netns, ifname, ifindex);
	if (err) {
		ctl_guest_port_del(ctl, port);
		return ctl_args_fail(e, err, "port \"%s\": cannot find its netdev: %s", port,
				     strerror(-err));
	}
	return 0;
}

/* Insert a NIC record for bridge at its bridge-name position; returns the position. */
static size_t ctl_guest_nic_insert(struct cg_guest *gu, const char *bridge, const char *port,
				   uint32_t addr, const uint8_t *mac)
{
	size_t pos = 0;

	while (pos < gu->n && strcmp(gu->nics[pos].bridge, bridge) < 0)
		pos++;
	memmove(&gu->nics[pos + 1], &gu->nics[pos], (gu->n - pos) * sizeof(gu->nics[0]));
	gu->n++;
	memset(&gu->nics[pos], 0, sizeof(gu->nics[0]));
	snprintf(gu->nics[pos].bridge, sizeof(gu->nics[pos].bridge), "%s", bridge);
	snprintf(gu->nics[pos].port, sizeof(gu->nics[pos].port), "%s", port);
	snprintf(gu->nics[pos].ifname, sizeof(gu->nics[pos].ifname), "eth%u",
		 (unsigned int)(pos % CG_MAX_NICS));
	gu->nics[pos].addr = addr;
	memcpy(gu->nics[pos].mac, mac, 6);
	return pos;
}

/*
 * The daemon's record of a NIC's TAP, moved into the guest and renamed
 * there: the guest's namespace (by inode: it has no name) and the TAP's MAC
 * address, so that cleanup after a crash finds it whatever it is called.
 */
static void ctl_guest_record_moved(struct ctl *ctl, struct cg_guest *gu, const struct cg_nic *nic)
{
	struct stat st;
	char mac[18];

	if (!ctl_recording(ctl) || fstat(guest_netns_fd(gu->g), &st))
		return;
	ctl_record_add(
		ctl, "tap", nic->port,
		ctl_must(json_pack("{s:s, s:I, s:s}", "bridge", nic->bridge, "netns_ino",
				   (json_int_t)st.st_ino, "mac", mac_format(nic->mac, mac))));
}

/* Move a new port into the guest as NIC pos, renaming the others around it. */
static int ctl_guest_plug(struct ctl *ctl, struct cg_guest *gu, size_t pos, const struct cg_net *n,
			  struct ctl_err *e)
{
	struct cg_nic *nic = &gu->nics[pos];
	int netns = -1, ifindex, err;

	if (gu->kind == CG_QEMU)
		return ctl_guest_qemu_plug(ctl, gu, pos, e);
	err = ctl_guest_port_make(ctl, nic->bridge, nic->port, &netns, &ifindex, e);
	if (err)
		return err;
	err = ctl_guest_renumber(gu, pos);
	if (!err)
		err = guest_link_adopt(gu->g, netns, ifindex,
				       &(struct guest_link){.ifname = nic->ifname,
							    .mac = nic->mac,
							    .addr = nic->addr,
							    .prefix = n->prefix});
	close(netns);
	if (!err)
		ctl_guest_record_moved(ctl, gu, nic);
	if (err) {
		ctl_args_fail(e, err, "cannot move port \"%s\" into guest \"%s\" as %s: %s",
			      nic->port, gu->name, nic->ifname, strerror(-err));
		ctl_guest_port_del(ctl, nic->port);
	}
	return err;
}

/* Append v in base 36 (at most max digits, least significant first) to *p. */
static void ctl_guest_base36(char **p, unsigned int v, int max)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	int i = 0;

	do
		*(*p)++ = digits[v % 36];
	while ((v /= 36) && ++i < max);
}

/*
 * The port name for a new NIC: args.port or "tyl<pid>-<n>" (base 36, at most
 * 15 bytes), n counted per dispatcher, past names another one of this
 * process took already.
 */
static int ctl_guest_port_name(struct ctl *ctl, json_t *args, char *buf, struct ctl_err *e)
{
	const char *given;
	char *p = buf;
	int err = ctl_args_str(args, "port", false, &given, e);

	if (err)
		return err;
	if (given) {
		if (strlen(given) >= PORT_NAME_MAX)
			return ctl_args_fail(e, -ENAMETOOLONG, "args.port: longer than %d bytes",
					     PORT_NAME_MAX - 1);
		memcpy(buf, given, strlen(given) + 1);
		return 0;
	}
	do {
		p = buf;
		memcpy(p, "tyl", 3);
		p += 3;
		ctl_guest_base36(&p, (unsigned int)getpid(), 5); /* pid_max is at most 4194304 */
		*p++ = '-';
		ctl_guest_base36(&p, ctl->port_seq++, 6);
		*p = '\0';
	} while (if_nametoindex(buf));
	return 0;
}

static int cmd_guest_attach(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	const char *bridge, *subnet, *address, *mac_arg;
	char port[PORT_NAME_MAX];
	uint8_t mac[6];
	struct cg_net *n = NULL;
	struct cg_guest *gu;
	struct ctl_guests *s;
	uint32_t br, addr;
	size_t pos;
	int err;

	err = ctl_guest_arg(ctl, args, "guest", &s, &gu, e);
	if (!err)
		err = ctl_args_str(args, "bridge", true, &bridge, e);
	if (!err)
		err = ctl_args_str(args, "subnet", false, &subnet, e);
	if (!err)
		err = ctl_args_str(args, "address", false, &address, e);
	if (!err)
		err = ctl_args_str(args, "mac", false, &mac_arg, e);
	if (!err)
		err = ctl_guest_port_name(ctl, args, port, e);
	if (!err)
		err = ctl_find_bridge(ctl, bridge, &br, e);
	if (err)
		return err;
	ctl_guest_prune(ctl, s, gu);
	if (ctl_guest_nic(gu, bridge, NULL))
		return ctl_args_fail(e, -EEXIST,
				     "guest \"%s\" is already attached to bridge \"%s\"", gu->name,
				     bridge);
	if (gu->n >= CG_MAX_NICS)
		return ctl_args_fail(e, -ENOSPC, "guest \"%s\" has %d NICs already", gu->name,
				     CG_MAX_NICS);
	err = ctl_guest_net(s, bridge, subnet, &n, e);
	if (!err)
		err = ctl_guest_addr(s, n, address, &addr, e);
	if (!err)
		err = ctl_guest_mac(s, gu->name, bridge, mac_arg, mac, e);
	if (err)
		return err;
	pos = ctl_guest_nic_insert(gu, bridge, port, addr, mac);
	gu->nics[pos].prefix = n->prefix;
	err = ctl_guest_plug(ctl, gu, pos, n, e);
	if (err) {
		ctl_guest_nic_remove(gu, pos);
		ctl_guest_renumber(gu, SIZE_MAX);
		return err;
	}
	ctl_guest_hosts_write(s);
	log_info("guest %s: %s on bridge %s (port %s)", gu->name, gu->nics[pos].ifname, bridge,
		 port);
	*result = ctl_guest_nic_json(gu, &gu->nics[pos], n->prefix);
	return 0;
}

/* The guest named args.guest and its NIC on args.bridge. */
static int ctl_guest_nic_arg(struct ctl *ctl, json_t *args, struct ctl_guests **s,
			     struct cg_guest **gu, size_t *idx, struct ctl_err *e)
{
	const char *bridge;
	int err;

	err = ctl_guest_arg(ctl, args, "guest", s, gu, e);
	if (!err)
		err = ctl_args_str(args, "bridge", true, &bridge, e);
	if (err)
		return err;
	ctl_guest_prune(ctl, *s, *gu);
	if (!ctl_guest_nic(*gu, bridge, idx))
		return ctl_args_fail(e, -ENOENT, "guest \"%s\" is not attached to bridge \"%s\"",
				     (*gu)->name, bridge);
	return 0;
}

static int cmd_guest_detach(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct cg_guest *gu;
	struct ctl_guests *s;
	size_t idx = 0;
	int err;

	(void)result;
	err = ctl_guest_nic_arg(ctl, args, &s, &gu, &idx, e);
	if (err)
		return err;
	log_info("guest %s: detached from bridge %s", gu->name, gu->nics[idx].bridge);
	ctl_guest_port_del(ctl, gu->nics[idx].port);
	if (gu->kind == CG_QEMU)
		ctl_guest_qemu_unplug(gu, &gu->nics[idx]);
	ctl_guest_nic_remove(gu, idx);
	ctl_guest_renumber(gu, SIZE_MAX);
	ctl_guest_hosts_write(s);
	return 0;
}

static int cmd_guest_link(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct cg_guest *gu;
	struct ctl_guests *s;
	size_t idx = 0;
	bool up;
	int err;

	err = ctl_guest_nic_arg(ctl, args, &s, &gu, &idx, e);
	if (!err)
		err = ctl_args_bool(args, "up", CTL_ARGS_REQUIRED, &up, e);
	if (!err)
		err = ctl_guest_call(
			ctl, "link/set",
			ctl_must(json_pack("{s:s, s:b}", "port", gu->nics[idx].port, "up", up)),
			result, e);
	if (err)
		return err;
	/* The guest's kernel applies carrier changes asynchronously: wait until it has. */
	if (gu->kind == CG_QEMU)
		err = ctl_guest_qemu_link_wait(gu, gu->nics[idx].ifname, up);
	else
		err = guest_link_wait(gu->g, gu->nics[idx].ifname, up, 2000);
	if (err)
		log_warn("guest %s: %s did not show carrier %s within 2 s", gu->name,
			 gu->nics[idx].ifname, up ? "up" : "down");
	return 0;
}

/* args.argv or args.env as a NULL-terminated array (strings borrowed, env entries made). */
static int ctl_guest_run_lists(json_t *args, const char ***argv, char ***env, struct ctl_err *e)
{
	json_t *a = json_object_get(args, "argv"), *en = json_object_get(args, "env"), *v;
	const char *key;
	size_t i = 0;

	if (a && (!json_is_array(a) || !json_array_size(a)))
		return ctl_args_fail(e, -EINVAL,
				     "args.argv: expected a non-empty array of strings");
	if (en && !json_is_object(en))
		return ctl_args_fail(e, -EINVAL, "args.env: expected an object of strings");
	*argv = calloc(a ? json_array_size(a) + 1 : 1, sizeof(**argv));
	*env = calloc(en ? json_object_size(en) + 1 : 1, sizeof(**env));
	if (!*argv || !*env)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return ctl_args_fail(e, -EINVAL, "args.argv[%zu]: expected a string", i);
		(*argv)[i] = json_string_value(v);
	}
	i = 0;
	json_object_foreach(en, key, v) {
		if (!json_is_string(v) || !*key || strchr(key, '='))
			return ctl_args_fail(e, -EINVAL, "args.env.%s: expected a string value",
					     key);
		if (asprintf(&(*env)[i++], "%s=%s", key, json_string_value(v)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void ctl_guest_env_free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

/* Fill req from args (argv and env are allocated into *argv and *env). */
static int ctl_guest_run_req(json_t *args, struct guest_run_req *req, const char ***argv,
			     char ***env, struct ctl_err *e)
{
	uint64_t timeout = 0, max = 0;
	const char *in;
	int err;

	err = ctl_args_str(args, "cmd", false, &req->cmd, e);
	if (!err)
		err = ctl_args_str(args, "cwd", false, &req->cwd, e);
	if (!err)
		err = ctl_args_uint_opt(args, "timeout_ms", 0, INT64_MAX, 0, &timeout, e);
	if (!err)
		err = ctl_args_uint_opt(args, "max_output", 0, INT64_MAX, 0, &max, e);
	if (!err)
		err = ctl_guest_run_lists(args, argv, env, e);
	if (err)
		return err;
	if (!req->cmd == !(*argv)[0])
		return ctl_args_fail(e, -EINVAL, "args: give cmd or argv (exactly one)");
	in = json_string_value(json_object_get(args, "stdin"));
	if (json_object_get(args, "stdin") && !in)
		return ctl_args_fail(e, -EINVAL, "args.stdin: expected a string");
	req->stdin_data = in;
	req->stdin_len = in ? json_string_length(json_object_get(args, "stdin")) : 0;
	req->argv = (*argv)[0] ? *argv : NULL;
	req->env = (const char *const *)*env;
	req->timeout_ms = timeout;
	req->max_output = (size_t)max;
	return 0;
}

/* Output bytes as a JSON string as they are (commands may print anything, even NULs). */
static json_t *ctl_guest_bytes(const char *data, size_t len)
{
	return json_stringn_nocheck(data, len);
}

json_t *ctl_guest_result_json(const struct guest_run_result *r)
{
	return ctl_must(guest_run_result_json(r, ctl_guest_bytes));
}

/* A guest/run in progress: its process and what it was started with. */
struct ctl_guest_wait {
	struct guest_proc *proc;
	struct guest_run_result res;
	const char **argv;
	char **env;
};

static int ctl_guest_run_wait(struct ctl_later *l, const atomic_bool *stop)
{
	struct ctl_guest_wait *w = l->state;

	return guest_run_wait(w->proc, stop, &w->res);
}

static int ctl_guest_run_finish(struct ctl *ctl, struct ctl_later *l, int err, json_t **result,
				struct ctl_err *e)
{
	struct ctl_guest_wait *w = l->state;

	(void)ctl;
	if (err) {
		err = ctl_dp_fail(e, err, "guest/run");
	} else {
		*result = ctl_guest_result_json(&w->res);
		guest_run_result_free(&w->res);
	}
	free(w->argv);
	ctl_guest_env_free(w->env);
	free(w);
	return err;
}

/* guest/run: the process is started under the lock, waited for without it. */
static int start_guest_run(struct ctl *ctl, json_t *args, struct ctl_later *later,
			   struct ctl_err *e)
{
	struct guest_run_req req = {0};
	struct ctl_guest_wait *w = calloc(1, sizeof(*w));
	struct ctl_guests *s;
	struct cg_guest *gu;
	int err;

	if (!w)
		return -ENOMEM;
	err = ctl_guest_arg(ctl, args, "guest", &s, &gu, e);
	if (!err && gu->kind == CG_QEMU) {
		free(w);
		return ctl_guest_qemu_run_start(ctl, gu, args, later, e);
	}
	if (!err)
		err = ctl_guest_run_req(args, &req, &w->argv, &w->env, e);
	if (!err) {
		req.hosts = s->hosts;
		req.hostname = gu->name;
		err = guest_run_start(gu->g, &req, &w->proc);
		if (err)
			ctl_args_fail(e, err, "guest \"%s\": cannot run: %s", gu->name,
				      strerror(-err));
	}
	if (err) {
		free(w->argv);
		ctl_guest_env_free(w->env);
		free(w);
		return err;
	}
	*later = (struct ctl_later){
		.wait = ctl_guest_run_wait, .finish = ctl_guest_run_finish, .state = w};
	return 0;
}

int ctl_guest_spawn(struct ctl *ctl, json_t *args, struct ctl_guest_spawned *out,
		    struct ctl_err *e)
{
	struct guest_run_req req = {.detach = true};
	const char **argv = NULL;
	char **env = NULL;
	struct ctl_guests *s;
	struct cg_guest *gu;
	int err;

	memset(out, 0, sizeof(*out));
	err = ctl_guest_arg(ctl, args, "guest", &s, &gu, e);
	if (err)
		return err;
	snprintf(out->guest, sizeof(out->guest), "%s", gu->name);
	if (gu->kind == CG_QEMU)
		return ctl_guest_qemu_spawn(gu, args, out, e);
	err = ctl_guest_run_req(args, &req, &argv, &env, e);
	if (!err) {
		req.hosts = s->hosts;
		req.hostname = gu->name;
		err = guest_run_start(gu->g, &req, &out->p);
		if (err)
			ctl_args_fail(e, err, "guest \"%s\": cannot run: %s", gu->name,
				      strerror(-err));
	}
	if (!err)
		out->pid = (int)guest_proc_pid(out->p);
	free(argv);
	ctl_guest_env_free(env);
	return err;
}

static int cmd_guest_save(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct cg_guest *gu;
	struct ctl_guests *s;
	const char *path;
	int err = ctl_guest_arg(ctl, args, "name", &s, &gu, e);

	if (!err)
		err = ctl_args_str(args, "path", true, &path, e);
	if (err)
		return err;
	if (gu->kind != CG_QEMU)
		return ctl_args_fail(e, -EOPNOTSUPP,
				     "guest \"%s\" is a namespace guest: it has no memory state to "
				     "save",
				     gu->name);
	return ctl_guest_qemu_save(gu, path, result, e);
}

/* A saved NIC (guest/save's nics[i]) into gu, on a new port, its bridge's subnet kept. */
static int ctl_guest_restore_nic(struct ctl *ctl, struct ctl_guests *s, struct cg_guest *gu,
				 json_t *j, struct ctl_err *e)
{
	const char *bridge = json_string_value(json_object_get(j, "bridge"));
	const char *addr_s = json_string_value(json_object_get(j, "address"));
	const char *qid = json_string_value(json_object_get(j, "qid"));
	const char *mac_s = json_string_value(json_object_get(j, "mac"));
	int prefix = (int)json_integer_value(json_object_get(j, "prefix"));
	char port[PORT_NAME_MAX], subnet[32];
	struct cg_net *n = NULL;
	uint32_t br, addr;
	uint8_t mac[6];
	size_t pos;
	int err;

	if (!bridge || !addr_s || !qid || strlen(qid) >= PORT_NAME_MAX || !mac_s ||
	    gu->n >= CG_MAX_NICS)
		return ctl_args_fail(e, -EINVAL, "args.nics: not what guest/save gave");
	snprintf(subnet, sizeof(subnet), "%s/%d", addr_s, prefix);
	err = ctl_find_bridge(ctl, bridge, &br, e);
	if (!err)
		err = ctl_guest_net(s, bridge, subnet, &n, e);
	if (!err)
		err = ctl_guest_addr(s, n, addr_s, &addr, e);
	if (!err)
		err = ctl_guest_mac(s, gu->name, bridge, mac_s, mac, e);
	if (!err)
		err = ctl_guest_port_name(ctl, json_object_get(j, "no-such-key"), port, e);
	if (err)
		return err;
	pos = ctl_guest_nic_insert(gu, bridge, port, addr, mac);
	gu->nics[pos].prefix = n->prefix;
	gu->nics[pos].bus = (int)json_integer_value(json_object_get(j, "bus"));
	snprintf(gu->nics[pos].qid, sizeof(gu->nics[pos].qid), "%s", qid);
	return 0;
}

/* guest/restore: a QEMU guest resumed from guest/save's file, on its bridges again. */
static int cmd_guest_restore(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_guests *s = NULL;
	struct cg_guest *gu;
	const char *name, *path;
	json_t *nics = json_object_get(args, "nics"), *j;
	size_t i;
	int err;

	err = ctl_args_str(args, "name", true, &name, e);
	if (!err)
		err = ctl_args_str(args, "path", true, &path, e);
	if (!err)
		err = ctl_guest_new(ctl, name, CG_QEMU, &s, &gu, e);
	if (err)
		return err;
	json_array_foreach(nics, i, j) {
		if (!err)
			err = ctl_guest_restore_nic(ctl, s, gu, j, e);
	}
	if (!err)
		err = ctl_guest_qemu_restore(ctl, s, gu, path, args, e);
	s->guests[s->n++] = gu;
	if (err) {
		ctl_guest_remove(ctl, s, s->n - 1);
		ctl_guest_hosts_write(s);
		return err;
	}
	ctl_guest_hosts_write(s);
	*result = ctl_must(json_pack("{s:s, s:o}", "name", name, "nics", ctl_must(json_array())));
	for (i = 0; i < gu->n; i++)
		json_array_append_new(json_object_get(*result, "nics"),
				      ctl_guest_nic_json(gu, &gu->nics[i], gu->nics[i].prefix));
	return 0;
}

static int cmd_guest_console(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct cg_guest *gu;
	struct ctl_guests *s;
	uint64_t lines;
	int err = ctl_guest_arg(ctl, args, "name", &s, &gu, e);

	if (!err)
		err = ctl_args_uint_opt(args, "lines", 1, 100, 20, &lines, e);
	if (err)
		return err;
	if (gu->kind != CG_QEMU)
		return ctl_args_fail(e, -EOPNOTSUPP,
				     "guest \"%s\" is a namespace guest: it has no console",
				     gu->name);
	return ctl_guest_qemu_console(gu, (unsigned int)lines, result);
}

static int cmd_guest_list(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	struct ctl_guests *s = ctl_guest_set(ctl, false);
	char netns[64];

	(void)args;
	(void)e;
	*result = ctl_must(json_array());
	for (size_t i = 0; s && i < s->n; i++) {
		struct cg_guest *gu = s->guests[i];
		json_t *nics = ctl_must(json_array()), *obj;

		ctl_guest_prune(ctl, s, gu);
		for (size_t j = 0; j < gu->n; j++)
			json_array_append_new(
				nics, ctl_guest_nic_json(gu, &gu->nics[j],
							 ctl_guest_prefix(s, gu->nics[j].bridge)));
		obj = ctl_must(json_pack("{s:s, s:s, s:o}", "name", gu->name, "kind",
					 gu->kind == CG_QEMU ? "qemu" : "netns", "nics", nics));
		if (gu->kind == CG_QEMU) {
			ctl_guest_qemu_json(gu, obj);
		} else {
			snprintf(netns, sizeof(netns), "/proc/%d/fd/%d", (int)getpid(),
				 guest_netns_fd(gu->g));
			json_object_set_new(obj, "netns", ctl_must(json_string(netns)));
		}
		json_array_append_new(*result, obj);
	}
	return 0;
}

/* Delete every guest of ctl; free the set when release is true. */
static void ctl_guest_clear(struct ctl *ctl, bool release)
{
	struct ctl_guests *s = ctl_guest_set(ctl, false);

	if (!s)
		return;
	while (s->n)
		ctl_guest_remove(ctl, s, s->n - 1);
	s->nnets = 0;
	ctl_guest_hosts_write(s);
	if (!release)
		return;
	unlink(s->hosts);
	rmdir(s->dir);
	ctl->guests = NULL;
	free(s->hosts_text);
	free(s);
}

static int cmd_guest_clear(struct ctl *ctl, json_t *args, json_t **result, struct ctl_err *e)
{
	(void)args;
	(void)result;
	(void)e;
	ctl_guest_clear(ctl, true);
	return 0;
}

void ctl_guest_release(struct ctl *ctl)
{
	pthread_mutex_lock(&ctl->lock);
	ctl_guest_clear(ctl, true);
	pthread_mutex_unlock(&ctl->lock);
}

const struct ctl_cmd ctl_guest_cmds[] = {
	CTL_LATER("guest/add", start_guest_add,
		  CTL_ARGS("name", "ipv6", "kind", "kernel", "initrd", "memory", "cpus", "wait",
			   CTL_WAIT_ARG),
		  CTL_PERM_LAB),
	CTL_LATER("guest/wait", start_guest_wait, CTL_ARGS("name", CTL_WAIT_ARG), CTL_PERM_ADMIN),
	CTL_CMD("guest/del", cmd_guest_del, CTL_ARGS("name")),
	CTL_CMD("guest/attach", cmd_guest_attach,
		CTL_ARGS("guest", "bridge", "port", "subnet", "address", "mac")),
	CTL_CMD("guest/detach", cmd_guest_detach, CTL_ARGS("guest", "bridge")),
	CTL_CMD("guest/link", cmd_guest_link, CTL_ARGS("guest", "bridge", "up")),
	CTL_LATER(
		"guest/run", start_guest_run,
		CTL_ARGS("guest", "cmd", "argv", "timeout_ms", "stdin", "env", "cwd", "max_output"),
		CTL_PERM_ADMIN),
	CTL_READ("guest/list", cmd_guest_list, CTL_NO_ARGS),
	CTL_READ("guest/console", cmd_guest_console, CTL_ARGS("name", "lines")),
	CTL_CMD("guest/save", cmd_guest_save, CTL_ARGS("name", "path")),
	CTL_CMD("guest/restore", cmd_guest_restore,
		CTL_ARGS("name", "path", "kernel", "initrd", "memory", "cpus", "nics")),
	CTL_CMD("guest/clear", cmd_guest_clear, CTL_NO_ARGS),
};

_Static_assert(sizeof(ctl_guest_cmds) / sizeof(ctl_guest_cmds[0]) == CTL_GUEST_NCMDS,
	       "CTL_GUEST_NCMDS must count ctl_guest_cmds");

void ctl_guest_dirs_remove(pid_t pid)
{
	char top[] = CTL_GUEST_DIR_PREFIX, prefix[64], path[PATH_MAX];
	char *base = strrchr(top, '/');
	DIR *d;
	struct dirent *de;
	struct stat st;

	*base++ = '\0'; /* top: the directory the prefix names; base: its file name part */
	snprintf(prefix, sizeof(prefix), "%s%d-", base, (int)pid);
	d = opendir(top);
	while (d && (de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", top, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid())
			image_rm_rf(path);
	}
	if (d)
		closedir(d);
}
