/* SPDX-License-Identifier: MIT */
/*
 * capfilter: which frames a capture keeps. A filter is a set of keys, all of
 * which must match: the decoded fields (capdecode.h) compared as text, the
 * direction, the NIC (port name), the drop reason, a minimum length and a
 * byte string the captured bytes contain. The capture set applies it before
 * a frame is stored, so what a filter leaves out costs no memory and no read.
 */
#ifndef TAPYARD_CAPFILTER_H
#define TAPYARD_CAPFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capdecode.h"
#include "dp.h"

#define CAPFILTER_CONTAINS_MAX 256

struct capfilter {
	bool on; /* some key is set; an all-off filter keeps everything */
	char proto[8]; /* "" for any, as the other strings */
	char src[CAPDECODE_ADDR_MAX], dst[CAPDECODE_ADDR_MAX], host[CAPDECODE_ADDR_MAX];
	char src_mac[18], dst_mac[18];
	char port[PORT_NAME_MAX];
	char drop_reason[32];
	int ethertype; /* -1: any */
	int dir; /* -1: any, else an enum dp_hook_dir */
	uint32_t min_len;
	uint8_t contains[CAPFILTER_CONTAINS_MAX];
	size_t contains_len; /* 0: any */
};

/* An empty filter (keeps everything) into f. */
void capfilter_init(struct capfilter *f);

/*
 * capfilter_set() - set key to value (text; "tx"/"rx"/"drop" for dir, a
 * number for ethertype and min_len, bytes for contains).
 * Return: 0, -ENOENT (no such key), -EINVAL (a bad value), -E2BIG (too long).
 */
int capfilter_set(struct capfilter *f, const char *key, const char *value, size_t len);

/* Does a frame match? @port: the NIC's port name; @drop_reason: NULL unless dropped. */
bool capfilter_match(const struct capfilter *f, const uint8_t *data, size_t caplen, size_t len,
		     enum dp_hook_dir dir, const char *port, const char *drop_reason);

#endif
