/* SPDX-License-Identifier: MIT */
/*
 * dp: the switch's command side. Every change to dataplane state is a
 * command function run by the loop thread between batches (cmdq_call() posts
 * it and waits); reads of counters and statistics are lock-free.
 */
#include "dp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cmdq.h"
#include "dp_internal.h"

static const struct dp_config dp_defaults = {
	.nbufs = 1024,
	.buf_size = 65536 + 128,
	.tx_slots = 4096,
	.fdb_capacity = 16384,
	.fdb_age_ms = 300000,
};

static int dp_config_check(struct dp_config *c)
{
#define DEF(f)     \
	if (!c->f) \
	c->f = dp_defaults.f
	DEF(nbufs);
	DEF(buf_size);
	DEF(tx_slots);
	DEF(fdb_capacity);
	DEF(fdb_age_ms);
#undef DEF
	if (c->nbufs & (c->nbufs - 1) || c->nbufs > 32768) {
		log_error("dp config: nbufs %u must be a power of two up to 32768", c->nbufs);
		return -EINVAL;
	}
	if (c->buf_size < 2048) {
		log_error("dp config: buf_size %u is below 2048", c->buf_size);
		return -EINVAL;
	}
	if (c->tx_slots > 65536) {
		log_error("dp config: tx_slots %u is above 65536", c->tx_slots);
		return -EINVAL;
	}
	return 0;
}

int dp_create(const struct dp_config *cfg, struct dp **out)
{
	struct dp *dp = calloc(1, sizeof(*dp));
	int err;

	if (!dp)
		return -ENOMEM;
	dp->wakefd = -1;
	if (cfg)
		dp->cfg = *cfg;
	err = dp_config_check(&dp->cfg);
	if (err)
		goto fail;
	dp->tx = calloc(dp->cfg.tx_slots, sizeof(*dp->tx));
	if (!dp->tx) {
		err = -ENOMEM;
		goto fail;
	}
	for (uint32_t i = 0; i < dp->cfg.tx_slots; i++)
		dp->tx[i].next_free = i + 1 < dp->cfg.tx_slots ? i + 1 : DP_TX_NIL;
	dp->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (dp->wakefd < 0) {
		err = -errno;
		goto fail;
	}
	for (unsigned int i = 0; i < DP_MAX_WATCH; i++)
		dp->watch[i].fd = -1;
	err = dp_impair_init(dp);
	if (err)
		goto fail;
	pthread_mutex_init(&dp->qlock, NULL);
	pthread_cond_init(&dp->qcond, NULL);
	*out = dp;
	return 0;
fail:
	if (dp->wakefd >= 0)
		close(dp->wakefd);
	free(dp->tx);
	free(dp);
	return err;
}

int dp_start(struct dp *dp)
{
	if (dp->thread_started)
		return -EALREADY;
	dp->start_result = 1;
	if (pthread_create(&dp->thread, NULL, loop_main, dp))
		return -EAGAIN;
	dp->thread_started = true;
	pthread_mutex_lock(&dp->qlock);
	while (dp->start_result == 1)
		pthread_cond_wait(&dp->qcond, &dp->qlock);
	pthread_mutex_unlock(&dp->qlock);
	if (dp->start_result) {
		pthread_join(dp->thread, NULL);
		dp->thread_started = false;
	}
	return dp->start_result;
}

static int dpc_stop(struct dp *dp, struct dp_cmd *c)
{
	(void)c;
	dp->stopping = true;
	return 0;
}

void dp_stop(struct dp *dp)
{
	struct dp_cmd c = {.fn = dpc_stop};

	if (!dp->thread_started)
		return;
	cmdq_call(dp, &c);
	pthread_join(dp->thread, NULL);
	dp->thread_started = false;
}

