/* SPDX-License-Identifier: MIT */
/*
 * capfilter: a capture's filter (see capfilter.h). Matching runs on the
 * loop thread for every frame a filtered capture sees: it decodes only when
 * a decoded key is set, and allocates nothing.
 */
#include "capfilter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void capfilter_init(struct capfilter *f)
{
	memset(f, 0, sizeof(*f));
	f->ethertype = -1;
	f->dir = -1;
}

/* A text key: where it goes. NULL when key is not one. */
static char *capfilter_text(struct capfilter *f, const char *key, size_t *size)
{
	struct {
		const char *key;
		char *field;
		size_t size;
	} keys[] = {
		{"proto", f->proto, sizeof(f->proto)},
		{"src", f->src, sizeof(f->src)},
		{"dst", f->dst, sizeof(f->dst)},
		{"host", f->host, sizeof(f->host)},
		{"src_mac", f->src_mac, sizeof(f->src_mac)},
		{"dst_mac", f->dst_mac, sizeof(f->dst_mac)},
		{"port", f->port, sizeof(f->port)},
		{"drop_reason", f->drop_reason, sizeof(f->drop_reason)},
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(key, keys[i].key) == 0) {
			*size = keys[i].size;
			return keys[i].field;
		}
	}
	return NULL;
}

/* A number of at most max from value. */
static int capfilter_num(const char *value, long max, long *out)
{
	char *end;

	*out = strtol(value, &end, 0);
	return end == value || *end || *out < 0 || *out > max ? -EINVAL : 0;
}

int capfilter_set(struct capfilter *f, const char *key, const char *value, size_t len)
{
	static const char *const dirs[] = {
		[DP_HOOK_GUEST_TX] = "tx", [DP_HOOK_GUEST_RX] = "rx", [DP_HOOK_DROP] = "drop"};
	size_t size;
	char *text = capfilter_text(f, key, &size);
	long n;

	f->on = true;
	if (text) {
		if (len >= size || memchr(value, '\0', len))
			return len >= size ? -E2BIG : -EINVAL;
		memcpy(text, value, len);
		text[len] = '\0';
		return 0;
	}
	if (strcmp(key, "contains") == 0) {
		if (len > sizeof(f->contains))
			return -E2BIG;
		memcpy(f->contains, value, len);
		f->contains_len = len;
		return 0;
	}
	if (strcmp(key, "dir") == 0) {
		for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
			if (dirs[i] && strcmp(value, dirs[i]) == 0)
				f->dir = (int)i;
		}
		return f->dir < 0 ? -EINVAL : 0;
	}
	if (strcmp(key, "ethertype") != 0 && strcmp(key, "min_len") != 0)
		return -ENOENT;
	if (capfilter_num(value, key[0] == 'e' ? 0xffff : (long)UINT32_MAX, &n))
		return -EINVAL;
	if (key[0] == 'e')
		f->ethertype = (int)n;
	else
		f->min_len = (uint32_t)n;
	return 0;
}

/* Do the decoded keys of f match d? */
static bool capfilter_decoded(const struct capfilter *f, const struct capdecode *d)
{
	return (!f->proto[0] || strcmp(f->proto, d->proto) == 0) &&
	       (!f->src[0] || strcmp(f->src, d->src_ip) == 0) &&
	       (!f->dst[0] || strcmp(f->dst, d->dst_ip) == 0) &&
	       (!f->host[0] || strcmp(f->host, d->src_ip) == 0 ||
		strcmp(f->host, d->dst_ip) == 0) &&
	       (!f->src_mac[0] || strcasecmp(f->src_mac, d->src_mac) == 0) &&
	       (!f->dst_mac[0] || strcasecmp(f->dst_mac, d->dst_mac) == 0) &&
	       (f->ethertype < 0 || (d->eth && f->ethertype == d->ethertype));
}

bool capfilter_match(const struct capfilter *f, const uint8_t *data, size_t caplen, size_t len,
		     enum dp_hook_dir dir, const char *port, const char *drop_reason)
{
	struct capdecode d;

	if (!f->on)
		return true;
	if ((f->dir >= 0 && (int)dir != f->dir) || len < f->min_len ||
	    (f->port[0] && (!port || strcmp(f->port, port) != 0)) ||
	    (f->drop_reason[0] && (!drop_reason || strcmp(f->drop_reason, drop_reason) != 0)) ||
	    (f->contains_len && !memmem(data, caplen, f->contains, f->contains_len)))
		return false;
	if (!f->proto[0] && !f->src[0] && !f->dst[0] && !f->host[0] && !f->src_mac[0] &&
	    !f->dst_mac[0] && f->ethertype < 0)
		return true;
	capdecode(data, caplen, &d);
	return capfilter_decoded(f, &d);
}
