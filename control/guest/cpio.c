/* SPDX-License-Identifier: MIT */
/*
 * cpio: the newc writer (see cpio.h). Each call writes one whole entry; the
 * first error sticks and is returned by every later call and by cpio_finish().
 */
#include "cpio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPIO_HDR_LEN 110
#define CPIO_NAME_MAX 4096
#define CPIO_MTIME 0 /* every entry's: reproducible archives */

struct cpio {
	int fd;
	uint32_t ino; /* the last inode number given */
	uint64_t off; /* bytes written, for padding */
	int err; /* the first error */
};

int cpio_open(int fd, struct cpio **out)
{
	struct cpio *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd = fd;
	*out = c;
	return 0;
}

/* Padding that brings n to a multiple of 4. */
static size_t cpio_pad4(uint64_t n)
{
	return (size_t)((4 - (n & 3)) & 3);
}

size_t cpio_header(char *buf, uint32_t ino, uint32_t mode, uint32_t nlink, uint64_t size,
		   uint32_t rmajor, uint32_t rminor, const char *name)
{
	size_t namesize = strlen(name) + 1;
	size_t n;

	n = (size_t)sprintf(buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08zX%08X", ino,
			    mode, 0u, 0u, nlink, (uint32_t)CPIO_MTIME, (uint32_t)size, 0u, 0u,
			    rmajor, rminor, namesize, 0u);
	memcpy(buf + n, name, namesize);
	n += namesize;
	memset(buf + n, 0, cpio_pad4(n));
	return n + cpio_pad4(n);
}

/* Write all of data, counting it. */
static int cpio_write(struct cpio *c, const void *data, size_t len)
{
	const char *p = data;

	while (len && !c->err) {
		ssize_t n = write(c->fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->err = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
		c->off += (uint64_t)n;
	}
	return c->err;
}

/* The header of an entry whose data (size bytes) follows. */
static int cpio_entry(struct cpio *c, const char *name, uint32_t mode, uint64_t size,
		      uint32_t rmajor, uint32_t rminor)
{
	char buf[CPIO_HDR_LEN + CPIO_NAME_MAX + 4];

	if (c->err)
		return c->err;
	if (!*name || strlen(name) >= CPIO_NAME_MAX || size > UINT32_MAX)
		return c->err = -EINVAL;
	return cpio_write(c, buf,
			  cpio_header(buf, ++c->ino, mode, S_ISDIR(mode) ? 2 : 1, size, rmajor,
				      rminor, name));
}

/* The data's padding. */
static int cpio_data_end(struct cpio *c)
{
	static const char zeros[4];

	return cpio_write(c, zeros, cpio_pad4(c->off));
}

int cpio_dir(struct cpio *c, const char *name, mode_t perm)
{
	return cpio_entry(c, name, S_IFDIR | (perm & 07777), 0, 0, 0);
}

/* An entry whose data is in memory. */
static int cpio_bytes(struct cpio *c, const char *name, uint32_t mode, const void *data, size_t len)
{
	if (!cpio_entry(c, name, mode, len, 0, 0))
		cpio_write(c, data, len);
	return cpio_data_end(c);
}

int cpio_file(struct cpio *c, const char *name, mode_t perm, const void *data, size_t len)
{
	return cpio_bytes(c, name, S_IFREG | (perm & 07777), data, len);
}

int cpio_symlink(struct cpio *c, const char *name, const char *target)
{
	return cpio_bytes(c, name, S_IFLNK | 0777, target, strlen(target));
}

int cpio_chardev(struct cpio *c, const char *name, mode_t perm, unsigned int major,
		 unsigned int minor)
{
	return cpio_entry(c, name, S_IFCHR | (perm & 07777), 0, major, minor);
}

int cpio_file_from(struct cpio *c, const char *name, mode_t perm, const char *path)
{
	char chunk[65536];
	struct stat st;
	uint64_t left;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return c->err ? c->err : (c->err = -errno);
	if (fstat(fd, &st) && !c->err)
		c->err = -errno;
	left = (uint64_t)st.st_size;
	if (!cpio_entry(c, name, S_IFREG | (perm & 07777), left, 0, 0)) {
		while (left && !c->err) {
			ssize_t n = read(fd, chunk, left < sizeof(chunk) ? left : sizeof(chunk));

			if (n <= 0) /* the file shrank under us: the header is wrong now */
				c->err = n < 0 ? -errno : -EIO;
			else if (!cpio_write(c, chunk, (size_t)n))
				left -= (uint64_t)n;
		}
	}
	close(fd);
	return cpio_data_end(c);
}

int cpio_finish(struct cpio *c)
{
	static const char zeros[512];
	int err;

	cpio_entry(c, "TRAILER!!!", 0, 0, 0, 0);
	cpio_write(c, zeros, (size_t)((512 - (c->off & 511)) & 511));
	err = c->err;
	free(c);
	return err;
}
