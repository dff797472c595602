/* SPDX-License-Identifier: MIT */
/*
 * pcapng: a minimal pcapng writer (draft-ietf-opsawg-pcapng): one Section
 * Header Block, one Interface Description Block per NIC (Ethernet, nanosecond
 * timestamps) and one Enhanced Packet Block per frame, with the direction in
 * epb_flags and an optional comment (how tapyard marks frames its switch
 * dropped). Written in host byte order, as the format allows; readers
 * (libpcap, tcpdump, Wireshark, tshark) detect it from the byte-order magic.
 */
#ifndef TAPYARD_PCAPNG_H
#define TAPYARD_PCAPNG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Block types and option codes used here. */
#define PCAPNG_SHB 0x0A0D0D0Au
#define PCAPNG_IDB 0x00000001u
#define PCAPNG_EPB 0x00000006u
#define PCAPNG_BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define PCAPNG_LINKTYPE_ETHERNET 1

/* epb_flags direction bits. */
enum pcapng_dir {
	PCAPNG_DIR_UNKNOWN = 0,
	PCAPNG_DIR_INBOUND = 1,
	PCAPNG_DIR_OUTBOUND = 2,
};

struct pcapng;

/*
 * pcapng_open() - create (truncate) path, never through a symbolic link, and
 * write the section header.
 * @app: the shb_userappl option (e.g. "tapyard 0.1.0"), or NULL
 * Return: 0 with *out set, or a negative errno.
 */
int pcapng_open(const char *path, const char *app, struct pcapng **out);

/*
 * pcapng_open_fd() - pcapng_open() on a file opened already (by whoever may
 * write it). @fd: owned from the call on, closed on failure too.
 */
int pcapng_open_fd(int fd, const char *app, struct pcapng **out);

/*
 * pcapng_add_if() - describe the next interface; the first gets id 0.
 * @name: if_name (e.g. "vm1/br0" or a port name)
 * @desc: if_description, or NULL
 * @snaplen: the interface's snapshot length; libpcap (tcpdump) refuses a
 *	file whose interfaces differ in it, so give them all the same
 * Return: 0 or a negative errno (the write failed).
 */
int pcapng_add_if(struct pcapng *p, const char *name, const char *desc, uint32_t snaplen);

/* One frame for pcapng_write(). */
struct pcapng_pkt {
	uint32_t if_id;
	uint64_t ts_ns; /* nanoseconds since the epoch */
	const uint8_t *data; /* caplen bytes */
	uint32_t caplen;
	uint32_t len; /* the frame's original length */
	enum pcapng_dir dir;
	const char *comment; /* opt_comment, or NULL */
};

/* Write one Enhanced Packet Block. Returns 0, -EINVAL (unknown interface) or -errno. */
int pcapng_write(struct pcapng *p, const struct pcapng_pkt *pkt);

/* Push buffered blocks to the file (whole blocks only). Returns 0 or -errno. */
int pcapng_flush(struct pcapng *p);

/* Flush and close. Returns 0 or the first error any write met. NULL is a no-op. */
int pcapng_close(struct pcapng *p);

#endif
