/* SPDX-License-Identifier: MIT */
/*
 * image: building, checking and describing the guest image (see image.h).
 * The build runs Debian's own tools (apt-get, apt-cache, dpkg-deb, xz,
 * sha256sum) through guest_run, and writes the initramfs itself (cpio.c).
 *
 * Steps: resolve the packages' versions (the cache key, with the agent's
 * hash and IMAGE_FORMAT), download and unpack them in DIR/.build, decompress
 * the kernel, order the modules by their depends=, write the archive, move
 * the results into DIR and write the manifest last.
 */
#include "image.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "cpio.h"
#include "guest_run.h"

/* Bump when the init, the archive's layout or the module list changes: it rebuilds. */
#define IMAGE_FORMAT 2
#define IMAGE_KERNEL_META "linux-image-amd64"
#define IMAGE_BUSYBOX "busybox-static"
#define IMAGE_KERNEL_KEY "meta_sha256" /* the meta package pins the kernel's exact version */
#define IMAGE_CMD_TIMEOUT_MS (15u * 60 * 1000)
#define IMAGE_MAX_MODULES 32

#ifndef TAPYARD_VERSION
#define TAPYARD_VERSION "unknown"
#endif

/* The modules the guest loads (their dependencies come along). */
static const char *const image_wanted[] = {"virtio_pci", "virtio_net", "virtio_console",
					   "virtio_blk", NULL};

/* The guest's /init. Loads the modules listed in /etc/tapyard/modules (this image) or,
 * appended to another kernel's initramfs, modprobes them; then keeps the agent running. */
static const char image_init[] =
	"#!/bin/sh\n"
	"# tapyard guest init: mounts, modules, then the agent (restarted if it exits).\n"
	"export PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
	"mount -t devtmpfs dev /dev 2>/dev/null\n"
	"mount -t proc proc /proc\n"
	"mount -t sysfs sys /sys\n"
	"mkdir -p /dev/pts /run /tmp\n"
	"mount -t devpts devpts /dev/pts\n"
	"mount -t tmpfs tmpfs /run\n"
	"mount -t tmpfs tmpfs /tmp\n"
	"if [ -f /etc/tapyard/modules ]; then\n"
	"\twhile read -r m; do insmod \"/lib/modules/$m\" || echo \"tapyard-init: $m failed\"; done"
	" </etc/tapyard/modules\n"
	"else\n"
	"\tfor m in virtio_pci virtio_net virtio_console virtio_blk; do modprobe $m 2>/dev/null; "
	"done\n"
	"fi\n"
	"# As namespace guests: no IPv6 noise, a NIC that comes up announces itself.\n"
	"echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null\n"
	"echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6 2>/dev/null\n"
	"echo 1 >/proc/sys/net/ipv4/conf/all/arp_notify\n"
	"echo 1 >/proc/sys/net/ipv4/conf/default/arp_notify\n"
	"ip link set lo up\n"
	"hostname guest\n"
	"echo \"tapyard-init: starting the agent at $(cut -d' ' -f1 /proc/uptime) s\"\n"
	"while :; do\n"
	"\t/sbin/tapyard-agent\n"
	"\techo \"tapyard-init: the agent exited ($?); restarting it\"\n"
	"\tsleep 1\n"
	"done\n";

/* The directories of the archive, parents first. */
static const char *const image_dirs[] = {
	"bin", "sbin", "usr",	      "usr/bin", "usr/sbin",	"dev",	"proc", "sys", "run",
	"tmp", "etc",  "etc/tapyard", "lib",	 "lib/modules", "root", "var",	NULL};

/* One package: its name, version and the .deb's SHA256 (the cache key). */
struct image_pkg {
	char name[128], version[128], sha256[65];
};

/* A module file of the kernel package. */
struct image_mod {
	char name[64]; /* as modinfo names it: dashes as underscores, no suffix */
	char *path;
};

/* A build in progress. */
struct image {
	const struct image_opts *o;
	struct image_err *e;
	char dir[512], tmp[600]; /* the image's directory; DIR/.build */
	char agent[512], agent_sha[65];
	struct image_pkg kernel, busybox;
	char release[128]; /* the kernel's: 6.1.0-57-amd64 */
	struct image_mod *index; /* every module of the kernel package */
	size_t nindex, capindex;
	const struct image_mod *mods[IMAGE_MAX_MODULES]; /* the guest's, in load order */
	int nmods;
};

/* snprintf, for paths and names whose parts are bounded where they come in. */
static int image_fmt(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int image_fmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n < 0 ? 0 : (size_t)n >= size ? (int)size - 1 : n;
}

