/* SPDX-License-Identifier: MIT */
/*
 * capset: the captures of one switch.
 *
 * A port being captured has one entry in ports[]: the dataplane hook's
 * context, and in bpf mode its tap (cap_link) and the id the tap puts in its
 * events (tag: generation and slot). The entry's subscribers (capture, NIC
 * index) are an immutable array the loop reads; a change publishes a new one
 * and frees the old after dp_sync(), when the loop can no longer hold it.
 *
 * Loop thread: capset_hook() (every frame of a hooked port) and
 * capset_on_ring() (the ring buffer is readable) put frames into the stores
 * of the subscribed captures. Before a drop is stored the ring buffer is
 * drained, so the tap's record of a frame comes before the switch's drop.
 *
 * A capture with a file has a writer thread that moves frames from the store
 * to the pcapng file; frames evicted before it reached them are file_lost.
 */
#include "capset.h"
#include "clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "capstore.h"
#include "log.h"
#include "pcapng.h"

#define CAPSET_MAX_RUNNING 64

_Static_assert(DP_MAX_PORTS <= CAP_MAX_NICS, "a NIC slot per port");
#define CAPSET_DESC_MAX 128
#define CAPSET_WRITER_WAIT_MS 20 /* the file writer's pace */
#define CAPSET_DRAIN_NS 5000000 /* the loop drains the ring buffer this often (5 ms) */

#ifndef TAPYARD_VERSION
#define TAPYARD_VERSION "unknown"
#endif

struct capset_port;

/* One NIC of a capture; its index is its pcapng interface id. */
struct capset_nic {
	uint32_t port;
	char name[PORT_NAME_MAX];
	char ifname[CAPSET_IFNAME_MAX];
	char desc[CAPSET_DESC_MAX];
	struct capset_port *sp;
	uint64_t lost_base; /* the tap's lost counter when the capture started */
};

struct capset_cap {
	uint32_t id;
	int refs; /* waiters outside the set's lock */
	bool running;
	enum capset_mode mode;
	uint32_t snaplen;
	char target[CAPSET_TARGET_MAX];
	char path[CAPSET_PATH_MAX];
	size_t nnics;
	struct capset_nic *nics;
	struct capstore *store;
	struct capfilter filter; /* what it keeps */
	uint64_t ring_lost; /* frozen at stop */
	/* the file writer */
	struct pcapng *png;
	pthread_t writer;
	bool writer_started;
	atomic_bool writer_stop;
	_Atomic uint64_t file_lost;
	_Atomic int file_error;
	uint64_t file_cursor;
	uint8_t *file_buf;
	struct capset *set;
	struct capset_cap *next;
};

struct capset_sub {
	struct capset_cap *cap;
	uint16_t nic;
};

/* Who captures a port: immutable once published. */
struct capset_subs {
	size_t n;
	struct capset_sub s[];
};

struct capset_port {
	uint32_t port; /* dp id, 0: free */
	uint16_t gen;
	_Atomic uint32_t tag; /* events carry it; 0 while no tap */
	_Atomic(struct capset_subs *) subs;
	int bpf_users;
	struct cap_link link;
	struct capset *set;
};

struct capset {
	struct dp *dp;
	pthread_mutex_t lock;
	capset_record_fn record;
	void *record_ctx;
	struct cap *_Atomic cap; /* loaded while some capture uses bpf */
	int tick_fd; /* a timerfd: drain the ring buffer every CAPSET_DRAIN_NS */
	_Atomic uint64_t drains; /* ring buffer drains the loop finished */
	int64_t mono_to_real; /* loop thread only */
	struct capset_port ports[DP_MAX_PORTS];
	struct capset_cap *caps; /* oldest first */
	uint32_t next_id;
	uint8_t *buf; /* one frame, for reads and saves (under lock) */
};

const char *capset_mode_name(enum capset_mode mode)
{
	return mode == CAPSET_BPF ? "bpf" : mode == CAPSET_LOOP ? "loop" : "auto";
}

/* ---- the loop side ---- */

/* Put one frame into a subscriber's store, cut to its snaplen. */
static void capset_put(const struct capset_sub *sub, enum dp_hook_dir dir, uint64_t ts_ns,
		       const uint8_t *data, size_t caplen, size_t len,
		       const struct dp_hook_frame *drop)
{
	struct capset_cap *cap = sub->cap;
	struct capstore_rec rec = {
		.ts_ns = ts_ns,
		.len = (uint32_t)len,
		.caplen = (uint32_t)(caplen < sub->cap->snaplen ? caplen : sub->cap->snaplen),
		.peer = drop ? drop->peer : DP_ALL,
		.nic = sub->nic,
		.dir = (uint8_t)dir,
		.reason = drop ? drop->drop_reason : NULL,
	};

	if (cap->filter.on && !capfilter_match(&cap->filter, data, caplen, len, dir,
					       cap->nics[sub->nic].name, rec.reason))
		return;
	capstore_put(cap->store, &rec, data);
}