void dp_destroy(struct dp *dp)
{
	if (!dp)
		return;
	dp_stop(dp);
	for (unsigned int i = 0; i < DP_MAX_PORTS; i++)
		port_destroy(dp->ports[i].port);
	for (unsigned int i = 0; i < DP_MAX_BRIDGES; i++)
		fdb_destroy(dp->bridges[i].fdb);
	if (dp->wakefd >= 0)
		close(dp->wakefd);
	pthread_mutex_destroy(&dp->qlock);
	pthread_cond_destroy(&dp->qcond);
	dp_impair_free(dp);
	free(dp->tx);
	free(dp);
}

/* ---- bridges ---- */

/* A lookup by name: bridge/find, port/find. */
struct dpc_find {
	struct dp_cmd hdr;
	const char *name;
	uint32_t id; /* out */
};

/* The id of the bridge called name, or 0 (loop thread). */
static uint32_t dp_bridge_named(struct dp *dp, const char *name)
{
	for (unsigned int i = 0; i < DP_MAX_BRIDGES; i++) {
		struct dp_bridge *b = &dp->bridges[i];
		uint32_t id = atomic_load(&b->live_id);

		if (id && strcmp(b->name, name) == 0)
			return id;
	}
	return 0;
}

static int dpc_bridge_find(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_find *c = DPC_OF(hdr, struct dpc_find);

	c->id = dp_bridge_named(dp, c->name);
	return c->id ? 0 : -ENOENT;
}

struct dpc_bridge_add {
	struct dp_cmd hdr;
	const char *name;
	struct fdb *fdb; /* the bridge's from now on; left set when the command fails */
	uint32_t id; /* out */
};

static int dpc_bridge_add(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_bridge_add *c = DPC_OF(hdr, struct dpc_bridge_add);
	struct dp_bridge *b = NULL;
	unsigned int slot;

	if (dp_bridge_named(dp, c->name))
		return -EEXIST;
	for (slot = 0; slot < DP_MAX_BRIDGES; slot++) {
		if (!atomic_load(&dp->bridges[slot].live_id)) {
			b = &dp->bridges[slot];
			break;
		}
	}
	if (!b)
		return -ENOSPC;
	fdb_destroy(b->fdb);
	b->fdb = c->fdb;
	c->fdb = NULL;
	snprintf(b->name, sizeof(b->name), "%s", c->name);
	b->nports = 0;
	b->gen = (uint16_t)(b->gen + 1 ? b->gen + 1 : 1);
	c->id = dp_make_id(b->gen, slot);
	atomic_store_explicit(&b->live_id, c->id, memory_order_release);
	atomic_fetch_add(&dp->stats.bridges, 1);
	return 0;
}

int dp_bridge_add(struct dp *dp, const char *name, uint32_t *id)
{
	struct dpc_bridge_add c = {.hdr.fn = dpc_bridge_add, .name = name};
	int err;

	if (!name[0] || strlen(name) >= DP_BRIDGE_NAME_MAX)
		return -ENAMETOOLONG;
	err = fdb_create(dp->cfg.fdb_capacity, (uint64_t)dp->cfg.fdb_age_ms * 1000000ull, &c.fdb);
	if (err)
		return err;
	err = cmdq_call(dp, &c.hdr);
	fdb_destroy(c.fdb); /* still set when the command failed */
	if (!err)
		*id = c.id;
	return err;
}

int dp_bridge_find(struct dp *dp, const char *name, uint32_t *id)
{
	struct dpc_find c = {.hdr.fn = dpc_bridge_find, .name = name};
	int err = cmdq_call(dp, &c.hdr);

	if (!err)
		*id = c.id;
	return err;
}

int dp_bridge_name(struct dp *dp, uint32_t id, char *buf)
{
	struct dp_bridge *b = dp_bridge_get(dp, id);

	if (!b)
		return -ENOENT;
	memcpy(buf, b->name, DP_BRIDGE_NAME_MAX); /* a name never changes while the id lives */
	return 0;
}

