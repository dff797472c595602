/* SPDX-License-Identifier: MIT */
/*
 * cpio: a writer of "newc" cpio archives, the format the Linux kernel unpacks
 * as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst).
 * Entries get inode numbers in order, uid and gid 0 and one fixed mtime, so
 * the same inputs make the same bytes. Archives may be concatenated: the
 * kernel unpacks one after another, later entries replacing earlier ones.
 */
#ifndef TAPYARD_CPIO_H
#define TAPYARD_CPIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cpio;

/* cpio_open() - a writer appending to fd (not closed by the writer). */
int cpio_open(int fd, struct cpio **out);

/* cpio_dir() - a directory entry (perm: 0755...); parents must come first. */
int cpio_dir(struct cpio *c, const char *name, mode_t perm);

/* cpio_file() - a regular file with the given bytes. */
int cpio_file(struct cpio *c, const char *name, mode_t perm, const void *data, size_t len);

/* cpio_file_from() - a regular file with the contents of the host's file path. */
int cpio_file_from(struct cpio *c, const char *name, mode_t perm, const char *path);

/* cpio_symlink() - a symbolic link name -> target. */
int cpio_symlink(struct cpio *c, const char *name, const char *target);

/* cpio_chardev() - a character device node (the kernel creates it: no privilege needed). */
int cpio_chardev(struct cpio *c, const char *name, mode_t perm, unsigned int major,
		 unsigned int minor);

/*
 * cpio_finish() - write the trailer, padded to 512 bytes, and free the writer
 * (also on error). Return: 0 or the first error any call met (-errno).
 */
int cpio_finish(struct cpio *c);

/*
 * cpio_header() - format the 110-byte newc header plus name, NUL and padding
 * into buf (size at least 110 + strlen(name) + 4).
 * Return: the bytes written.
 */
size_t cpio_header(char *buf, uint32_t ino, uint32_t mode, uint32_t nlink, uint64_t size,
		   uint32_t rmajor, uint32_t rminor, const char *name);

#endif