static void capset_on_event(void *ctx, const struct cap_event *ev, size_t size)
{
	struct capset *s = ctx;
	unsigned int slot = ev->nic & 0xffff;
	struct capset_subs *subs;
	struct capset_port *sp;
	size_t caplen = ev->caplen;

	if (slot >= DP_MAX_PORTS)
		return;
	sp = &s->ports[slot];
	if (atomic_load_explicit(&sp->tag, memory_order_relaxed) != ev->nic)
		return; /* a tap detached since */
	if (caplen > size - sizeof(*ev))
		caplen = size - sizeof(*ev);
	subs = atomic_load_explicit(&sp->subs, memory_order_acquire);
	for (size_t i = 0; subs && i < subs->n; i++) {
		if (subs->s[i].cap->mode == CAPSET_BPF)
			capset_put(&subs->s[i],
				   ev->dir == CAP_DIR_TX ? DP_HOOK_GUEST_TX : DP_HOOK_GUEST_RX,
				   ev->ts_ns + (uint64_t)s->mono_to_real, ev->data, caplen, ev->len,
				   NULL);
	}
}

/* Drain the ring buffer now (loop thread). */
static void capset_drain(struct capset *s)
{
	struct cap *c = atomic_load_explicit(&s->cap, memory_order_acquire);

	if (!c)
		return;
	cap_drain(c);
	atomic_fetch_add_explicit(&s->drains, 1, memory_order_release);
}

static void capset_on_ring(void *ctx)
{
	capset_drain(ctx);
}

static void capset_on_tick(void *ctx)
{
	struct capset *s = ctx;
	uint64_t expirations;

	if (read(s->tick_fd, &expirations, sizeof(expirations)) < 0)
		return; /* EAGAIN: nothing expired */
	/* Every 5 ms is often enough to follow the realtime clock; not per frame. */
	s->mono_to_real = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	capset_drain(s);
}

static void capset_hook(void *ctx, const struct dp_hook_frame *f)
{
	struct capset_port *sp = ctx;
	struct capset_subs *subs = atomic_load_explicit(&sp->subs, memory_order_acquire);
	bool drop = f->dir == DP_HOOK_DROP;

	if (!subs)
		return;
	/* A BPF subscriber has the frame in the ring: drain first so the drop follows it. */
	for (size_t i = 0; drop && i < subs->n; i++) {
		if (subs->s[i].cap->mode != CAPSET_LOOP) {
			capset_drain(sp->set);
			break;
		}
	}
	for (size_t i = 0; i < subs->n; i++) {
		if (drop || subs->s[i].cap->mode == CAPSET_LOOP)
			capset_put(&subs->s[i], f->dir, f->ts_ns, f->data, f->len, f->len,
				   drop ? f : NULL);
	}
}

/* ---- ports: hooks and subscribers ---- */

static struct capset_port *capset_port_get(struct capset *s, uint32_t port)
{
	struct capset_port *free_slot = NULL;

	for (size_t i = 0; i < DP_MAX_PORTS; i++) {
		if (s->ports[i].port == port)
			return &s->ports[i];
		if (!s->ports[i].port && !free_slot)
			free_slot = &s->ports[i];
	}
	if (free_slot) {
		free_slot->port = port;
		free_slot->gen =
			(uint16_t)(free_slot->gen + 1) ? (uint16_t)(free_slot->gen + 1) : 1;
	}
	return free_slot;
}

static uint32_t capset_port_slot(const struct capset *s, const struct capset_port *sp)
{
	return (uint32_t)(sp - s->ports);
}

/* The tag of sp's tap: its generation and slot. */
static uint32_t capset_port_tag(const struct capset *s, const struct capset_port *sp)
{
	return (uint32_t)sp->gen << 16 | capset_port_slot(s, sp);
}

/* Publish subs as sp's subscribers, hooking or unhooking the port, and free the old ones. */
static void capset_port_publish(struct capset *s, struct capset_port *sp, struct capset_subs *subs)
{
	struct capset_subs *old = atomic_exchange(&sp->subs, subs);

	if (!old && subs)
		dp_port_set_hook(s->dp, sp->port, capset_hook, sp);
	else if (old && !subs)
		dp_port_set_hook(s->dp, sp->port, NULL, NULL);
	dp_sync(s->dp); /* the loop no longer holds old */
	free(old);
	if (!subs && !sp->bpf_users)
		sp->port = 0;
}