size_t dp_bridge_list(struct dp *dp, uint32_t *ids, size_t max)
{
	size_t n = 0;

	for (unsigned int i = 0; i < DP_MAX_BRIDGES && n < max; i++) {
		uint32_t id = atomic_load(&dp->bridges[i].live_id);

		if (id)
			ids[n++] = id;
	}
	return n;
}

/* ---- ports ---- */

/* The id of the port called name, or 0 (loop thread). */
static uint32_t dp_port_named(struct dp *dp, const char *name)
{
	for (unsigned int i = 0; i < DP_MAX_PORTS; i++) {
		struct dp_port *p = &dp->ports[i];

		if (p->port && strcmp(port_name(p->port), name) == 0)
			return atomic_load(&p->live_id);
	}
	return 0;
}

static int dpc_port_find(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_find *c = DPC_OF(hdr, struct dpc_find);

	c->id = dp_port_named(dp, c->name);
	return c->id ? 0 : -ENOENT;
}

struct dpc_port_add {
	struct dp_cmd hdr;
	uint32_t bridge;
	struct port *port; /* the switch's from now on; left set when the command fails */
	uint32_t id; /* out */
};

static int dpc_port_add(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_port_add *c = DPC_OF(hdr, struct dpc_port_add);
	struct dp_bridge *b = dp_bridge_get(dp, c->bridge);
	struct port *port = c->port;
	struct dp_port *p = NULL;
	unsigned int slot;

	if (!b)
		return -ENOENT;
	if (dp_port_named(dp, port_name(port)))
		return -EEXIST;
	for (slot = 0; slot < DP_MAX_PORTS; slot++) {
		if (!dp->ports[slot].port) {
			p = &dp->ports[slot];
			break;
		}
	}
	if (!p)
		return -ENOSPC;
	p->port = port;
	c->port = NULL;
	p->fd = port_fd(port);
	p->hdr_len = port_hdr_len(port);
	p->bridge = (uint16_t)dp_id_slot(c->bridge);
	p->up = true;
	p->gone = false;
	p->read_armed = false;
	p->need_rearm = false;
	p->tx_inflight = 0;
	p->hook = NULL;
	p->hook_ctx = NULL;
	counters_reset(&p->ctr);
	memset(&p->rl, 0, sizeof(p->rl));
	partition_clear_port(&dp->part, slot);
	p->gen = (uint16_t)(p->gen + 1 ? p->gen + 1 : 1);
	b->ports[b->nports++] = (uint16_t)slot;
	c->id = dp_make_id(p->gen, slot);
	atomic_store_explicit(&p->live_id, c->id, memory_order_release);
	atomic_fetch_add(&dp->stats.ports, 1);
	loop_arm_read(dp, slot);
	return 0;
}

int dp_port_add(struct dp *dp, uint32_t bridge, struct port *port, uint32_t *id)
{
	struct dpc_port_add c = {.hdr.fn = dpc_port_add, .bridge = bridge, .port = port};
	int err = cmdq_call(dp, &c.hdr);

	if (err) {
		port_destroy(c.port);
		return err;
	}
	*id = c.id;
	return 0;
}

/* Detach slot from its bridge and free it; the port is handed back in *out. */
static void dp_port_release(struct dp *dp, unsigned int slot, struct port **out)
{
	struct dp_port *p = &dp->ports[slot];
	struct dp_bridge *b = &dp->bridges[p->bridge];

	for (unsigned int i = 0; i < b->nports; i++) {
		if (b->ports[i] == slot) {
			b->ports[i] = b->ports[--b->nports];
			break;
		}
	}
	if (b->fdb)
		fdb_flush(b->fdb, (int)slot);
	partition_clear_port(&dp->part, slot);
	dp_impair_port_del(dp, slot);
	if (p->read_armed)
		loop_cancel_read(dp, slot);
	atomic_store_explicit(&p->live_id, 0, memory_order_release);
	*out = p->port;
	p->port = NULL;
	atomic_fetch_sub(&dp->stats.ports, 1);
}