/* Fill e and return err. */
static int image_fail(struct image_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int image_fail(struct image_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

static void image_progress(const struct image *img, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void image_progress(const struct image *img, const char *fmt, ...)
{
	va_list ap;

	if (!img->o->progress)
		return;
	va_start(ap, fmt);
	fputs("image: ", img->o->progress);
	vfprintf(img->o->progress, fmt, ap);
	fputc('\n', img->o->progress);
	fflush(img->o->progress);
	va_end(ap);
}

/* The last non-empty line of s (at most 300 bytes), for an error message. */
static const char *image_last_line(char *s)
{
	char *end = s + strlen(s), *start;

	while (end > s && (end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	start = end;
	while (start > s && start[-1] != '\n')
		start--;
	return strlen(start) > 300 ? start + strlen(start) - 300 : start;
}

/*
 * Run argv in cwd (NULL: /); *out receives its stdout (NULL: discarded).
 * A failure names the command and its last line on stderr.
 */
static int image_cmd(struct image_err *e, const char *cwd, const char *const *argv, char **out)
{
	struct guest_run_req req = {.argv = argv,
				    .cwd = cwd,
				    .timeout_ms = IMAGE_CMD_TIMEOUT_MS,
				    .max_output = 4u << 20};
	struct guest_run_result res;
	struct guest_proc *p;
	int err = guest_run_spawn(&req, NULL, NULL, &p);

	if (!err)
		err = guest_run_wait(p, NULL, &res);
	if (err)
		return image_fail(e, err, "%s: %s", argv[0], strerror(-err));
	if (res.status != GUEST_RUN_EXITED || res.exit_code != 0) {
		err = res.exit_code == 127 ? -ENOENT : -EIO;
		image_fail(e, err, "%s %s failed (%s %d): %s", argv[0], argv[1] ? argv[1] : "",
			   res.status == GUEST_RUN_EXITED ? "exit code" : "signal",
			   res.status == GUEST_RUN_EXITED ? res.exit_code : res.signal,
			   image_last_line(res.err));
	} else if (out) {
		*out = res.out;
		res.out = NULL;
	}
	guest_run_result_free(&res);
	return err;
}

/* SHA256 of a file, as hex, into hex[65]. */
static int image_sha256(struct image_err *e, const char *path, char hex[65])
{
	const char *argv[] = {"sha256sum", path, NULL};
	char *out = NULL;
	int err = image_cmd(e, NULL, argv, &out);

	if (!err && strlen(out) < 64)
		err = image_fail(e, -EIO, "sha256sum %s: unexpected output", path);
	if (!err)
		image_fmt(hex, 65, "%.64s", out);
	free(out);
	return err;
}

/* ---- paths ---- */

int image_default_dir(char *buf, size_t size)
{
	const char *env = getenv("TAPYARD_IMAGE_DIR"), *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	int n;

	if (env && *env)
		n = image_fmt(buf, size, "%s", env);
	else if (geteuid() == 0)
		n = image_fmt(buf, size, "/var/cache/tapyard/image");
	else if (xdg && *xdg)
		n = image_fmt(buf, size, "%s/tapyard/image", xdg);
	else if (home && *home)
		n = image_fmt(buf, size, "%s/.cache/tapyard/image", home);
	else
		return -ENOENT;
	return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
}

int image_agent_path(char *buf, size_t size)
{
	const char *candidates[] = {getenv("TAPYARD_AGENT"),
#ifdef TAPYARD_AGENT_BUILD
				    TAPYARD_AGENT_BUILD,
#endif
#ifdef TAPYARD_AGENT_INSTALL
				    TAPYARD_AGENT_INSTALL,
#endif
				    NULL};
	size_t n = sizeof(candidates) / sizeof(candidates[0]);

	for (size_t i = 0; i < n; i++) {
		if (candidates[i] && *candidates[i] && access(candidates[i], X_OK) == 0) {
			image_fmt(buf, size, "%s", candidates[i]);
			return 0;
		}
	}
	return -ENOENT;
}

/* The image's directory: o->dir or the default. */
static int image_dir(const char *dir, char *buf, size_t size, struct image_err *e)
{
	if (dir) {
		image_fmt(buf, size, "%s", dir);
		return 0;
	}
	if (image_default_dir(buf, size))
		return image_fail(e, -ENOENT, "no image directory: set TAPYARD_IMAGE_DIR or HOME");
	return 0;
}

/* mkdir -p */
static int image_mkdirs(const char *path)
{
	char p[600];

	image_fmt(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
}

static int image_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path); /* what cannot go stays; the rest still goes */
	return 0;
}

void image_rm_rf(const char *path)
{
	nftw(path, image_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* ---- packages ---- */

/* The value of "Field: value" in an apt-cache record, into buf. */
static bool image_field(const char *rec, const char *field, char *buf, size_t size)
{
	size_t flen = strlen(field);

	for (const char *l = rec; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
		if (strncmp(l, field, flen) == 0 && l[flen] == ':' && l[flen + 1] == ' ') {
			const char *v = l + flen + 2;

			image_fmt(buf, size, "%.*s", (int)strcspn(v, "\n"), v);
			return true;
		}
	}
	return false;
}

/* The record of package pkg in `apt-cache show` output (records end at a blank line). */
static const char *image_record(const char *out, const char *pkg, char *rec, size_t size)
{
	char name[128];

	for (const char *r = out; r && *r; r = strstr(r, "\n\n"), r = r ? r + 2 : NULL) {
		const char *end = strstr(r, "\n\n");
		size_t n = end ? (size_t)(end - r) : strlen(r);

		image_fmt(rec, size, "%.*s", (int)n, r);
		if (image_field(rec, "Package", name, sizeof(name)) && strcmp(name, pkg) == 0)
			return rec;
	}
	return NULL;
}

/* pkg's Package, Version and SHA256 from `apt-cache show` output. */
static int image_pkg_of(struct image_err *e, const char *out, const char *pkg, struct image_pkg *p)
{
	char rec[16384];

	if (!image_record(out, pkg, rec, sizeof(rec)))
		return image_fail(e, -ENOENT, "apt-cache knows no package %s", pkg);
	if (!image_field(rec, "Package", p->name, sizeof(p->name)) ||
	    !image_field(rec, "Version", p->version, sizeof(p->version)) ||
	    !image_field(rec, "SHA256", p->sha256, sizeof(p->sha256)))
		return image_fail(e, -EINVAL, "apt-cache show %s: no Version or SHA256", pkg);
	return 0;
}

/*
 * The kernel package the meta package depends on ("linux-image-6.1.0-57-amd64 (=
 * 6.1.192-3)"): its name and exact version; the meta package's own SHA256 is the key.
 */
static int image_kernel_of(struct image_err *e, const char *out, struct image_pkg *k)
{
	char rec[16384], dep[256], *v;
	int err = image_pkg_of(e, out, IMAGE_KERNEL_META, k);

	image_record(out, IMAGE_KERNEL_META, rec, sizeof(rec));
	if (!err && !image_field(rec, "Depends", dep, sizeof(dep)))
		err = image_fail(e, -EINVAL, "%s has no Depends", IMAGE_KERNEL_META);
	if (err)
		return err;
	v = strstr(dep, "(= ");
	image_fmt(k->version, sizeof(k->version), "%.*s", v ? (int)strcspn(v + 3, ")") : 0,
		  v ? v + 3 : "");
	dep[strcspn(dep, " ,(")] = '\0';
	image_fmt(k->name, sizeof(k->name), "%s", dep);
	return 0;
}

/* One `apt-cache show` of both packages: the kernel's name and version, busybox's. */
static int image_resolve(struct image *img)
{
	const char *argv[] = {"apt-cache",	 "show",	"--no-all-versions",
			      IMAGE_KERNEL_META, IMAGE_BUSYBOX, NULL};
	char *out = NULL;
	int err = image_cmd(img->e, NULL, argv, &out);

	if (err == -EIO) /* apt-cache fails when it knows neither */
		err = image_fail(img->e, -ENOENT, "%s", img->e->msg);
	if (!err)
		err = image_kernel_of(img->e, out, &img->kernel);
	if (!err)
		err = image_pkg_of(img->e, out, IMAGE_BUSYBOX, &img->busybox);
	free(out);
	return err;
}

static int image_apt_update(struct image *img)
{
	const char *argv[] = {"apt-get", "update", NULL};

	image_progress(img, "running apt-get update");
	return image_cmd(img->e, NULL, argv, NULL);
}

/* Both packages' versions; apt-get update once (as root) when apt does not know them. */
static int image_resolve_all(struct image *img)
{
	int err = image_resolve(img);

	if (err == -ENOENT && geteuid() == 0) {
		err = image_apt_update(img);
		if (!err)
			err = image_resolve(img);
	}
	if (err == -ENOENT)
		image_fail(img->e, err, "%s (run apt-get update as root?)", img->e->msg);
	return err;
}

/* apt-get download both packages into tmp (once more after apt-get update, as root). */
static int image_download(struct image *img)
{
	char k[300], b[300];
	const char *argv[] = {"apt-get", "download", k, b, NULL};
	int err;

	image_fmt(k, sizeof(k), "%s%s%s", img->kernel.name, img->kernel.version[0] ? "=" : "",
		  img->kernel.version);
	image_fmt(b, sizeof(b), "%s=%s", img->busybox.name, img->busybox.version);
	image_progress(img, "downloading %s %s and %s %s", img->kernel.name, img->kernel.version,
		       img->busybox.name, img->busybox.version);
	err = image_cmd(img->e, img->tmp, argv, NULL);
	if (err && geteuid() == 0 && !image_apt_update(img))
		err = image_cmd(img->e, img->tmp, argv, NULL);
	return err;
}

/* The one file matching pattern, into buf. */
static int image_glob1(struct image_err *e, const char *pattern, char *buf, size_t size)
{
	glob_t g;
	int err = 0;

	if (glob(pattern, 0, NULL, &g) || g.gl_pathc != 1)
		err = image_fail(e, -ENOENT, "%s: expected exactly one file", pattern);
	else
		image_fmt(buf, size, "%s", g.gl_pathv[0]);
	globfree(&g);
	return err;
}

/* dpkg-deb -x the package's .deb (in tmp) into tmp/sub. */
static int image_unpack(struct image *img, const struct image_pkg *pkg, const char *sub)
{
	char pattern[700], deb[700], into[700];
	const char *argv[] = {"dpkg-deb", "-x", deb, into, NULL};
	int err;

	image_fmt(pattern, sizeof(pattern), "%s/%s_*.deb", img->tmp, pkg->name);
	image_fmt(into, sizeof(into), "%s/%s", img->tmp, sub);
	err = image_glob1(img->e, pattern, deb, sizeof(deb));
	return err ? err : image_cmd(img->e, NULL, argv, NULL);
}

/* ---- the kernel ---- */

int image_payload(const unsigned char *data, size_t size, size_t *off, size_t *len)
{
	uint32_t poff, plen, setup;

	/* boot protocol 2.08+: "HdrS" at 0x202, payload fields at 0x248 and 0x24c */
	if (size < 0x250 || memcmp(data + 0x202, "HdrS", 4) ||
	    (data[0x206] | data[0x207] << 8) < 0x208)
		return -EINVAL;
	setup = ((uint32_t)(data[0x1f1] ? data[0x1f1] : 4) + 1) * 512;
	memcpy(&poff, data + 0x248, 4);
	memcpy(&plen, data + 0x24c, 4);
	if ((uint64_t)setup + poff + plen > size || plen < 6)
		return -EINVAL;
	*off = setup + poff;
	*len = plen;
	return 0;
}

/* Read a whole file (at most 256 MiB) into *data, NUL-terminated. */
static int image_slurp(const char *path, char **data, size_t *size)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;

	*data = NULL;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (st.st_size > (256 << 20))
		err = -EFBIG;
	else if (!(*data = malloc((size_t)st.st_size + 1)))
		err = -ENOMEM;
	else if ((n = read(fd, *data, (size_t)st.st_size)) != st.st_size)
		err = n < 0 ? -errno : -EIO;
	close(fd);
	if (err) {
		free(*data);
		*data = NULL;
		return err;
	}
	(*data)[st.st_size] = '\0';
	*size = (size_t)st.st_size;
	return 0;
}

/* Write len bytes to a new file path. */
static int image_spill(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

/* The decompressor for a payload's magic, or NULL. */
static const char *image_decompressor(const unsigned char *p)
{
	if (memcmp(p,
		   "\xfd"
		   "7zXZ\0",
		   6) == 0)
		return "xz -dc --single-stream";
	if (p[0] == 0x1f && p[1] == 0x8b)
		return "gzip -dc";
	if (memcmp(p, "\x28\xb5\x2f\xfd", 4) == 0)
		return "zstd -dc";
	return NULL;
}

/* tmp/k/boot/vmlinuz-* decompressed to tmp/vmlinux; img->release from its name. */
static int image_vmlinux(struct image *img)
{
	char vmlinuz[700], payload[700], script[800], *data = NULL;
	const char *argv[] = {"sh", "-c", script, NULL}, *dec;
	size_t size, off, len;
	int err;

	image_fmt(script, sizeof(script), "%s/k/boot/vmlinuz-*", img->tmp);
	err = image_glob1(img->e, script, vmlinuz, sizeof(vmlinuz));
	if (err)
		return err;
	image_fmt(img->release, sizeof(img->release), "%s", strrchr(vmlinuz, '/') + 9);
	err = image_slurp(vmlinuz, &data, &size);
	if (!err && image_payload((unsigned char *)data, size, &off, &len))
		err = image_fail(img->e, -EINVAL, "%s: not a bzImage with a payload", vmlinuz);
	dec = err ? NULL : image_decompressor((unsigned char *)data + off);
	if (!err && !dec)
		err = image_fail(img->e, -EINVAL, "%s: unknown compression", vmlinuz);
	image_fmt(payload, sizeof(payload), "%s/payload", img->tmp);
	if (!err && image_spill(payload, data + off, len))
		err = image_fail(img->e, -EIO, "%s: cannot write", payload);
	free(data);
	if (err)
		return err;
	image_progress(img, "decompressing the kernel %s (%s)", img->release, dec);
	image_fmt(script, sizeof(script), "%s '%s' > '%s/" IMAGE_KERNEL "'", dec, payload,
		  img->tmp);
	err = image_cmd(img->e, NULL, argv, NULL);
	unlink(payload);
	return err;
}

/* ---- modules ---- */

int image_mod_depends(const char *data, size_t size, char *buf, size_t bufsize)
{
	static const char key[] = "depends=";

	/* modinfo strings are NUL-separated; "depends=" starts one */
	for (const char *p = data; p && (size_t)(p - data) + sizeof(key) <= size;
	     p = memmem(p + 1, size - (size_t)(p + 1 - data), key, sizeof(key) - 1)) {
		if ((p == data || p[-1] == '\0') && memcmp(p, key, sizeof(key) - 1) == 0) {
			size_t n = strnlen(p + sizeof(key) - 1,
					   size - (size_t)(p - data) - (sizeof(key) - 1));

			image_fmt(buf, bufsize, "%.*s", (int)n, p + sizeof(key) - 1);
			return 0;
		}
	}
	return -ENOENT;
}

/* Add path to the index when it is a module (.ko or .ko.xz). */
static int image_mod_add(struct image *img, const char *dir, const char *file)
{
	size_t n = strlen(file), stem = n > 3 && !strcmp(file + n - 3, ".ko")	   ? n - 3
					: n > 6 && !strcmp(file + n - 6, ".ko.xz") ? n - 6
										   : 0;
	struct image_mod *m;

	if (!stem || stem >= sizeof(m->name))
		return 0;
	if (img->nindex == img->capindex) {
		size_t cap = img->capindex ? 2 * img->capindex : 1024;
		struct image_mod *grown = realloc(img->index, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		img->index = grown;
		img->capindex = cap;
	}
	m = &img->index[img->nindex];
	image_fmt(m->name, sizeof(m->name), "%.*s", (int)stem, file);
	for (char *s = m->name; *s; s++)
		*s = *s == '-' ? '_' : *s;
	if (asprintf(&m->path, "%s/%s", dir, file) < 0)
		return -ENOMEM;
	img->nindex++;
	return 0;
}

/* Index the modules under dir, recursively. */
static int image_mod_walk(struct image *img, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int err = 0;

	if (!d)
		return -errno;
	while (!err && (de = readdir(d))) {
		char sub[1024];

		if (de->d_name[0] == '.')
			continue;
		if (de->d_type == DT_DIR && depth < 8) {
			image_fmt(sub, sizeof(sub), "%s/%s", dir, de->d_name);
			err = image_mod_walk(img, sub, depth + 1);
		} else if (de->d_type == DT_REG) {
			err = image_mod_add(img, dir, de->d_name);
		}
	}
	closedir(d);
	return err;
}

static const struct image_mod *image_mod_lookup(const struct image *img, const char *name)
{
	for (size_t i = 0; i < img->nindex; i++) {
		if (strcmp(img->index[i].name, name) == 0)
			return &img->index[i];
	}
	return NULL;
}

/* Is name built into the kernel (modules.builtin)? */
static bool image_mod_builtin(const struct image *img, const char *name)
{
	char path[800], *data = NULL, needle[80];
	size_t size;
	bool found;

	image_fmt(path, sizeof(path), "%s/k/lib/modules/%s/modules.builtin", img->tmp,
		  img->release);
	if (image_slurp(path, &data, &size))
		return false;
	image_fmt(needle, sizeof(needle), "/%s.ko\n", name);
	found = strstr(data, needle) != NULL;
	free(data);
	return found;
}

/* A .ko.xz decompressed in place (m->path becomes the .ko). */
static int image_mod_plain(struct image *img, struct image_mod *m)
{
	char script[2200];
	const char *argv[] = {"sh", "-c", script, NULL};
	size_t n = strlen(m->path);
	int err;

	if (n < 3 || strcmp(m->path + n - 3, ".xz"))
		return 0;
	image_fmt(script, sizeof(script), "xz -dc '%s' > '%.*s'", m->path, (int)(n - 3), m->path);
	err = image_cmd(img->e, NULL, argv, NULL);
	if (!err)
		m->path[n - 3] = '\0';
	return err;
}

/* Append name and, first, what it depends on, to the load order. */
static int image_mod_visit(struct image *img, const char *name, int depth)
{
	struct image_mod *m = (struct image_mod *)image_mod_lookup(img, name);
	char deps[512], *data = NULL, *save = NULL;
	size_t size;
	int err;

	for (int i = 0; i < img->nmods; i++) {
		if (img->mods[i] == m)
			return 0;
	}
	if (!m)
		return image_mod_builtin(img, name)
			       ? 0
			       : image_fail(img->e, -ENOENT, "module %s: not in %s %s", name,
					    img->kernel.name, img->kernel.version);
	if (depth > 16 || img->nmods == IMAGE_MAX_MODULES)
		return image_fail(img->e, -ELOOP, "module %s: dependencies too deep or many", name);
	err = image_mod_plain(img, m);
	if (!err)
		err = image_slurp(m->path, &data, &size);
	if (!err && image_mod_depends(data, size, deps, sizeof(deps)))
		deps[0] = '\0';
	free(data);
	for (char *d = strtok_r(deps, ",", &save); !err && d; d = strtok_r(NULL, ",", &save))
		err = image_mod_visit(img, d, depth + 1);
	if (!err)
		img->mods[img->nmods++] = m;
	return err;
}

/* The guest's modules in load order. */
static int image_modules(struct image *img)
{
	char dir[800];
	int err;

	image_fmt(dir, sizeof(dir), "%s/k/lib/modules/%s/kernel", img->tmp, img->release);
	err = image_mod_walk(img, dir, 0);
	if (err)
		return image_fail(img->e, err, "%s: %s", dir, strerror(-err));
	for (int i = 0; !err && image_wanted[i]; i++)
		err = image_mod_visit(img, image_wanted[i], 0);
	return err;
}

/* ---- the archive ---- */

/* busybox's applets as links to /bin/busybox (those in the archive's directories). */
static int image_applets(struct image_err *e, struct cpio *c, const char *busybox)
{
	const char *argv[] = {busybox, "--list-full", NULL};
	char *out = NULL, *save = NULL, target[300];
	int err = image_cmd(e, NULL, argv, &out);

	for (char *l = err ? NULL : strtok_r(out, "\n", &save); l && !err;
	     l = strtok_r(NULL, "\n", &save)) {
		const char *slash = strrchr(l, '/');
		bool known = false;

		for (int i = 0; slash && image_dirs[i]; i++)
			known |= strlen(image_dirs[i]) == (size_t)(slash - l) &&
				 !strncmp(l, image_dirs[i], (size_t)(slash - l));
		if (!known || !strcmp(l, "bin/busybox"))
			continue;
		image_fmt(target, sizeof(target), "/bin/busybox");
		err = cpio_symlink(c, l, target);
	}
	free(out);
	return err;
}

/* The fixed files: directories, device nodes, init, etc. */
static int image_base(struct cpio *c, const char *release)
{
	static const char hosts[] = "127.0.0.1\tlocalhost\n";
	static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n";
	static const char group[] = "root:x:0:\n";
	char moddir[200];

	for (int i = 0; image_dirs[i]; i++)
		cpio_dir(c, image_dirs[i], 0755);
	if (release) {
		image_fmt(moddir, sizeof(moddir), "lib/modules/%s", release);
		cpio_dir(c, moddir, 0755);
	}
	cpio_chardev(c, "dev/console", 0600, 5, 1);
	cpio_chardev(c, "dev/null", 0666, 1, 3);
	cpio_file(c, "init", 0755, image_init, strlen(image_init));
	cpio_file(c, "etc/hosts", 0644, hosts, strlen(hosts));
	cpio_file(c, "etc/passwd", 0644, passwd, strlen(passwd));
	return cpio_file(c, "etc/group", 0644, group, strlen(group));
}

/* The modules and their load order (etc/tapyard/modules). */
static int image_archive_mods(const struct image *img, struct cpio *c)
{
	char list[IMAGE_MAX_MODULES * 200], name[200];
	size_t len = 0;
	int err = 0;

	for (int i = 0; !err && i < img->nmods; i++) {
		image_fmt(name, sizeof(name), "lib/modules/%s/%s.ko", img->release,
			  img->mods[i]->name);
		err = cpio_file_from(c, name, 0644, img->mods[i]->path);
		len += (size_t)image_fmt(list + len, sizeof(list) - len, "%s/%s.ko\n", img->release,
					 img->mods[i]->name);
	}
	return err ? err : cpio_file(c, "etc/tapyard/modules", 0644, list, len);
}

/* Write the archive to path: base, busybox, agent and (img: this image's) modules. */
static int image_archive(const struct image *img, struct image_err *e, const char *path,
			 const char *busybox, const char *agent)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), err;
	struct cpio *c;

	if (fd < 0)
		return image_fail(e, -errno, "%s: %s", path, strerror(errno));
	err = cpio_open(fd, &c);
	if (!err) {
		image_base(c, img ? img->release : NULL);
		cpio_file_from(c, "bin/busybox", 0755, busybox);
		cpio_file_from(c, "sbin/tapyard-agent", 0755, agent);
		err = image_applets(e, c, busybox);
		if (!err && img)
			err = image_archive_mods(img, c);
		err = cpio_finish(c) ? (err ? err : -EIO) : err;
		if (err && !e->msg[0])
			image_fail(e, err, "%s: %s", path, strerror(-err));
	}
	if (close(fd) && !err)
		err = image_fail(e, -errno, "%s: %s", path, strerror(errno));
	return err;
}

/* ---- the manifest ---- */

/* A package in the manifest; key names its hash (the kernel's is its meta package's). */
static json_t *image_pkg_json(const struct image_pkg *p, const char *key)
{
	return json_pack("{s:s, s:s, s:s}", "package", p->name, "version", p->version, key,
			 p->sha256);
}

/* Size of a file, or 0. */
static json_int_t image_size(const char *dir, const char *name)
{
	char path[800];
	struct stat st;

	image_fmt(path, sizeof(path), "%s/%s", dir, name);
	return stat(path, &st) ? 0 : (json_int_t)st.st_size;
}

/* The manifest of a finished build. */
static json_t *image_manifest(const struct image *img, uint64_t ms)
{
	json_t *mods = json_array(), *m;
	char when[32];
	time_t now = time(NULL);

	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	for (int i = 0; mods && i < img->nmods; i++)
		json_array_append_new(mods, json_string(img->mods[i]->name));
	m = json_pack("{s:i, s:s, s:o, s:s, s:o, s:{s:s, s:s}, s:o, s:{s:I, s:I}, s:s, s:I}",
		      "format", IMAGE_FORMAT, "tapyard", TAPYARD_VERSION, "kernel",
		      image_pkg_json(&img->kernel, IMAGE_KERNEL_KEY), "release", img->release,
		      "busybox", image_pkg_json(&img->busybox, "sha256"), "agent", "path",
		      img->agent, "sha256", img->agent_sha, "modules", mods, "sizes", IMAGE_KERNEL,
		      image_size(img->dir, IMAGE_KERNEL), IMAGE_INITRD,
		      image_size(img->dir, IMAGE_INITRD), "built", when, "build_ms",
		      (json_int_t)ms);
	return m;
}

/* The manifest of the image in dir, or NULL. */
static json_t *image_manifest_load(const char *dir)
{
	char path[800];

	image_fmt(path, sizeof(path), "%s/" IMAGE_MANIFEST, dir);
	return json_load_file(path, 0, NULL);
}

/* A string at "a.b" of j, or "". */
static const char *image_get(json_t *j, const char *a, const char *b)
{
	json_t *v = json_object_get(j, a);
	const char *s = json_string_value(b ? json_object_get(v, b) : v);

	return s ? s : "";
}

/* Does the image in img->dir come from exactly these inputs, and are its files there? */
static bool image_current(const struct image *img)
{
	json_t *m = image_manifest_load(img->dir);
	bool same = m && json_integer_value(json_object_get(m, "format")) == IMAGE_FORMAT &&
		    !strcmp(image_get(m, "kernel", IMAGE_KERNEL_KEY), img->kernel.sha256) &&
		    !strcmp(image_get(m, "busybox", "sha256"), img->busybox.sha256) &&
		    !strcmp(image_get(m, "agent", "sha256"), img->agent_sha) &&
		    image_size(img->dir, IMAGE_KERNEL) && image_size(img->dir, IMAGE_INITRD);

	json_decref(m);
	return same;
}

/* ---- the build ---- */

/* Move tmp/name to dir/name. */
static int image_install(struct image *img, const char *name)
{
	char from[800], to[800];

	image_fmt(from, sizeof(from), "%s/%s", img->tmp, name);
	image_fmt(to, sizeof(to), "%s/%s", img->dir, name);
	if (rename(from, to))
		return image_fail(img->e, -errno, "%s: %s", to, strerror(errno));
	return 0;
}

/* Write the manifest (last: its presence says the image is whole). */
static int image_write_manifest(struct image *img, uint64_t ms)
{
	char path[800], tmp[800];
	json_t *m = image_manifest(img, ms);
	int err = 0;

	image_fmt(path, sizeof(path), "%s/" IMAGE_MANIFEST, img->dir);
	image_fmt(tmp, sizeof(tmp), "%s.new", path);
	if (!m || json_dump_file(m, tmp, JSON_INDENT(2)) || rename(tmp, path))
		err = image_fail(img->e, -EIO, "%s: cannot write", path);
	json_decref(m);
	return err;
}

/* Download, unpack, decompress, archive: everything after the cache check. */
static int image_make(struct image *img)
{
	char initrd[800], busybox[800];
	int err;

	image_rm_rf(img->tmp);
	err = image_mkdirs(img->tmp);
	if (err)
		return image_fail(img->e, err, "%s: %s", img->tmp, strerror(-err));
	err = image_download(img);
	if (!err) {
		image_progress(img, "unpacking");
		err = image_unpack(img, &img->kernel, "k");
	}
	if (!err)
		err = image_unpack(img, &img->busybox, "b");
	if (!err)
		err = image_vmlinux(img);
	if (!err)
		err = image_modules(img);
	if (err)
		return err;
	image_progress(img, "writing the initramfs (busybox, %d modules, the agent)", img->nmods);
	image_fmt(initrd, sizeof(initrd), "%s/" IMAGE_INITRD, img->tmp);
	image_fmt(busybox, sizeof(busybox), "%s/b/bin/busybox", img->tmp);
	err = image_archive(img, img->e, initrd, busybox, img->agent);
	/* busybox stays beside the image, for agent initrds (image_agent_initrd()) */
	image_fmt(initrd, sizeof(initrd), "%s/busybox", img->tmp);
	if (!err && rename(busybox, initrd))
		err = image_fail(img->e, -errno, "%s: %s", initrd, strerror(errno));
	return err;
}

/* Lock the image's directory (one build at a time); *fd receives the lock. */
static int image_lock(struct image *img, int *fd)
{
	char path[800];
	int err = image_mkdirs(img->dir);

	if (err)
		return image_fail(img->e, err, "%s: %s", img->dir, strerror(-err));
	image_fmt(path, sizeof(path), "%s/.lock", img->dir);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (*fd < 0 || flock(*fd, LOCK_EX))
		return image_fail(img->e, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

/* The agent's path and hash. */
static int image_agent(struct image *img)
{
	if (img->o->agent)
		image_fmt(img->agent, sizeof(img->agent), "%s", img->o->agent);
	else if (image_agent_path(img->agent, sizeof(img->agent)))
		return image_fail(img->e, -ENOENT,
				  "no tapyard-agent found (build it, or set TAPYARD_AGENT)");
	return image_sha256(img->e, img->agent, img->agent_sha);
}

/* The build once locked: check, make, install, record. */
static int image_build_locked(struct image *img)
{
	static const char *const results[] = {IMAGE_KERNEL, IMAGE_INITRD, "busybox", NULL};
	uint64_t start = clock_mono_ms();
	int err = image_agent(img);

	if (!err) {
		image_progress(img, "resolving %s and %s", IMAGE_KERNEL_META, IMAGE_BUSYBOX);
		err = image_resolve_all(img);
	}
	if (!err && !img->o->force && image_current(img)) {
		image_progress(img, "up to date in %s (%s %s)", img->dir, img->kernel.name,
			       img->kernel.version);
		return 0;
	}
	if (!err)
		err = image_make(img);
	for (int i = 0; !err && results[i]; i++)
		err = image_install(img, results[i]);
	if (!err)
		err = image_write_manifest(img, clock_mono_ms() - start);
	if (!err)
		image_progress(img,
			       "built in %s in %.1f s: kernel %s (%lld bytes), initramfs "
			       "%lld bytes",
			       img->dir, (double)(clock_mono_ms() - start) / 1000.0, img->release,
			       (long long)image_size(img->dir, IMAGE_KERNEL),
			       (long long)image_size(img->dir, IMAGE_INITRD));
	return err;
}

int image_build(const struct image_opts *o, struct image_err *e)
{
	struct image img = {.o = o, .e = e};
	int lock = -1, err;

	e->msg[0] = '\0';
	err = image_dir(o->dir, img.dir, sizeof(img.dir), e);
	image_fmt(img.tmp, sizeof(img.tmp), "%s/.build", img.dir);
	if (!err)
		err = image_lock(&img, &lock);
	if (!err)
		err = image_build_locked(&img);
	image_rm_rf(img.tmp);
	for (size_t i = 0; i < img.nindex; i++)
		free(img.index[i].path);
	free(img.index);
	if (lock >= 0)
		close(lock);
	return err;
}

/* ---- using and describing an image ---- */

int image_files(const char *dir, char *kernel, char *initrd, size_t size, struct image_err *e)
{
	char d[512];
	json_t *m;
	int err = image_dir(dir, d, sizeof(d), e);

	if (err)
		return err;
	m = image_manifest_load(d);
	json_decref(m);
	if (!m || !image_size(d, IMAGE_KERNEL) || !image_size(d, IMAGE_INITRD))
		return image_fail(e, -ENOENT, "no guest image in %s: run `tapyard image build%s%s`",
				  d, dir ? " " : "", dir ? dir : "");
	image_fmt(kernel, size, "%s/" IMAGE_KERNEL, d);
	image_fmt(initrd, size, "%s/" IMAGE_INITRD, d);
	return 0;
}

bool image_agent_stale(const char *dir)
{
	char d[512], agent[512], sha[65];
	struct image_err e;
	json_t *m;
	bool stale;

	if (image_dir(dir, d, sizeof(d), &e) || image_agent_path(agent, sizeof(agent)) ||
	    image_sha256(&e, agent, sha))
		return false; /* nothing to compare with: the image is what there is */
	m = image_manifest_load(d);
	stale = m && strcmp(image_get(m, "agent", "sha256"), sha) != 0;
	json_decref(m);
	return stale;
}

int image_info(const char *dir, FILE *out, struct image_err *e)
{
	char d[512];
	json_t *m, *mods;
	int err = image_dir(dir, d, sizeof(d), e);

	if (err)
		return err;
	m = image_manifest_load(d);
	if (!m)
		return image_fail(e, -ENOENT, "no guest image in %s: run `tapyard image build`", d);
	mods = json_object_get(m, "modules");
	fprintf(out, "directory  %s\n", d);
	fprintf(out, "kernel     %s (%s %s), %s: %lld bytes\n", image_get(m, "release", NULL),
		image_get(m, "kernel", "package"), image_get(m, "kernel", "version"), IMAGE_KERNEL,
		(long long)image_size(d, IMAGE_KERNEL));
	fprintf(out, "busybox    %s %s\n", image_get(m, "busybox", "package"),
		image_get(m, "busybox", "version"));
	fprintf(out, "agent      sha256 %s\n", image_get(m, "agent", "sha256"));
	fprintf(out, "initramfs  %s: %lld bytes, %zu modules:", IMAGE_INITRD,
		(long long)image_size(d, IMAGE_INITRD), json_array_size(mods));
	for (size_t i = 0; i < json_array_size(mods); i++)
		fprintf(out, " %s", json_string_value(json_array_get(mods, i)));
	fprintf(out, "\nbuilt      %s by tapyard %s in %.1f s (format %lld)\n",
		image_get(m, "built", NULL), image_get(m, "tapyard", NULL),
		(double)json_integer_value(json_object_get(m, "build_ms")) / 1000.0,
		(long long)json_integer_value(json_object_get(m, "format")));
	json_decref(m);
	return 0;
}

int image_agent_initrd(const char *dir, const char *agent, const char *path, struct image_err *e)
{
	char d[512], busybox[600], found[512];
	int err = image_dir(dir, d, sizeof(d), e);

	e->msg[0] = '\0';
	if (err)
		return err;
	image_fmt(busybox, sizeof(busybox), "%s/busybox", d);
	if (access(busybox, X_OK))
		return image_fail(e, -ENOENT, "%s: missing: run `tapyard image build` first",
				  busybox);
	if (!agent && image_agent_path(found, sizeof(found)))
		return image_fail(e, -ENOENT, "no tapyard-agent found (set TAPYARD_AGENT)");
	return image_archive(NULL, e, path, busybox, agent ? agent : found);
}