/* Add (add=true) or remove a capture's NIC from its port's subscribers. */
static int capset_subscribe(struct capset *s, struct capset_cap *cap, uint16_t nic, bool add)
{
	struct capset_port *sp = cap->nics[nic].sp;
	struct capset_subs *old = atomic_load(&sp->subs), *subs;
	size_t n = old ? old->n : 0, k = 0;

	subs = malloc(sizeof(*subs) + (n + 1) * sizeof(subs->s[0]));
	if (!subs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (old->s[i].cap != cap)
			subs->s[k++] = old->s[i];
	}
	if (add)
		subs->s[k++] = (struct capset_sub){cap, nic};
	subs->n = k;
	if (!k) {
		free(subs);
		subs = NULL;
	}
	capset_port_publish(s, sp, subs);
	return 0;
}

/* ---- bpf taps ---- */

/* A timerfd firing every CAPSET_DRAIN_NS, watched by the loop. */
static int capset_tick_start(struct capset *s)
{
	struct itimerspec its = {{0, CAPSET_DRAIN_NS}, {0, CAPSET_DRAIN_NS}};
	int err;

	s->tick_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->tick_fd < 0)
		return -errno;
	err = timerfd_settime(s->tick_fd, 0, &its, NULL) ? -errno : 0;
	if (!err)
		err = dp_watch_fd(s->dp, s->tick_fd, capset_on_tick, s);
	if (err) {
		close(s->tick_fd);
		s->tick_fd = -1;
	}
	return err;
}

/*
 * Load the maps and have the loop drain the ring buffer: when the program
 * wakes it (the ring is filling up) and every CAPSET_DRAIN_NS.
 */
static int capset_bpf_load(struct capset *s)
{
	struct cap *c;
	int err;

	if (atomic_load(&s->cap))
		return 0;
	err = cap_open(capset_on_event, s, &c);
	if (err)
		return err;
	atomic_store(&s->cap, c);
	err = dp_watch_fd(s->dp, cap_fd(c), capset_on_ring, s);
	if (!err) {
		err = capset_tick_start(s);
		if (err)
			dp_unwatch_fd(s->dp, cap_fd(c));
	}
	if (err) {
		atomic_store(&s->cap, NULL);
		dp_sync(s->dp);
		cap_close(c);
	}
	return err;
}

/*
 * Have the loop drain the ring buffer now and wait until it did (at most
 * 100 ms): what the taps recorded before this call is then in the stores.
 * Two drains, since one may have been under way already.
 */
static void capset_flush(struct capset *s)
{
	const struct itimerspec now = {{0, CAPSET_DRAIN_NS}, {0, 1}};
	uint64_t d0 = atomic_load(&s->drains);

	if (s->tick_fd < 0 || timerfd_settime(s->tick_fd, 0, &now, NULL))
		return;
	for (int i = 0; i < 1000 && atomic_load(&s->drains) < d0 + 2; i++)
		usleep(100);
}

/* Unload the program once no port has a tap. */
static void capset_bpf_unload(struct capset *s)
{
	struct cap *c = atomic_load(&s->cap);

	if (!c)
		return;
	for (size_t i = 0; i < DP_MAX_PORTS; i++) {
		if (s->ports[i].bpf_users)
			return;
	}
	dp_unwatch_fd(s->dp, s->tick_fd);
	close(s->tick_fd);
	s->tick_fd = -1;
	dp_unwatch_fd(s->dp, cap_fd(c));
	atomic_store(&s->cap, NULL);
	dp_sync(s->dp); /* no hook is draining it any more */
	cap_close(c);
}

/* The largest snaplen among the bpf captures of port sp. */
static uint32_t capset_port_snaplen(struct capset *s, struct capset_port *sp)
{
	uint32_t snaplen = 0;

	for (struct capset_cap *cap = s->caps; cap; cap = cap->next) {
		if (!cap->running || cap->mode != CAPSET_BPF)
			continue;
		for (size_t i = 0; i < cap->nnics; i++) {
			if (cap->nics[i].sp == sp && cap->snaplen > snaplen)
				snaplen = cap->snaplen;
		}
	}
	return snaplen;
}

static void capset_record(struct capset *s, const struct cap_link *link, bool add)
{
	if (s->record)
		s->record(s->record_ctx, add, link);
}

/* Attach a tap to the port of nic, or share the one it has. */
static int capset_tap_get(struct capset *s, struct capset_cap *cap, struct capset_nic *nic)
{
	struct capset_port *sp = nic->sp;
	struct cap *c = atomic_load(&s->cap);
	char ifname[PORT_NAME_MAX];
	int err, netns_fd, ifindex;
	uint64_t lost = 0;

	if (!sp->bpf_users) {
		err = dp_port_netdev(s->dp, sp->port, &netns_fd, ifname, &ifindex);
		if (err)
			return err;
		err = cap_attach(c, capset_port_tag(s, sp), netns_fd, ifindex, ifname, &sp->link);
		close(netns_fd);
		if (err)
			return err;
		capset_record(s, &sp->link, true);
		atomic_store(&sp->tag, capset_port_tag(s, sp));
	}
	sp->bpf_users++;
	err = cap_select(c, capset_port_slot(s, sp),
			 cap->snaplen > capset_port_snaplen(s, sp) ? cap->snaplen
								   : capset_port_snaplen(s, sp));
	if (!err)
		cap_lost(c, capset_port_slot(s, sp), &lost);
	nic->lost_base = lost;
	return err;
}