struct dpc_port_del {
	struct dp_cmd hdr;
	uint32_t id;
	struct port *port; /* out: for the caller to destroy */
};

static int dpc_port_del(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_port_del *c = DPC_OF(hdr, struct dpc_port_del);

	if (!dp_port_get(dp, c->id))
		return -ENOENT;
	dp_port_release(dp, dp_id_slot(c->id), &c->port);
	return 0;
}

int dp_port_del(struct dp *dp, uint32_t id)
{
	struct dpc_port_del c = {.hdr.fn = dpc_port_del, .id = id};
	int err = cmdq_call(dp, &c.hdr);

	if (!err)
		port_destroy(c.port);
	return err;
}

struct dpc_bridge_del {
	struct dp_cmd hdr;
	uint32_t id;
	struct port *ports[DP_MAX_PORTS]; /* out: its ports, for the caller to destroy */
	size_t n;
};

static int dpc_bridge_del(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_bridge_del *c = DPC_OF(hdr, struct dpc_bridge_del);
	struct dp_bridge *b = dp_bridge_get(dp, c->id);

	if (!b)
		return -ENOENT;
	c->n = 0;
	while (b->nports) {
		unsigned int slot = b->ports[0];

		dp_port_release(dp, slot, &c->ports[c->n++]);
	}
	atomic_store_explicit(&b->live_id, 0, memory_order_release);
	dp_impair_bridge_del(dp, dp_id_slot(c->id));
	fdb_flush(b->fdb, -1);
	atomic_fetch_sub(&dp->stats.bridges, 1);
	return 0;
}

int dp_bridge_del(struct dp *dp, uint32_t id)
{
	struct dpc_bridge_del c = {.hdr.fn = dpc_bridge_del, .id = id};
	int err = cmdq_call(dp, &c.hdr);

	for (size_t i = 0; !err && i < c.n; i++)
		port_destroy(c.ports[i]);
	return err;
}

int dp_port_find(struct dp *dp, const char *name, uint32_t *id)
{
	struct dpc_find c = {.hdr.fn = dpc_port_find, .name = name};
	int err = cmdq_call(dp, &c.hdr);

	if (!err)
		*id = c.id;
	return err;
}

struct dpc_port_info {
	struct dp_cmd hdr;
	uint32_t id;
	struct dp_port_info *info; /* out */
};

static int dpc_port_info(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_port_info *c = DPC_OF(hdr, struct dpc_port_info);
	struct dp_port *p = dp_port_get(dp, c->id);
	struct dp_port_info *info = c->info;

	if (!p)
		return -ENOENT;
	info->id = c->id;
	info->bridge = atomic_load(&dp->bridges[p->bridge].live_id);
	snprintf(info->name, sizeof(info->name), "%s", port_name(p->port));
	info->kind = port_kind(p->port);
	info->up = p->up;
	info->gone = p->gone;
	info->created = port_created(p->port);
	info->offloads = port_offloads(p->port);
	snprintf(info->note, sizeof(info->note), "%s", port_note(p->port));
	return 0;
}

int dp_port_info(struct dp *dp, uint32_t id, struct dp_port_info *info)
{
	struct dpc_port_info c = {.hdr.fn = dpc_port_info, .id = id, .info = info};

	return cmdq_call(dp, &c.hdr);
}

struct dpc_port_netdev {
	struct dp_cmd hdr;
	uint32_t id;
	int netns_fd; /* out, as port_netdev() */
	char *ifname; /* out */
	int ifindex; /* out */
};

static int dpc_port_netdev(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_port_netdev *c = DPC_OF(hdr, struct dpc_port_netdev);
	struct dp_port *p = dp_port_get(dp, c->id);

	if (!p)
		return -ENOENT;
	return port_netdev(p->port, &c->netns_fd, c->ifname, &c->ifindex);
}

