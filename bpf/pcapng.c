/* SPDX-License-Identifier: MIT */
/*
 * pcapng: the writer. Every block is built as header, body and options, each
 * padded to 32 bits, and closed with its total length repeated; a block is
 * handed to stdio whole, so a flush never leaves half a block in the file.
 */
#include "pcapng.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCAPNG_OPT_END 0
#define PCAPNG_OPT_COMMENT 1
#define PCAPNG_SHB_USERAPPL 4
#define PCAPNG_IF_NAME 2
#define PCAPNG_IF_DESCRIPTION 3
#define PCAPNG_IF_TSRESOL 9
#define PCAPNG_EPB_FLAGS 2

#define PCAPNG_OPT_MAX 256 /* longest string option we write */

struct pcapng {
	FILE *f;
	uint32_t nifs;
	int err; /* first write error */
};

static uint32_t pcapng_pad4(size_t n)
{
	return (uint32_t)((n + 3) & ~(size_t)3);
}

/* Write n bytes, then zeros up to a multiple of four. */
static void pcapng_put(struct pcapng *p, const void *data, size_t n)
{
	static const uint8_t zero[4];

	if (p->err)
		return;
	/* One thread writes a file: no need for stdio's lock on every call. */
	if ((n && fwrite_unlocked(data, 1, n, p->f) != n) ||
	    fwrite_unlocked(zero, 1, pcapng_pad4(n) - n, p->f) != pcapng_pad4(n) - n)
		p->err = errno ? -errno : -EIO;
}

static void pcapng_u32(struct pcapng *p, uint32_t v)
{
	pcapng_put(p, &v, sizeof(v));
}

/* The bytes an option takes: code, length, value padded. */
static uint32_t pcapng_opt_size(size_t len)
{
	return 4 + pcapng_pad4(len);
}

static void pcapng_opt(struct pcapng *p, uint16_t code, const void *val, size_t len)
{
	uint16_t hdr[2] = {code, (uint16_t)len};

	pcapng_put(p, hdr, sizeof(hdr));
	pcapng_put(p, val, len);
}

/* Length of a string option's value (capped), 0 when absent. */
static size_t pcapng_strlen(const char *s)
{
	return s ? strnlen(s, PCAPNG_OPT_MAX) : 0;
}

/* A string option, if s is non-empty. */
static void pcapng_opt_str(struct pcapng *p, uint16_t code, const char *s)
{
	size_t len = pcapng_strlen(s);

	if (len)
		pcapng_opt(p, code, s, len);
}

/* The size of a string option, 0 when it is absent. */
static uint32_t pcapng_str_size(const char *s)
{
	size_t len = pcapng_strlen(s);

	return len ? pcapng_opt_size(len) : 0;
}

int pcapng_open(const char *path, const char *app, struct pcapng **out)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);

	if (fd < 0)
		return -errno;
	return pcapng_open_fd(fd, app, out);
}

int pcapng_open_fd(int fd, const char *app, struct pcapng **out)
{
	const uint16_t version[2] = {1, 0};
	const uint64_t section_len = UINT64_MAX; /* not given */
	struct pcapng *p;
	uint32_t total;
	int err;

	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	p->f = fdopen(fd, "w");
	if (!p->f) {
		err = -errno;
		close(fd);
		free(p);
		return err;
	}
	total = 12 + 16 + pcapng_str_size(app) + 4; /* type, lengths, body, options, end */
	pcapng_u32(p, PCAPNG_SHB);
	pcapng_u32(p, total);
	pcapng_u32(p, PCAPNG_BYTE_ORDER_MAGIC);
	pcapng_put(p, version, sizeof(version));
	pcapng_put(p, &section_len, sizeof(section_len));
	pcapng_opt_str(p, PCAPNG_SHB_USERAPPL, app);
	pcapng_opt(p, PCAPNG_OPT_END, NULL, 0);
	pcapng_u32(p, total);
	if (p->err) {
		err = p->err;
		pcapng_close(p);
		return err;
	}
	*out = p;
	return 0;
}

int pcapng_add_if(struct pcapng *p, const char *name, const char *desc, uint32_t snaplen)
{
	const uint16_t link[2] = {PCAPNG_LINKTYPE_ETHERNET, 0};
	const uint8_t tsresol = 9; /* nanoseconds */
	uint32_t total;

	total = 12 + 8 + pcapng_str_size(name) + pcapng_str_size(desc) + pcapng_opt_size(1) + 4;
	pcapng_u32(p, PCAPNG_IDB);
	pcapng_u32(p, total);
	pcapng_put(p, link, sizeof(link));
	pcapng_u32(p, snaplen);
	pcapng_opt_str(p, PCAPNG_IF_NAME, name);
	pcapng_opt_str(p, PCAPNG_IF_DESCRIPTION, desc);
	pcapng_opt(p, PCAPNG_IF_TSRESOL, &tsresol, 1);
	pcapng_opt(p, PCAPNG_OPT_END, NULL, 0);
	pcapng_u32(p, total);
	if (!p->err)
		p->nifs++;
	return p->err;
}

int pcapng_write(struct pcapng *p, const struct pcapng_pkt *pkt)
{
	uint32_t flags = (uint32_t)pkt->dir & 3, total;
	uint32_t ts[2] = {(uint32_t)(pkt->ts_ns >> 32), (uint32_t)pkt->ts_ns};
	bool opts = pkt->dir != PCAPNG_DIR_UNKNOWN || pcapng_strlen(pkt->comment);

	if (pkt->if_id >= p->nifs)
		return -EINVAL;
	total = 12 + 20 + pcapng_pad4(pkt->caplen);
	if (opts)
		total += (flags ? pcapng_opt_size(4) : 0) + pcapng_str_size(pkt->comment) + 4;
	pcapng_u32(p, PCAPNG_EPB);
	pcapng_u32(p, total);
	pcapng_u32(p, pkt->if_id);
	pcapng_put(p, ts, sizeof(ts));
	pcapng_u32(p, pkt->caplen);
	pcapng_u32(p, pkt->len);
	pcapng_put(p, pkt->data, pkt->caplen);
	if (opts) {
		if (flags)
			pcapng_opt(p, PCAPNG_EPB_FLAGS, &flags, sizeof(flags));
		pcapng_opt_str(p, PCAPNG_OPT_COMMENT, pkt->comment);
		pcapng_opt(p, PCAPNG_OPT_END, NULL, 0);
	}
	pcapng_u32(p, total);
	return p->err;
}

int pcapng_flush(struct pcapng *p)
{
	if (!p->err && fflush(p->f) != 0)
		p->err = -errno;
	return p->err;
}

int pcapng_close(struct pcapng *p)
{
	int err;

	if (!p)
		return 0;
	err = p->err;
	if (fclose(p->f) != 0 && !err)
		err = -errno;
	free(p);
	return err;
}