/* Let go of nic's tap; the last user detaches it. */
static void capset_tap_put(struct capset *s, struct capset_nic *nic)
{
	struct capset_port *sp = nic->sp;
	struct cap *c = atomic_load(&s->cap);
	char ifname[PORT_NAME_MAX];
	int err, netns_fd, ifindex;

	if (--sp->bpf_users > 0) {
		cap_select(c, capset_port_slot(s, sp), capset_port_snaplen(s, sp));
		return;
	}
	cap_select(c, capset_port_slot(s, sp), 0);
	atomic_store(&sp->tag, 0);
	if (dp_port_netdev(s->dp, sp->port, &netns_fd, ifname, &ifindex))
		netns_fd = -1, ifindex = 0; /* the port is gone: cap finds the namespace */
	err = cap_detach(&sp->link, netns_fd, ifindex);
	if (netns_fd >= 0)
		close(netns_fd);
	if (err)
		log_warn("capture: cannot detach the tap from %s: %s", sp->link.ifname,
			 strerror(-err));
	else
		capset_record(s, &sp->link, false);
	if (!atomic_load(&sp->subs))
		sp->port = 0;
}

/* The frames the ring buffer lost for cap so far. */
static uint64_t capset_ring_lost(struct capset *s, struct capset_cap *cap)
{
	struct cap *c = atomic_load(&s->cap);
	uint64_t sum = 0, lost;

	if (!cap->running || cap->mode != CAPSET_BPF || !c)
		return cap->ring_lost;
	for (size_t i = 0; i < cap->nnics; i++) {
		if (cap_lost(c, capset_port_slot(s, cap->nics[i].sp), &lost) == 0 &&
		    lost >= cap->nics[i].lost_base)
			sum += lost - cap->nics[i].lost_base;
	}
	return sum;
}

/* Attach taps to every NIC of cap (cap->running is false: they select no frames yet). */
static int capset_bpf_start(struct capset *s, struct capset_cap *cap, char *why, size_t size)
{
	size_t done = 0;
	int err;

	err = capset_bpf_load(s);
	if (err) {
		snprintf(why, size, "cannot load the BPF capture program: %s", strerror(-err));
		return err;
	}
	for (; done < cap->nnics; done++) {
		err = capset_tap_get(s, cap, &cap->nics[done]);
		if (err) {
			snprintf(why, size, "cannot attach a BPF tap to %s: %s",
				 cap->nics[done].name, strerror(-err));
			if (cap->nics[done].sp->bpf_users)
				capset_tap_put(s, &cap->nics[done]);
			break;
		}
	}
	if (!err)
		return 0;
	while (done--)
		capset_tap_put(s, &cap->nics[done]);
	capset_bpf_unload(s);
	return err;
}

/* ---- captures ---- */

static struct capset_cap *capset_find(struct capset *s, uint32_t id)
{
	for (struct capset_cap *cap = s->caps; cap; cap = cap->next) {
		if (cap->id == id)
			return cap;
	}
	return NULL;
}

static void capset_cap_free(struct capset_cap *cap)
{
	if (!cap)
		return;
	capstore_destroy(cap->store);
	free(cap->file_buf);
	free(cap->nics);
	free(cap);
}

/* Name a NIC for pcapng: "netns/bridge" when its TAP lives in a named namespace. */
static void capset_nic_names(struct capset *s, struct capset_nic *nic, const char *bridge)
{
	char netns[CAP_NAME_MAX] = "", ifname[PORT_NAME_MAX] = "";
	int fd, ifindex;

	if (dp_port_netdev(s->dp, nic->port, &fd, ifname, &ifindex) == 0) {
		if (cap_netns_name(fd, netns, sizeof(netns)))
			netns[0] = '\0';
		close(fd);
	}
	if (netns[0] && bridge)
		snprintf(nic->ifname, sizeof(nic->ifname), "%s/%s", netns, bridge);
	else
		snprintf(nic->ifname, sizeof(nic->ifname), "%s", nic->name);
	snprintf(nic->desc, sizeof(nic->desc), "tapyard port %s%s%s%s%s%s%s", nic->name,
		 ifname[0] ? " (" : "", ifname, ifname[0] ? ")" : "", bridge ? " on bridge " : "",
		 bridge ? bridge : "", netns[0] ? " in netns " : "");
	if (netns[0])
		strncat(nic->desc, netns, sizeof(nic->desc) - strlen(nic->desc) - 1);
}

