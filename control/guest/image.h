/* SPDX-License-Identifier: MIT */
/*
 * image: the guest image of tapyard's QEMU guests, built from Debian
 * packages: a kernel (linux-image-amd64's vmlinuz, decompressed to an ELF
 * vmlinux, which QEMU boots directly and twice as fast under TCG) and an
 * uncompressed newc initramfs with busybox, the virtio modules (with what
 * they depend on), a small init and tapyard's guest agent.
 *
 * A directory holds one image: vmlinux, initrd.cpio and manifest.json, which
 * records the inputs (package versions and hashes, the agent's hash, the
 * layout's format) and what came out. A build whose inputs match the manifest
 * does nothing; one build at a time per directory (a lock file).
 */
#ifndef TAPYARD_IMAGE_H
#define TAPYARD_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define IMAGE_KERNEL "vmlinux"
#define IMAGE_INITRD "initrd.cpio"
#define IMAGE_MANIFEST "manifest.json"

/* What image_build() builds and where. */
struct image_opts {
	const char *dir; /* NULL: image_default_dir() */
	const char *agent; /* the agent program; NULL: image_agent_path() */
	bool force; /* rebuild even when up to date */
	FILE *progress; /* progress lines go here; NULL: nowhere */
};

/* A message naming what failed, for the caller to print. */
struct image_err {
	char msg[768];
};

/*
 * image_build() - build the image into its directory, or see that it is up
 * to date. Fetches linux-image-amd64 and busybox-static with `apt-get
 * download` (after `apt-get update` once when apt knows neither, as root).
 * Return: 0, or a negative errno with e filled.
 */
int image_build(const struct image_opts *o, struct image_err *e);

/*
 * image_agent_stale() - does the image in dir (NULL: the default) hold
 * another agent than the one this tapyard finds (image_agent_path())? An
 * image built by an older tapyard would lack what the host asks of its agent.
 * False when there is no agent to compare with.
 */
bool image_agent_stale(const char *dir);

/*
 * image_rm_rf() - rm -rf path (it may be absent), never following a link nor
 * leaving path's file system: the image's work directories, and what a Lua
 * runner's watchdog removes of its guest directories.
 */
void image_rm_rf(const char *path);

/*
 * image_info() - print what the image in dir (NULL: the default) holds:
 * kernel and busybox versions, the agent's hash, sizes, the build's date.
 */
int image_info(const char *dir, FILE *out, struct image_err *e);

/*
 * image_files() - the kernel and initrd paths of the image in dir (NULL: the
 * default), after checking that its manifest and both files are there.
 * Return: 0, or -ENOENT with e saying to run `tapyard image build`.
 */
int image_files(const char *dir, char *kernel, char *initrd, size_t size, struct image_err *e);

/*
 * image_agent_initrd() - write to path a newc archive with the agent, busybox
 * and tapyard's init, to be appended to a kernel's own initramfs
 * (`cat theirs.img agent.cpio > both.img`): its /init replaces theirs and
 * loads the virtio modules with modprobe. busybox is the image's (dir; NULL:
 * the default), which must have been built.
 */
int image_agent_initrd(const char *dir, const char *agent, const char *path, struct image_err *e);

/*
 * image_default_dir() - $TAPYARD_IMAGE_DIR, else /var/cache/tapyard/image for
 * root, else $XDG_CACHE_HOME/tapyard/image (~/.cache/tapyard/image).
 */
int image_default_dir(char *buf, size_t size);

/*
 * image_agent_path() - the agent program: $TAPYARD_AGENT, else the one in
 * the build tree this tapyard was built in, else the installed one.
 * Return: 0, or -ENOENT when none exists.
 */
int image_agent_path(char *buf, size_t size);

/*
 * image_payload() - find the compressed kernel inside a bzImage (its setup
 * header's payload_offset and payload_length).
 * Return: 0 with *off and *len set, or -EINVAL when data is no bzImage.
 */
int image_payload(const unsigned char *data, size_t size, size_t *off, size_t *len);

/*
 * image_mod_depends() - the "depends=" list of a kernel module's modinfo
 * (a comma-separated list, possibly empty) into buf.
 * Return: 0, or -ENOENT when the module has no depends entry.
 */
int image_mod_depends(const char *data, size_t size, char *buf, size_t bufsize);

#endif