int dp_port_netdev(struct dp *dp, uint32_t id, int *netns_fd, char *ifname, int *ifindex)
{
	struct dpc_port_netdev c = {
		.hdr.fn = dpc_port_netdev, .id = id, .netns_fd = -1, .ifname = ifname};
	int err = cmdq_call(dp, &c.hdr);

	if (!err) {
		*netns_fd = c.netns_fd;
		*ifindex = c.ifindex;
	}
	return err;
}

struct dpc_port_list {
	struct dp_cmd hdr;
	uint32_t bridge; /* or DP_ALL */
	uint32_t *ids; /* out: at most max */
	size_t max, n;
};

static int dpc_port_list(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_port_list *c = DPC_OF(hdr, struct dpc_port_list);

	c->n = 0;
	for (unsigned int i = 0; i < DP_MAX_PORTS && c->n < c->max; i++) {
		struct dp_port *p = &dp->ports[i];

		if (!p->port)
			continue;
		if (c->bridge != DP_ALL &&
		    atomic_load(&dp->bridges[p->bridge].live_id) != c->bridge)
			continue;
		c->ids[c->n++] = atomic_load(&p->live_id);
	}
	return 0;
}

size_t dp_port_list(struct dp *dp, uint32_t bridge, uint32_t *ids, size_t max)
{
	struct dpc_port_list c = {
		.hdr.fn = dpc_port_list, .bridge = bridge, .ids = ids, .max = max};

	cmdq_call(dp, &c.hdr);
	return c.n;
}

struct dpc_port_set_link {
	struct dp_cmd hdr;
	uint32_t id;
	bool up;
};

static int dpc_port_set_link(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_port_set_link *c = DPC_OF(hdr, struct dpc_port_set_link);
	struct dp_port *p = dp_port_get(dp, c->id);
	int err;

	if (!p)
		return -ENOENT;
	p->up = c->up;
	if (!p->up)
		dp_impair_port_down(dp, dp_id_slot(c->id));
	err = port_set_carrier(p->port, c->up);
	if (err && err != -EOPNOTSUPP && !p->gone)
		log_warn("%s: cannot set carrier %s: %s", port_name(p->port), c->up ? "on" : "off",
			 strerror(-err));
	return 0;
}

int dp_port_set_link(struct dp *dp, uint32_t id, bool up)
{
	struct dpc_port_set_link c = {.hdr.fn = dpc_port_set_link, .id = id, .up = up};

	return cmdq_call(dp, &c.hdr);
}

/* ---- partitions ---- */

struct dpc_partition {
	struct dp_cmd hdr;
	uint32_t from, to;
	bool cut; /* cut (or heal) the path */
	bool query; /* only say whether it is cut */
};

static int dpc_partition(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_partition *c = DPC_OF(hdr, struct dpc_partition);

	if (!dp_port_get(dp, c->from) || !dp_port_get(dp, c->to))
		return -ENOENT;
	if (c->query)
		return partition_blocked(&dp->part, dp_id_slot(c->from), dp_id_slot(c->to));
	return partition_set(&dp->part, dp_id_slot(c->from), dp_id_slot(c->to), c->cut);
}

int dp_partition_set(struct dp *dp, uint32_t from, uint32_t to, bool cut)
{
	struct dpc_partition c = {.hdr.fn = dpc_partition, .from = from, .to = to, .cut = cut};

	return cmdq_call(dp, &c.hdr);
}

int dp_partition_get(struct dp *dp, uint32_t from, uint32_t to)
{
	struct dpc_partition c = {.hdr.fn = dpc_partition, .from = from, .to = to, .query = true};

	return cmdq_call(dp, &c.hdr);
}

struct dpc_partition_apply {
	struct dp_cmd hdr;
	const struct dp_path *paths;
	size_t n;
	bool cut;
};