/* Fill cap's NICs from the ports of o; *all_taps tells whether each is a TAP. */
static int capset_nics_init(struct capset *s, struct capset_cap *cap, const struct capset_opts *o,
			    bool *all_taps, char *why, size_t size)
{
	struct dp_port_info pi;
	int err;

	cap->nics = calloc(o->nports, sizeof(*cap->nics));
	if (!cap->nics)
		return -ENOMEM;
	*all_taps = true;
	for (size_t i = 0; i < o->nports; i++) {
		struct capset_nic *nic = &cap->nics[cap->nnics];

		err = dp_port_info(s->dp, o->ports[i], &pi);
		if (err) {
			snprintf(why, size, "port %#x vanished", o->ports[i]);
			return err;
		}
		nic->port = o->ports[i];
		snprintf(nic->name, sizeof(nic->name), "%s", pi.name);
		capset_nic_names(s, nic, o->bridge);
		*all_taps = *all_taps && strcmp(pi.kind, "tap") == 0;
		cap->nnics++;
	}
	return 0;
}

/* The pcapng comment of a dropped frame. */
static void capset_drop_comment(struct capset_cap *cap, const struct capstore_rec *rec, char *buf,
				size_t size)
{
	struct dp_port_info pi;
	const char *peer = NULL;

	for (size_t i = 0; i < cap->nnics && rec->peer != DP_ALL; i++) {
		if (cap->nics[i].port == rec->peer)
			peer = cap->nics[i].name;
	}
	if (!peer && rec->peer != DP_ALL && dp_port_info(cap->set->dp, rec->peer, &pi) == 0)
		peer = pi.name;
	snprintf(buf, size, "dropped: %s%s%s", rec->reason ? rec->reason : "unknown",
		 peer ? " peer " : "", peer ? peer : "");
}

/* Write one stored frame to png. */
static int capset_png_frame(struct capset_cap *cap, struct pcapng *png,
			    const struct capstore_rec *rec, const uint8_t *data)
{
	char comment[96];
	struct pcapng_pkt pkt = {
		.if_id = rec->nic,
		.ts_ns = rec->ts_ns,
		.data = data,
		.caplen = rec->caplen,
		.len = rec->len,
		.dir = rec->dir == DP_HOOK_GUEST_TX   ? PCAPNG_DIR_OUTBOUND
		       : rec->dir == DP_HOOK_GUEST_RX ? PCAPNG_DIR_INBOUND
						      : PCAPNG_DIR_UNKNOWN,
	};

	if (rec->dir == DP_HOOK_DROP) {
		capset_drop_comment(cap, rec, comment, sizeof(comment));
		pkt.comment = comment;
	}
	return pcapng_write(png, &pkt);
}

/* Start a pcapng file on fd (owned) with its section header and one interface per NIC. */
static int capset_png_open(struct capset_cap *cap, int fd, struct pcapng **out)
{
	int err;

	*out = NULL;
	err = pcapng_open_fd(fd, "tapyard " TAPYARD_VERSION, out);
	for (size_t i = 0; !err && i < cap->nnics; i++)
		err = pcapng_add_if(*out, cap->nics[i].ifname, cap->nics[i].desc, cap->snaplen);
	if (err && *out) {
		pcapng_close(*out);
		*out = NULL;
	}
	return err;
}

/* Copy frame *seq of cap into buf; an evicted seq moves to the oldest kept. */
static int capset_get(struct capset_cap *cap, uint64_t *seq, struct capstore_rec *rec, uint8_t *buf,
		      uint64_t *missed)
{
	uint64_t first, next;
	int err;

	for (;;) {
		err = capstore_get(cap->store, *seq, rec, buf, CAP_SNAP_MAX);
		if (err != -ENOENT)
			return err;
		capstore_bounds(cap->store, &first, &next);
		if (first > *seq) {
			*missed += first - *seq;
			*seq = first;
		}
	}
}

/* Write every frame the writer has not written yet; returns how many. */
static size_t capset_write_some(struct capset_cap *cap)
{
	struct capstore_rec rec;
	uint64_t missed = 0;
	size_t n = 0;
	int err = 0;

	while (!err && capset_get(cap, &cap->file_cursor, &rec, cap->file_buf, &missed) == 0) {
		err = capset_png_frame(cap, cap->png, &rec, cap->file_buf);
		cap->file_cursor++;
		n++;
	}
	if (missed)
		atomic_fetch_add(&cap->file_lost, missed);
	if (err && !atomic_load(&cap->file_error)) {
		atomic_store(&cap->file_error, err);
		log_warn("capture %u: writing %s failed: %s", cap->id, cap->path, strerror(-err));
	}
	return n;
}

