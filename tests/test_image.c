/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the guest image's pure parts: the newc cpio writer (headers,
 * padding, entry kinds, the trailer), finding the payload of a bzImage, and
 * reading a module's depends= from its modinfo.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cpio.h"
#include "image.h"

/* Read back everything written to fd. */
static size_t slurp(int fd, char *buf, size_t size)
{
	ssize_t n = pread(fd, buf, size, 0);

	assert_true(n >= 0);
	return (size_t)n;
}

/* One hex field (8 digits) of a newc header at index i (0: ino ... 12: check). */
static unsigned long field(const char *hdr, int i)
{
	char hex[9];

	memcpy(hex, hdr + 6 + 8 * i, 8);
	hex[8] = '\0';
	return strtoul(hex, NULL, 16);
}

static void test_header(void **state)
{
	char buf[256];
	size_t n;

	(void)state;
	n = cpio_header(buf, 7, 0100644, 1, 5, 0, 0, "init");
	assert_memory_equal(buf, "070701", 6);
	assert_int_equal(field(buf, 0), 7);
	assert_int_equal(field(buf, 1), 0100644);
	assert_int_equal(field(buf, 6), 5); /* filesize */
	assert_int_equal(field(buf, 11), 5); /* namesize with its NUL */
	assert_string_equal(buf + 110, "init");
	/* 110 + 5 = 115, padded to 116 */
	assert_int_equal(n, 116);
	assert_int_equal(buf[115], 0);
	n = cpio_header(buf, 1, 020600, 1, 0, 5, 1, "dev/console");
	assert_int_equal(field(buf, 9), 5);
	assert_int_equal(field(buf, 10), 1);
	assert_int_equal(n % 4, 0);
}

static void test_archive(void **state)
{
	static char out[8192];
	int fd = memfd_create("cpio", 0);
	struct cpio *c;
	size_t n, off;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(cpio_open(fd, &c), 0);
	assert_int_equal(cpio_dir(c, "bin", 0755), 0);
	assert_int_equal(cpio_file(c, "bin/x", 0755, "abc", 3), 0);
	assert_int_equal(cpio_symlink(c, "bin/sh", "/bin/busybox"), 0);
	assert_int_equal(cpio_chardev(c, "dev/null", 0666, 1, 3), 0);
	assert_int_equal(cpio_finish(c), 0);
	n = slurp(fd, out, sizeof(out));
	assert_int_equal(n % 512, 0);
	/* entry 1: the directory, 2 links, inode 1 */
	assert_int_equal(field(out, 1), 040755);
	assert_int_equal(field(out, 4), 2);
	off = 116; /* 110 + "bin\0" = 114, padded to 116 */
	assert_int_equal(field(out + off, 0), 2);
	assert_int_equal(field(out + off, 1), 0100755);
	assert_string_equal(out + off + 110, "bin/x");
	off += 116 + 4; /* header 110 + "bin/x\0" 6 = 116; data 3 padded to 4 */
	assert_memory_equal(out + off - 4, "abc\0", 4);
	assert_int_equal(field(out + off, 1), 0120777);
	assert_int_equal(field(out + off, 6), strlen("/bin/busybox"));
	assert_non_null(memmem(out, n, "TRAILER!!!", 10));
	close(fd);
}

static void test_archive_errors(void **state)
{
	int fd = memfd_create("cpio", 0);
	struct cpio *c;

	(void)state;
	assert_int_equal(cpio_open(fd, &c), 0);
	assert_int_equal(cpio_file_from(c, "x", 0644, "/nonexistent/file"), -ENOENT);
	/* the first error sticks */
	assert_int_equal(cpio_dir(c, "y", 0755), -ENOENT);
	assert_int_equal(cpio_finish(c), -ENOENT);
	close(fd);
	assert_int_equal(cpio_open(-1, &c), 0);
	assert_int_equal(cpio_dir(c, "z", 0755), -EBADF);
	assert_int_equal(cpio_finish(c), -EBADF);
}

static void test_payload(void **state)
{
	static unsigned char img[8192];
	uint32_t off = 100, len = 600;
	size_t o, l;

	(void)state;
	assert_int_equal(image_payload(img, sizeof(img), &o, &l), -EINVAL);
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f; /* protocol 2.15 */
	img[0x207] = 0x02;
	img[0x1f1] = 3; /* setup sectors: the kernel starts at (3 + 1) * 512 */
	memcpy(img + 0x248, &off, 4);
	memcpy(img + 0x24c, &len, 4);
	assert_int_equal(image_payload(img, sizeof(img), &o, &l), 0);
	assert_int_equal(o, 4 * 512 + 100);
	assert_int_equal(l, 600);
	assert_int_equal(image_payload(img, 2048 + 100 + 599, &o, &l), -EINVAL); /* cut short */
	img[0x207] = 0x01; /* 2.0x: no payload fields */
	assert_int_equal(image_payload(img, sizeof(img), &o, &l), -EINVAL);
}

static void test_depends(void **state)
{
	static const char modinfo[] = "\0license=GPL\0depends=virtio_ring,virtio\0retpoline=Y\0";
	static const char none[] = "\0license=GPL\0depends=\0name=failover\0";
	static const char fake[] = "\0xdepends=a\0license=GPL\0";
	char buf[64];

	(void)state;
	assert_int_equal(image_mod_depends(modinfo, sizeof(modinfo), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virtio_ring,virtio");
	assert_int_equal(image_mod_depends(none, sizeof(none), buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_int_equal(image_mod_depends(fake, sizeof(fake), buf, sizeof(buf)), -ENOENT);
	/* a depends= cut by the end of the data stops there */
	assert_int_equal(image_mod_depends(modinfo, 25, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "virt");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),	       cmocka_unit_test(test_archive),
		cmocka_unit_test(test_archive_errors), cmocka_unit_test(test_payload),
		cmocka_unit_test(test_depends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