static int dpc_partition_apply(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_partition_apply *c = DPC_OF(hdr, struct dpc_partition_apply);
	const struct dp_path *paths = c->paths;

	for (size_t i = 0; i < c->n; i++)
		if (!dp_port_get(dp, paths[i].from) || !dp_port_get(dp, paths[i].to))
			return -ENOENT;
	for (size_t i = 0; i < c->n; i++)
		partition_set(&dp->part, dp_id_slot(paths[i].from), dp_id_slot(paths[i].to),
			      c->cut);
	return 0;
}

int dp_partition_apply(struct dp *dp, const struct dp_path *paths, size_t n, bool cut)
{
	struct dpc_partition_apply c = {
		.hdr.fn = dpc_partition_apply, .paths = paths, .n = n, .cut = cut};

	return cmdq_call(dp, &c.hdr);
}

struct dpc_partition_dump {
	struct dp_cmd hdr;
	uint32_t bridge; /* or DP_ALL */
	struct dp_path *out; /* at most max */
	size_t max, n;
};

static int dpc_partition_dump(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_partition_dump *c = DPC_OF(hdr, struct dpc_partition_dump);
	struct dp_path *out = c->out;

	c->n = 0;
	for (unsigned int f = 0; f < DP_MAX_PORTS; f++) {
		struct dp_port *pf = &dp->ports[f];

		if (!pf->port || !partition_count_from(&dp->part, f))
			continue;
		if (c->bridge != DP_ALL &&
		    atomic_load(&dp->bridges[pf->bridge].live_id) != c->bridge)
			continue;
		for (unsigned int t = 0; t < DP_MAX_PORTS && c->n < c->max; t++) {
			if (dp->ports[t].port && partition_blocked(&dp->part, f, t))
				out[c->n++] = (struct dp_path){atomic_load(&pf->live_id),
							       atomic_load(&dp->ports[t].live_id)};
		}
	}
	return 0;
}

size_t dp_partition_dump(struct dp *dp, uint32_t bridge, struct dp_path *out, size_t max)
{
	struct dpc_partition_dump c = {
		.hdr.fn = dpc_partition_dump, .bridge = bridge, .out = out, .max = max};

	cmdq_call(dp, &c.hdr);
	return c.n;
}

/* A command about one bridge or port, or DP_ALL: partition/heal_all, counters/reset. */
struct dpc_id {
	struct dp_cmd hdr;
	uint32_t id;
};

static int dpc_partition_heal_all(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_id *c = DPC_OF(hdr, struct dpc_id);
	struct dp_bridge *b;

	if (c->id == DP_ALL) {
		partition_clear(&dp->part);
		return 0;
	}
	b = dp_bridge_get(dp, c->id);
	if (!b)
		return -ENOENT;
	for (unsigned int i = 0; i < b->nports; i++)
		partition_clear_port(&dp->part, b->ports[i]);
	return 0;
}

int dp_partition_heal_all(struct dp *dp, uint32_t bridge)
{
	struct dpc_id c = {.hdr.fn = dpc_partition_heal_all, .id = bridge};

	return cmdq_call(dp, &c.hdr);
}

/* ---- counters and MAC table ---- */

int dp_port_counters(struct dp *dp, uint32_t id, struct dp_counters *out)
{
	struct dp_port *p = dp_port_get(dp, id);

	if (!p)
		return -ENOENT;
	counters_read(&p->ctr, out);
	return dp_port_get(dp, id) ? 0 : -ENOENT; /* removed while reading */
}

static int dpc_counters_reset(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_id *c = DPC_OF(hdr, struct dpc_id);
	struct dp_port *p;

	if (c->id != DP_ALL) {
		p = dp_port_get(dp, c->id);
		if (!p)
			return -ENOENT;
		counters_reset(&p->ctr);
		return 0;
	}
	for (unsigned int i = 0; i < DP_MAX_PORTS; i++)
		if (dp->ports[i].port)
			counters_reset(&dp->ports[i].ctr);
	return 0;
}

