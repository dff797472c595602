/* SPDX-License-Identifier: MIT */
/*
 * impair: the impairment engine (see impair.h for the order of decisions and
 * the netem semantics each knob follows).
 *
 * Probabilities become 33-bit thresholds (percent / 100 * 2^32) compared
 * with 32-bit draws, so 0% never and 100% always hits. The delay
 * distributions are quantile functions of one (correlated) uniform draw, the
 * analytic form of netem's tables. Correlation keeps the configured rate or
 * distribution exact (see impair.h for how this differs from netem).
 */
#include "impair.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define TWO32 4294967296.0
#define NS_PER_S 1000000000ull
#define PARETO_CAP (32767.0 / 8192.0) /* netem's table stops at SHRT_MAX / NETEM_DIST_SCALE */

/* ---- random numbers ---- */

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t impair_rng_next(struct impair_rng *rng)
{
	uint64_t *s = rng->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t impair_rand32(struct impair_state *st)
{
	return (uint32_t)(impair_rng_next(&st->rng) >> 32);
}

/* percent (0..100) as a threshold for 32-bit draws: 0 .. 2^32. */
static uint64_t impair_thresh(double pct)
{
	if (!(pct > 0))
		return 0;
	if (pct >= 100)
		return 1ull << 32;
	return (uint64_t)(pct / 100.0 * TWO32);
}

/*
 * A correlated event of probability pct: a two-state Markov chain whose
 * long-run rate is pct and whose lag-one correlation is corr, so after a hit
 * the next hits with p + rho (1 - p), after a miss with p (1 - rho). Draws
 * nothing when pct is zero.
 */
static bool impair_event(struct impair_state *st, uint8_t *last, double pct, double corr)
{
	uint64_t thr = impair_thresh(pct);
	double p = pct / 100, rho = corr / 100;

	if (!thr)
		return false;
	if (rho > 0)
		thr = impair_thresh(100 * (*last ? p + rho * (1 - p) : p * (1 - rho)));
	*last = impair_rand32(st) < thr;
	return *last;
}

static bool impair_hit(uint32_t r, double pct)
{
	return r < impair_thresh(pct);
}

static double impair_norm_quantile(double p);

/* ---- state ---- */

void impair_state_reset_models(struct impair_state *st)
{
	st->delay_z = impair_norm_quantile((impair_rand32(st) + 0.5) / TWO32);
	st->loss_last = st->dup_last = st->corrupt_last = st->reorder_last = 0;
	st->loss_state = 0;
	st->reorder_count = 0;
}

void impair_state_init(struct impair_state *st, uint64_t seed)
{
	uint64_t x = seed;

	memset(st, 0, sizeof(*st));
	for (int i = 0; i < 4; i++)
		st->rng.s[i] = splitmix64(&x);
	impair_state_reset_models(st);
}

void impair_state_reseed(struct impair_state *st, uint64_t seed)
{
	struct impair_state old = *st;

	impair_state_init(st, seed);
	st->stats = old.stats;
	st->last_send = old.last_send;
	st->last_depart = old.last_depart;
	st->rate_rem = old.rate_rem;
}

/* ---- configuration ---- */

static bool impair_pct_ok(double v)
{
	return v >= 0 && v <= 100;
}

/* The first percentage knob out of 0..100, or NULL. */
static const char *impair_check_pcts(const struct impair_cfg *c)
{
	const struct {
		const char *name;
		double v;
	} k[] = {
		{"delay_corr", c->delay_corr}, {"loss", c->loss},
		{"loss_corr", c->loss_corr},   {"gemodel.p", c->ge.p},
		{"gemodel.r", c->ge.r},	       {"gemodel.h", c->ge.h},
		{"gemodel.k", c->ge.k},	       {"state4.p13", c->s4.p13},
		{"state4.p31", c->s4.p31},     {"state4.p32", c->s4.p32},
		{"state4.p23", c->s4.p23},     {"state4.p14", c->s4.p14},
		{"duplicate", c->duplicate},   {"duplicate_corr", c->duplicate_corr},
		{"corrupt", c->corrupt},       {"corrupt_corr", c->corrupt_corr},
		{"reorder", c->reorder},       {"reorder_corr", c->reorder_corr},
	};

	for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++)
		if (!impair_pct_ok(k[i].v))
			return k[i].name;
	return NULL;
}