static void *capset_writer(void *arg)
{
	struct capset_cap *cap = arg;
	bool stop = false;

	while (!stop) {
		stop = atomic_load(&cap->writer_stop);
		if (capset_write_some(cap))
			continue;
		pcapng_flush(cap->png);
		if (!stop)
			capstore_sleep(cap->store, CAPSET_WRITER_WAIT_MS);
	}
	return NULL;
}

static int capset_file_start(struct capset_cap *cap, int fd, char *why, size_t size)
{
	int err;

	cap->file_buf = malloc(CAP_SNAP_MAX);
	if (!cap->file_buf) {
		close(fd);
		return -ENOMEM;
	}
	err = capset_png_open(cap, fd, &cap->png);
	if (err) {
		snprintf(why, size, "cannot write %s: %s", cap->path, strerror(-err));
		return err;
	}
	err = -pthread_create(&cap->writer, NULL, capset_writer, cap);
	if (err) {
		pcapng_close(cap->png);
		cap->png = NULL;
		return err;
	}
	cap->writer_started = true;
	return 0;
}

static void capset_file_stop(struct capset_cap *cap)
{
	int err;

	if (!cap->writer_started)
		return;
	atomic_store(&cap->writer_stop, true);
	capstore_wake(cap->store);
	pthread_join(cap->writer, NULL);
	cap->writer_started = false;
	err = pcapng_close(cap->png);
	cap->png = NULL;
	if (err && !atomic_load(&cap->file_error))
		atomic_store(&cap->file_error, err);
}

/* Forget the oldest stopped captures beyond CAPSET_KEEP_STOPPED; count the running ones. */
static size_t capset_trim(struct capset *s)
{
	size_t stopped = 0, running = 0;
	struct capset_cap **pp, *cap;

	for (cap = s->caps; cap; cap = cap->next)
		stopped += !cap->running;
	for (pp = &s->caps; (cap = *pp);) {
		if (!cap->running && !cap->refs && stopped > CAPSET_KEEP_STOPPED) {
			*pp = cap->next;
			capset_cap_free(cap);
			stopped--;
			continue;
		}
		running += cap->running;
		pp = &cap->next;
	}
	return running;
}

/* Choose the mode and attach taps when it is bpf. */
static int capset_mode_start(struct capset *s, struct capset_cap *cap, enum capset_mode want,
			     bool all_taps, char *why, size_t size)
{
	int err;

	cap->mode = CAPSET_LOOP;
	if (want == CAPSET_LOOP)
		return 0;
	if (!all_taps) {
		snprintf(why, size, "mode bpf needs TAP ports");
		return want == CAPSET_BPF ? -EOPNOTSUPP : 0;
	}
	if (!cap_available()) {
		snprintf(why, size, "this build has no BPF capture program");
		return want == CAPSET_BPF ? -EOPNOTSUPP : 0;
	}
	err = capset_bpf_start(s, cap, why, size);
	if (!err)
		cap->mode = CAPSET_BPF;
	else if (want == CAPSET_AUTO)
		log_debug("capture: %s; capturing in the loop", why);
	return want == CAPSET_BPF ? err : 0;
}

/* Undo what capset_start() and capset_stop() share: subscriptions, taps, the file. */
static void capset_cap_halt(struct capset *s, struct capset_cap *cap)
{
	for (size_t i = 0; i < cap->nnics; i++) {
		if (cap->nics[i].sp)
			capset_subscribe(s, cap, (uint16_t)i, false);
	}
	if (cap->mode == CAPSET_BPF) {
		cap->ring_lost = capset_ring_lost(s, cap);
		cap->running = false;
		for (size_t i = 0; i < cap->nnics; i++) {
			if (cap->nics[i].sp)
				capset_tap_put(s, &cap->nics[i]);
		}
		capset_bpf_unload(s);
	}
	cap->running = false;
	capset_file_stop(cap);
}

/* Set up a new capture, not yet listed. */
static int capset_cap_init(struct capset *s, struct capset_cap *cap, const struct capset_opts *o,
			   char *why, size_t size)
{
	bool all_taps;
	int err;

	cap->set = s;
	cap->snaplen = o->snaplen ? o->snaplen : CAPSET_DEFAULT_SNAPLEN;
	snprintf(cap->target, sizeof(cap->target), "%s", o->target ? o->target : "");
	snprintf(cap->path, sizeof(cap->path), "%s", o->path ? o->path : "");
	if (o->filter)
		cap->filter = *o->filter;
	else
		capfilter_init(&cap->filter);
	err = capset_nics_init(s, cap, o, &all_taps, why, size);
	if (!err)
		err = capstore_create(CAPSET_STORE_BYTES, CAPSET_STORE_FRAMES, &cap->store);
	for (size_t i = 0; !err && i < cap->nnics; i++) {
		cap->nics[i].sp = capset_port_get(s, cap->nics[i].port);
		if (!cap->nics[i].sp)
			err = -ENOSPC;
	}
	if (!err)
		err = capset_mode_start(s, cap, o->mode, all_taps, why, size);
	if (!err)
		cap->running = true;
	if (!err && o->path)
		err = capset_file_start(cap, o->fd, why, size);
	else if (o->path)
		close(o->fd);
	for (size_t i = 0; !err && i < cap->nnics; i++)
		err = capset_subscribe(s, cap, (uint16_t)i, true);
	return err;
}