int dp_counters_reset(struct dp *dp, uint32_t id)
{
	struct dpc_id c = {.hdr.fn = dpc_counters_reset, .id = id};

	return cmdq_call(dp, &c.hdr);
}

struct dpc_fdb_dump {
	struct dp_cmd hdr;
	uint32_t bridge;
	struct dp_fdb_entry *out; /* at most max */
	size_t max, n;
	struct dp *dp;
};

/* One MAC table entry into the caller's array, its port slot turned into the port's id. */
static bool dp_fdb_dump_one(void *ctx, const struct fdb_info *info)
{
	struct dpc_fdb_dump *c = ctx;
	struct dp_fdb_entry *e = &c->out[c->n++];

	memcpy(e->mac, info->mac, 6);
	e->port = atomic_load(&c->dp->ports[info->port].live_id);
	e->idle_ms = info->idle_ns / 1000000;
	return c->n < c->max;
}

static int dpc_fdb_dump(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_fdb_dump *c = DPC_OF(hdr, struct dpc_fdb_dump);
	struct dp_bridge *b = dp_bridge_get(dp, c->bridge);

	if (!b)
		return -ENOENT;
	c->n = 0;
	c->dp = dp;
	if (c->max)
		fdb_foreach(b->fdb, clock_mono_ns(), dp_fdb_dump_one, c);
	return 0;
}

int dp_fdb_dump(struct dp *dp, uint32_t bridge, struct dp_fdb_entry *out, size_t max, size_t *n)
{
	struct dpc_fdb_dump c = {.hdr.fn = dpc_fdb_dump, .bridge = bridge, .out = out, .max = max};
	int err = cmdq_call(dp, &c.hdr);

	*n = err ? 0 : c.n;
	return err;
}

struct dpc_fdb_flush {
	struct dp_cmd hdr;
	uint32_t bridge;
	uint32_t port; /* or DP_ALL */
};

static int dpc_fdb_flush(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_fdb_flush *c = DPC_OF(hdr, struct dpc_fdb_flush);
	struct dp_bridge *b = dp_bridge_get(dp, c->bridge);

	if (!b)
		return -ENOENT;
	if (c->port == DP_ALL) {
		fdb_flush(b->fdb, -1);
		return 0;
	}
	if (!dp_port_get(dp, c->port))
		return -ENOENT;
	fdb_flush(b->fdb, (int)dp_id_slot(c->port));
	return 0;
}

int dp_fdb_flush(struct dp *dp, uint32_t bridge, uint32_t port)
{
	struct dpc_fdb_flush c = {.hdr.fn = dpc_fdb_flush, .bridge = bridge, .port = port};

	return cmdq_call(dp, &c.hdr);
}

struct dpc_fdb_set_age {
	struct dp_cmd hdr;
	uint32_t bridge;
	uint32_t age_ms;
};

static int dpc_fdb_set_age(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_fdb_set_age *c = DPC_OF(hdr, struct dpc_fdb_set_age);
	struct dp_bridge *b = dp_bridge_get(dp, c->bridge);

	if (!b)
		return -ENOENT;
	fdb_set_age(b->fdb, (uint64_t)c->age_ms * 1000000ull);
	return 0;
}

int dp_fdb_set_age(struct dp *dp, uint32_t bridge, uint32_t age_ms)
{
	struct dpc_fdb_set_age c = {.hdr.fn = dpc_fdb_set_age, .bridge = bridge, .age_ms = age_ms};

	return cmdq_call(dp, &c.hdr);
}