/* The first knob that does not fit with the others, or NULL. */
static const char *impair_check_combos(const struct impair_cfg *c)
{
	if ((unsigned int)c->dist > IMPAIR_DIST_PARETONORMAL)
		return "distribution";
	if ((unsigned int)c->loss_model > IMPAIR_LOSS_4STATE)
		return "loss_model";
	if (c->s4.p13 + c->s4.p14 > 100)
		return "state4.p14";
	if (c->s4.p31 + c->s4.p32 > 100)
		return "state4.p32";
	if (c->reorder > 0 && c->delay_ns == 0)
		return "reorder"; /* as tc: reordering needs a delay to overtake */
	if (c->reorder_gap && !(c->reorder > 0))
		return "reorder_gap";
	if (c->rate_overhead < -65536 || c->rate_overhead > 65536)
		return "rate_overhead";
	return NULL;
}

int impair_cfg_check(const struct impair_cfg *cfg, const char **field)
{
	const char *bad = impair_check_pcts(cfg);

	if (!bad)
		bad = impair_check_combos(cfg);
	if (field)
		*field = bad;
	return bad ? -EINVAL : 0;
}

bool impair_cfg_per_packet(const struct impair_cfg *cfg)
{
	bool loss = cfg->loss_model != IMPAIR_LOSS_RANDOM || cfg->loss > 0;

	return loss || cfg->duplicate > 0 || cfg->corrupt > 0 || cfg->reorder > 0;
}

bool impair_cfg_is_noop(const struct impair_cfg *cfg)
{
	if (impair_cfg_per_packet(cfg) || cfg->keep_order)
		return false;
	return !cfg->delay_ns && !cfg->jitter_ns && !cfg->rate_bps && !cfg->limit_packets &&
	       !cfg->limit_bytes;
}

/* ---- delay ---- */

/* Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9). */
static double impair_norm_quantile(double p)
{
	static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
				   -2.759285104469687e+02, 1.383577518672690e+02,
				   -3.066479806614716e+01, 2.506628277459239e+00};
	static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
				   -1.556989798598866e+02, 6.680131188771972e+01,
				   -1.328068155288572e+01};
	static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
				   -2.400758277161838e+00, -2.549732539343734e+00,
				   4.374664141464968e+00,  2.938163982698783e+00};
	static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
				   2.445134137142996e+00, 3.754408661907416e+00};
	double q, r;

	if (p < 0.02425 || p > 1 - 0.02425) {
		q = sqrt(-2 * log(p < 0.5 ? p : 1 - p));
		r = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
		    ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
		return p < 0.5 ? r : -r;
	}
	q = p - 0.5;
	r = q * q;
	return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
	       (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/* netem's pareto table: shape 3, shifted to mean 0, scaled by 4/3, capped. */
static double impair_pareto_quantile(double p)
{
	double v = (4.0 / 3.0) * (pow(1 - p, -1.0 / 3.0) - 1.5);

	return v > PARETO_CAP ? PARETO_CAP : v;
}

/* The quantile at p of dist, in jitters. */
static double impair_dist_quantile(enum impair_dist dist, double p)
{
	switch (dist) {
	case IMPAIR_DIST_NORMAL:
		return impair_norm_quantile(p);
	case IMPAIR_DIST_PARETO:
		return impair_pareto_quantile(p);
	case IMPAIR_DIST_PARETONORMAL:
		return (impair_norm_quantile(p) + 3 * impair_pareto_quantile(p)) / 4;
	case IMPAIR_DIST_UNIFORM:
		break;
	}
	return 2 * p - 1;
}

/*
 * The uniform draw behind one delay. With correlation, a Gaussian AR(1)
 * process z' = rho z + sqrt(1 - rho^2) e mapped through the normal CDF: still
 * exactly uniform, with successive draws correlated.
 */
static double impair_delay_uniform(const struct impair_cfg *cfg, struct impair_state *st)
{
	double u = (impair_rand32(st) + 0.5) / TWO32, rho = cfg->delay_corr / 100;

	if (!(rho > 0))
		return u;
	st->delay_z = rho * st->delay_z + sqrt(1 - rho * rho) * impair_norm_quantile(u);
	return 0.5 * erfc(-st->delay_z / sqrt(2.0));
}

uint64_t impair_delay_sample(const struct impair_cfg *cfg, struct impair_state *st)
{
	double d;

	if (!cfg->jitter_ns)
		return cfg->delay_ns;
	d = impair_dist_quantile(cfg->dist, impair_delay_uniform(cfg, st));
	d = (double)cfg->delay_ns + (double)cfg->jitter_ns * d;
	return d <= 0 ? 0 : (uint64_t)(d + 0.5);
}

/* ---- loss ---- */

/* Gilbert-Elliott: lose with the current state's probability, then maybe change state. */
static bool impair_loss_ge(const struct impair_ge *ge, struct impair_state *st)
{
	bool bad = st->loss_state == 1;
	uint32_t move = impair_rand32(st), lose = impair_rand32(st);

	if (impair_hit(move, bad ? ge->r : ge->p))
		st->loss_state = !bad;
	return impair_hit(lose, bad ? ge->h : ge->k);
}

/*
 * The 4-state model: a packet is lost when the chain enters state 3 (lost in
 * a burst) or 4 (isolated loss). From 1: p14 to 4, p13 to 3; from 2: p23 to
 * 3; from 3: p32 to 2, p31 to 1, else stay; from 4: back to 1.
 */
static bool impair_loss_4state(const struct impair_4state *m, struct impair_state *st)
{
	uint64_t r = impair_rand32(st);

	switch (st->loss_state) {
	case 2:
		if (r >= impair_thresh(m->p23))
			return false;
		st->loss_state = 3;
		return true;
	case 3:
		if (r < impair_thresh(m->p32))
			st->loss_state = 2;
		else if (r < impair_thresh(m->p32) + impair_thresh(m->p31))
			st->loss_state = 1;
		return st->loss_state == 3;
	case 4:
		st->loss_state = 1;
		return false;
	default:
		st->loss_state = 1;
		if (r < impair_thresh(m->p14))
			st->loss_state = 4;
		else if (r < impair_thresh(m->p14) + impair_thresh(m->p13))
			st->loss_state = 3;
		return st->loss_state != 1;
	}
}

bool impair_loss_event(const struct impair_cfg *cfg, struct impair_state *st)
{
	switch (cfg->loss_model) {
	case IMPAIR_LOSS_GE:
		return impair_loss_ge(&cfg->ge, st);
	case IMPAIR_LOSS_4STATE:
		return impair_loss_4state(&cfg->s4, st);
	case IMPAIR_LOSS_RANDOM:
		break;
	}
	return impair_event(st, &st->loss_last, cfg->loss, cfg->loss_corr);
}

/* ---- rate and queue ---- */

uint64_t impair_wire_len(const struct impair_cfg *cfg, uint64_t len)
{
	int64_t l = (int64_t)len + cfg->rate_overhead;
	uint64_t w = l < 1 ? 1 : (uint64_t)l;

	if (cfg->rate_cell)
		w = (w + cfg->rate_cell - 1) / cfg->rate_cell * cfg->rate_cell;
	return w;
}

/* Wire bytes of npkts packets, len bytes in all, taken as equal in size. */
static uint64_t impair_wire_len_n(const struct impair_cfg *cfg, uint64_t len, unsigned int npkts)
{
	uint64_t each, big;

	if (npkts <= 1)
		return impair_wire_len(cfg, len);
	each = len / npkts;
	big = len % npkts; /* packets one byte longer */
	return big * impair_wire_len(cfg, each + 1) + (npkts - big) * impair_wire_len(cfg, each);
}

/* Serialisation time of wire bytes at the configured rate, carrying the remainder. */
static uint64_t impair_tx_ns(const struct impair_cfg *cfg, struct impair_state *st, uint64_t wire)
{
	uint64_t num = wire * 8 * NS_PER_S + st->rate_rem;

	st->rate_rem = num % cfg->rate_bps;
	return num / cfg->rate_bps;
}

/* Would npkts more packets of len bytes overflow the queue limit? */
static bool impair_queue_full(const struct impair_cfg *cfg, const struct impair_state *st,
			      uint64_t len, unsigned int npkts)
{
	if (cfg->limit_packets && st->stats.queue_packets + npkts > cfg->limit_packets)
		return true;
	return cfg->limit_bytes && st->stats.queue_bytes + len > cfg->limit_bytes;
}

void impair_release(struct impair_state *st, size_t len, unsigned int npkts)
{
	st->stats.queue_packets -=
		npkts <= st->stats.queue_packets ? npkts : st->stats.queue_packets;
	st->stats.queue_bytes -= len <= st->stats.queue_bytes ? len : st->stats.queue_bytes;
}

/* ---- verdicts ---- */

/* Is this packet the one reordering sends ahead? Counts the delayed ones. */
static bool impair_reorder(const struct impair_cfg *cfg, struct impair_state *st)
{
	uint32_t gap = cfg->reorder_gap ? cfg->reorder_gap : 1;

	if (!(cfg->reorder > 0))
		return false;
	if (st->reorder_count + 1 >= gap &&
	    impair_event(st, &st->reorder_last, cfg->reorder, cfg->reorder_corr)) {
		st->reorder_count = 0;
		return true;
	}
	st->reorder_count++;
	return false;
}

/* Send times of the verdict's copies (wire bytes each) after delay, order and rate. */
static void impair_send_times(const struct impair_cfg *cfg, struct impair_state *st, uint64_t now,
			      uint64_t wire, struct impair_verdict *v)
{
	uint64_t send = now + impair_delay_sample(cfg, st);

	if (cfg->keep_order && send < st->last_send)
		send = st->last_send;
	v->send_ns = v->dup_send_ns = send;
	if (cfg->rate_bps) {
		if (send < st->last_depart)
			send = st->last_depart;
		v->send_ns = send + impair_tx_ns(cfg, st, wire);
		v->dup_send_ns = v->send_ns;
		if (v->copies > 1)
			v->dup_send_ns += impair_tx_ns(cfg, st, wire);
		st->last_depart = v->dup_send_ns;
	}
	if (v->dup_send_ns > st->last_send)
		st->last_send = v->dup_send_ns;
	if (v->send_ns > now)
		st->stats.delayed += v->copies;
}

/* Count a passing verdict of npkts packets, bytes in all per copy, in st. */
static void impair_account(struct impair_state *st, const struct impair_verdict *v, uint64_t bytes,
			   unsigned int npkts)
{
	st->stats.queue_packets += (uint64_t)npkts * v->copies;
	st->stats.queue_bytes += bytes * v->copies;
	st->stats.duplicated += v->copies - 1;
	st->stats.corrupted += v->corrupt;
}

/* Drop the packet for reason why. */
static void impair_drop(struct impair_state *st, enum impair_drop why, unsigned int npkts,
			struct impair_verdict *v)
{
	v->drop = why;
	v->copies = 0;
	v->corrupt = false;
	if (why == IMPAIR_DROP_LOSS)
		st->stats.dropped_loss += npkts;
	else
		st->stats.dropped_queue += npkts;
}

void impair_decide(const struct impair_cfg *cfg, struct impair_state *st, uint64_t now_ns,
		   size_t len, struct impair_verdict *v)
{
	*v = (struct impair_verdict){.copies = 1, .send_ns = now_ns, .dup_send_ns = now_ns};
	if (impair_event(st, &st->dup_last, cfg->duplicate, cfg->duplicate_corr))
		v->copies = 2;
	if (impair_loss_event(cfg, st) && --v->copies == 0) {
		impair_drop(st, IMPAIR_DROP_LOSS, 1, v);
		return;
	}
	if (impair_event(st, &st->corrupt_last, cfg->corrupt, cfg->corrupt_corr) && len) {
		v->corrupt = true;
		v->corrupt_bit = (uint32_t)(((uint64_t)impair_rand32(st) * (len * 8)) >> 32);
	}
	if (impair_queue_full(cfg, st, (uint64_t)len * v->copies, v->copies)) {
		impair_drop(st, IMPAIR_DROP_QUEUE, 1, v);
		return;
	}
	if (impair_reorder(cfg, st)) {
		v->reordered = true;
		st->stats.reordered++;
	} else {
		impair_send_times(cfg, st, now_ns, impair_wire_len(cfg, len), v);
	}
	impair_account(st, v, len, 1);
}

void impair_decide_burst(const struct impair_cfg *cfg, struct impair_state *st, uint64_t now_ns,
			 size_t len, unsigned int npkts, struct impair_verdict *v)
{
	*v = (struct impair_verdict){.copies = 1, .send_ns = now_ns, .dup_send_ns = now_ns};
	if (npkts == 0)
		npkts = 1;
	if (impair_queue_full(cfg, st, len, npkts)) {
		impair_drop(st, IMPAIR_DROP_QUEUE, npkts, v);
		return;
	}
	impair_send_times(cfg, st, now_ns, impair_wire_len_n(cfg, len, npkts), v);
	if (v->send_ns > now_ns)
		st->stats.delayed += npkts - 1;
	impair_account(st, v, len, npkts);
}

/* ---- schedules ---- */

int impair_schedule_check(const struct impair_schedule *s)
{
	if (!s->n || !s->steps)
		return -EINVAL;
	for (size_t i = 1; i < s->n; i++)
		if (s->steps[i].at_ns <= s->steps[i - 1].at_ns)
			return -EINVAL;
	if (s->period_ns && s->steps[s->n - 1].at_ns >= s->period_ns)
		return -EINVAL;
	return 0;
}

/* The last step at or before t within one cycle, or -1. */
static long impair_schedule_find(const struct impair_schedule *s, uint64_t t)
{
	long i = -1;

	while ((size_t)(i + 1) < s->n && s->steps[i + 1].at_ns <= t)
		i++;
	return i;
}

long impair_schedule_at(const struct impair_schedule *s, uint64_t elapsed)
{
	long i;

	if (!s->period_ns)
		return impair_schedule_find(s, elapsed);
	i = impair_schedule_find(s, elapsed % s->period_ns);
	if (i < 0 && elapsed >= s->period_ns)
		i = (long)s->n - 1; /* still the last step of the previous cycle */
	return i;
}

uint64_t impair_schedule_next(const struct impair_schedule *s, uint64_t elapsed)
{
	uint64_t base = 0, t = elapsed;
	long i;

	if (s->period_ns) {
		base = elapsed - elapsed % s->period_ns;
		t = elapsed % s->period_ns;
	}
	i = impair_schedule_find(s, t);
	if ((size_t)(i + 1) < s->n)
		return base + s->steps[i + 1].at_ns;
	return s->period_ns ? base + s->period_ns + s->steps[0].at_ns : UINT64_MAX;
}