int capset_start(struct capset *s, const struct capset_opts *o, uint32_t *id, char *why,
		 size_t why_size)
{
	struct capset_cap *cap, **pp;
	int err;

	snprintf(why, why_size, "%s", "");
	err = !o->nports || o->nports > DP_MAX_PORTS || o->snaplen > CAP_SNAP_MAX - 1 ? -EINVAL : 0;
	if (!err && o->path && strlen(o->path) >= CAPSET_PATH_MAX)
		err = -ENAMETOOLONG;
	cap = err ? NULL : calloc(1, sizeof(*cap));
	if (!cap) {
		if (o->path)
			close(o->fd);
		return err ? err : -ENOMEM;
	}
	pthread_mutex_lock(&s->lock);
	err = capset_trim(s) >= CAPSET_MAX_RUNNING ? -ENOSPC : 0;
	if (!err)
		err = capset_cap_init(s, cap, o, why, why_size);
	if (err) {
		capset_cap_halt(s, cap);
		for (size_t i = 0; i < cap->nnics; i++) {
			struct capset_port *sp = cap->nics[i].sp;

			if (sp && !sp->bpf_users && !atomic_load(&sp->subs))
				sp->port = 0;
		}
		capset_cap_free(cap);
	} else {
		cap->id = ++s->next_id;
		for (pp = &s->caps; *pp; pp = &(*pp)->next)
			;
		*pp = cap;
		*id = cap->id;
		log_info("capture %u started on %s (mode %s)", cap->id, cap->target,
			 capset_mode_name(cap->mode));
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* Fill info for cap (the set's lock held). */
static void capset_cap_info(struct capset *s, struct capset_cap *cap, struct capset_info *info)
{
	uint64_t next;

	memset(info, 0, sizeof(*info));
	info->id = cap->id;
	snprintf(info->target, sizeof(info->target), "%s", cap->target);
	snprintf(info->path, sizeof(info->path), "%s", cap->path);
	info->mode = cap->mode;
	info->running = cap->running;
	info->snaplen = cap->snaplen;
	info->nics = cap->nnics;
	capstore_bounds(cap->store, &info->first, &next);
	info->frames = next;
	info->evicted = capstore_evicted(cap->store);
	info->ring_lost = capset_ring_lost(s, cap);
	info->file_lost = atomic_load(&cap->file_lost);
	info->dropped = info->ring_lost + info->file_lost;
	info->file_error = atomic_load(&cap->file_error);
}

int capset_stop(struct capset *s, uint32_t id, struct capset_info *info)
{
	struct capset_cap *cap;
	int err = -ENOENT;

	pthread_mutex_lock(&s->lock);
	cap = capset_find(s, id);
	if (cap && cap->running) {
		if (cap->mode == CAPSET_BPF)
			capset_flush(s);
		capset_cap_halt(s, cap);
		capstore_wake(cap->store);
		log_info("capture %u stopped", cap->id);
	}
	if (cap) {
		capset_cap_info(s, cap, info);
		err = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int capset_release(struct capset *s, uint32_t id)
{
	struct capset_info info;
	struct capset_cap **pp, *cap;
	int err = capset_stop(s, id, &info);

	if (err)
		return err;
	pthread_mutex_lock(&s->lock);
	for (pp = &s->caps; (cap = *pp) && cap->id != id; pp = &cap->next)
		;
	if (cap && cap->refs) {
		err = -EBUSY;
	} else if (cap) {
		*pp = cap->next;
		capset_cap_free(cap);
	}
	pthread_mutex_unlock(&s->lock);
	return cap ? err : -ENOENT;
}

int capset_info(struct capset *s, uint32_t id, struct capset_info *info)
{
	struct capset_cap *cap;

	pthread_mutex_lock(&s->lock);
	cap = capset_find(s, id);
	if (cap)
		capset_cap_info(s, cap, info);
	pthread_mutex_unlock(&s->lock);
	return cap ? 0 : -ENOENT;
}

size_t capset_list(struct capset *s, uint32_t *ids, size_t max)
{
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	for (struct capset_cap *cap = s->caps; cap && n < max; cap = cap->next)
		ids[n++] = cap->id;
	pthread_mutex_unlock(&s->lock);
	return n;
}

size_t capset_nics(struct capset *s, uint32_t id, const char **names, size_t max)
{
	struct capset_cap *cap;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	cap = capset_find(s, id);
	for (; cap && n < max && n < cap->nnics; n++)
		names[n] = cap->nics[n].name;
	pthread_mutex_unlock(&s->lock);
	return n;
}

int capset_wait(struct capset *s, uint32_t id, uint64_t cursor, int timeout_ms,
		const atomic_bool *stop)
{
	struct capset_cap *cap;
	bool running = false;
	int err;

	pthread_mutex_lock(&s->lock);
	cap = capset_find(s, id);
	if (cap) {
		cap->refs++;
		running = cap->running;
	}
	pthread_mutex_unlock(&s->lock);
	if (!cap)
		return -ENOENT;
	err = capstore_wait_stop(cap->store, cursor, running ? timeout_ms : 0, stop);
	pthread_mutex_lock(&s->lock);
	cap->refs--;
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* The name of dp port id among cap's NICs, else from the switch (into buf). */
static const char *capset_port_name(struct capset_cap *cap, uint32_t id, char *buf)
{
	struct dp_port_info pi;

	if (id == DP_ALL)
		return NULL;
	for (size_t i = 0; i < cap->nnics; i++) {
		if (cap->nics[i].port == id)
			return cap->nics[i].name;
	}
	if (dp_port_info(cap->set->dp, id, &pi))
		return NULL;
	memcpy(buf, pi.name, PORT_NAME_MAX);
	return buf;
}

int capset_read(struct capset *s, uint32_t id, uint64_t cursor, size_t max, capset_frame_fn fn,
		void *ctx, uint64_t *next, uint64_t *missed)
{
	char peer[PORT_NAME_MAX];
	struct capstore_rec rec;
	struct capset_cap *cap;
	int n = 0;

	*missed = 0;
	pthread_mutex_lock(&s->lock);
	cap = capset_find(s, id);
	while (cap && (size_t)n < max && capset_get(cap, &cursor, &rec, s->buf, missed) == 0) {
		struct capset_frame f = {
			.seq = cursor,
			.ts_ns = rec.ts_ns,
			.len = rec.len,
			.caplen = rec.caplen,
			.dir = (enum dp_hook_dir)rec.dir,
			.nic = rec.nic < cap->nnics ? cap->nics[rec.nic].name : "?",
			.drop_reason = rec.reason,
			.peer = capset_port_name(cap, rec.peer, peer),
			.data = s->buf,
		};

		if (fn(ctx, &f))
			break;
		cursor++;
		n++;
	}
	*next = cursor;
	pthread_mutex_unlock(&s->lock);
	return cap ? n : -ENOENT;
}

int capset_save(struct capset *s, uint32_t id, int fd, uint64_t *frames)
{
	struct capstore_rec rec;
	struct capset_cap *cap;
	struct pcapng *png = NULL;
	uint64_t seq, next, missed = 0;
	int err = -ENOENT, err2;

	*frames = 0;
	pthread_mutex_lock(&s->lock);
	cap = capset_find(s, id);
	if (cap && cap->running && cap->mode == CAPSET_BPF)
		capset_flush(s);
	if (cap)
		err = capset_png_open(cap, fd, &png);
	else
		close(fd);
	if (!err) {
		capstore_bounds(cap->store, &seq, &next);
		while (!err && seq < next && capset_get(cap, &seq, &rec, s->buf, &missed) == 0) {
			err = capset_png_frame(cap, png, &rec, s->buf);
			seq++;
			(*frames)++;
		}
		err2 = pcapng_close(png);
		err = err ? err : err2;
	}
	pthread_mutex_unlock(&s->lock);
	return err;
}

int capset_create(struct dp *dp, capset_record_fn record, void *record_ctx, struct capset **out)
{
	struct capset *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->buf = malloc(CAP_SNAP_MAX);
	if (!s->buf) {
		free(s);
		return -ENOMEM;
	}
	s->dp = dp;
	s->tick_fd = -1;
	s->mono_to_real = (int64_t)(clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC));
	s->record = record;
	s->record_ctx = record_ctx;
	for (size_t i = 0; i < DP_MAX_PORTS; i++) {
		s->ports[i].set = s;
	}
	pthread_mutex_init(&s->lock, NULL);
	*out = s;
	return 0;
}

void capset_destroy(struct capset *s)
{
	struct capset_cap *cap;

	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	for (cap = s->caps; cap; cap = cap->next) {
		if (cap->running)
			capset_cap_halt(s, cap);
	}
	while ((cap = s->caps)) {
		s->caps = cap->next;
		capset_cap_free(cap);
	}
	pthread_mutex_unlock(&s->lock);
	pthread_mutex_destroy(&s->lock);
	free(s->buf);
	free(s);
}