void dp_get_stats(struct dp *dp, struct dp_stats *st)
{
	struct dp_stats_live *l = &dp->stats;

	st->batches = atomic_load_explicit(&l->batches, memory_order_relaxed);
	st->cqes = atomic_load_explicit(&l->cqes, memory_order_relaxed);
	st->reads = atomic_load_explicit(&l->reads, memory_order_relaxed);
	st->writes = atomic_load_explicit(&l->writes, memory_order_relaxed);
	st->read_rearms = atomic_load_explicit(&l->read_rearms, memory_order_relaxed);
	st->no_buffer = atomic_load_explicit(&l->no_buffer, memory_order_relaxed);
	st->commands = atomic_load_explicit(&l->commands, memory_order_relaxed);
	st->floods = atomic_load_explicit(&l->floods, memory_order_relaxed);
	st->gso_frames = atomic_load_explicit(&l->gso_frames, memory_order_relaxed);
	st->ports = atomic_load(&l->ports);
	st->bridges = atomic_load(&l->bridges);
	st->bufs_free = atomic_load(&l->bufs_free);
	st->multishot = atomic_load(&l->multishot);
	st->running = atomic_load(&l->running);
}

/* ---- hooks ---- */

struct dpc_port_set_hook {
	struct dp_cmd hdr;
	uint32_t port;
	dp_hook_fn fn;
	void *ctx;
};

static int dpc_port_set_hook(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_port_set_hook *c = DPC_OF(hdr, struct dpc_port_set_hook);
	struct dp_port *p = dp_port_get(dp, c->port);

	if (!p)
		return -ENOENT;
	p->hook = c->fn;
	p->hook_ctx = c->ctx;
	return 0;
}

int dp_port_set_hook(struct dp *dp, uint32_t port, dp_hook_fn fn, void *ctx)
{
	struct dpc_port_set_hook c = {
		.hdr.fn = dpc_port_set_hook, .port = port, .fn = fn, .ctx = ctx};

	return cmdq_call(dp, &c.hdr);
}

/* watch_fd (fn set) and unwatch_fd. */
struct dpc_watch {
	struct dp_cmd hdr;
	int fd;
	dp_fd_fn fn;
	void *ctx;
};

static int dpc_watch_fd(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_watch *c = DPC_OF(hdr, struct dpc_watch);
	struct dp_watch *free_slot = NULL;

	for (unsigned int i = 0; i < DP_MAX_WATCH; i++) {
		if (dp->watch[i].fd == c->fd)
			return -EEXIST;
		if (dp->watch[i].fd < 0 && !free_slot)
			free_slot = &dp->watch[i];
	}
	if (!free_slot)
		return -ENOSPC;
	free_slot->fd = c->fd;
	free_slot->fn = c->fn;
	free_slot->ctx = c->ctx;
	free_slot->gen++;
	free_slot->armed = false;
	loop_arm_watch(dp, (unsigned int)(free_slot - dp->watch));
	return 0;
}

int dp_watch_fd(struct dp *dp, int fd, dp_fd_fn fn, void *ctx)
{
	struct dpc_watch c = {.hdr.fn = dpc_watch_fd, .fd = fd, .fn = fn, .ctx = ctx};

	if (fd < 0 || !fn)
		return -EINVAL;
	return cmdq_call(dp, &c.hdr);
}

static int dpc_unwatch_fd(struct dp *dp, struct dp_cmd *hdr)
{
	struct dpc_watch *c = DPC_OF(hdr, struct dpc_watch);

	for (unsigned int i = 0; i < DP_MAX_WATCH; i++) {
		struct dp_watch *w = &dp->watch[i];

		if (w->fd != c->fd)
			continue;
		loop_cancel_watch(dp, i);
		w->fd = -1;
		w->fn = NULL;
		w->gen++; /* completions of the old poll are ignored */
		return 0;
	}
	return -ENOENT;
}

int dp_unwatch_fd(struct dp *dp, int fd)
{
	struct dpc_watch c = {.hdr.fn = dpc_unwatch_fd, .fd = fd};

	return cmdq_call(dp, &c.hdr);
}

static int dpc_nop(struct dp *dp, struct dp_cmd *c)
{
	(void)dp;
	(void)c;
	return 0;
}

int dp_sync(struct dp *dp)
{
	struct dp_cmd c = {.fn = dpc_nop};

	return cmdq_call(dp, &c);
}
