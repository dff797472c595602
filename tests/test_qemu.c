/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the QEMU guest module's pure parts: the command line (the
 * machine, the kernel and its command line, the agent's port, NICs by fd
 * with their MACs, commas escaped), the accelerator's choice, the console's
 * last lines, and a start that fails (QEMU missing: the error names the VM).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "qemu.h"

/* The word after word in argv, or NULL. */
static const char *after(char **argv, const char *word, int nth)
{
	for (int i = 0; argv[i]; i++) {
		if (strcmp(argv[i], word) == 0 && nth-- == 0)
			return argv[i + 1];
	}
	return NULL;
}

static void test_argv(void **state)
{
	struct qemu_nic nics[2] = {{.fd = 7, .mac = {0x52, 0x54, 0, 1, 2, 3}},
				   {.fd = 9, .mac = {0x52, 0x54, 0, 0xaa, 0xbb, 0xcc}}};
	struct qemu_opts o = {.name = "a,b",
			      .dir = "/run/x,y",
			      .kernel = "/img/vmlinux",
			      .initrd = "/img/initrd.cpio",
			      .append = "tapyard.x=1",
			      .memory_mb = 512,
			      .nics = nics,
			      .nnics = 2};
	char **argv;

	(void)state;
	assert_int_equal(qemu_argv(&o, QEMU_ACCEL_TCG, &argv), 0);
	assert_string_equal(argv[0], "qemu-system-x86_64");
	assert_string_equal(after(argv, "-name", 0), "tapyard-a,,b");
	assert_string_equal(after(argv, "-machine", 0), "q35,accel=tcg");
	assert_null(after(argv, "-cpu", 0));
	assert_string_equal(after(argv, "-m", 0), "512");
	assert_string_equal(after(argv, "-smp", 0), "1");
	assert_string_equal(after(argv, "-kernel", 0), "/img/vmlinux");
	assert_string_equal(after(argv, "-initrd", 0), "/img/initrd.cpio");
	assert_string_equal(after(argv, "-append", 0), "console=ttyS0 quiet panic=-1 tapyard.x=1");
	assert_string_equal(after(argv, "-serial", 0), "file:/run/x,,y/console.log");
	assert_string_equal(after(argv, "-chardev", 0),
			    "socket,id=agent,path=/run/x,,y/agent.sock,server=on,wait=off");
	assert_string_equal(after(argv, "-device", 1),
			    "virtserialport,chardev=agent,name=org.tapyard.agent");
	assert_string_equal(after(argv, "-qmp", 0), "unix:/run/x,,y/qmp.sock,server=on,wait=off");
	assert_string_equal(after(argv, "-netdev", 0), "tap,id=net0,fd=7");
	assert_string_equal(after(argv, "-netdev", 1), "tap,id=net1,fd=9");
	/* the empty root ports for hot-plugged NICs, then the NICs of the command line */
	assert_string_equal(after(argv, "-device", 2),
			    "pcie-root-port,id=rp0,bus=pcie.0,chassis=1");
	assert_string_equal(after(argv, "-device", 1 + QEMU_ROOT_PORTS),
			    "pcie-root-port,id=rp5,bus=pcie.0,chassis=6");
	assert_string_equal(after(argv, "-device", 3 + QEMU_ROOT_PORTS),
			    "virtio-net-pci,netdev=net1,id=nic1,mac=52:54:00:aa:bb:cc");
	assert_non_null(after(argv, "-nodefaults", 0));
	assert_non_null(after(argv, "-no-reboot", 0));
	qemu_argv_free(argv);
	o.binary = "/opt/qemu";
	o.append = NULL;
	assert_int_equal(qemu_argv(&o, QEMU_ACCEL_KVM, &argv), 0);
	assert_string_equal(argv[0], "/opt/qemu");
	assert_string_equal(after(argv, "-machine", 0), "q35,accel=kvm");
	assert_string_equal(after(argv, "-cpu", 0), "host");
	assert_string_equal(after(argv, "-append", 0), "console=ttyS0 quiet panic=-1");
	qemu_argv_free(argv);
	/* a resumed VM: its NICs named and on their root ports, the saved state incoming */
	nics[1].id = "tyl1-2";
	nics[1].bus = 3;
	o.incoming = "/tmp/a b.qemu";
	assert_int_equal(qemu_argv(&o, QEMU_ACCEL_TCG, &argv), 0);
	assert_string_equal(after(argv, "-netdev", 0), "tap,id=net0,fd=7");
	assert_string_equal(after(argv, "-netdev", 1), "tap,id=net-tyl1-2,fd=9");
	assert_string_equal(
		after(argv, "-device", 3 + QEMU_ROOT_PORTS),
		"virtio-net-pci,netdev=net-tyl1-2,id=nic-tyl1-2,mac=52:54:00:aa:bb:cc,bus=rp3");
	assert_string_equal(after(argv, "-incoming", 0), "exec:cat '/tmp/a b.qemu'");
	qemu_argv_free(argv);
	o.incoming = NULL;
	o.nnics = QEMU_NICS_MAX + 1;
	assert_int_equal(qemu_argv(&o, QEMU_ACCEL_TCG, &argv), -EINVAL);
}

static void test_accel(void **state)
{
	char why[256];

	(void)state;
	unsetenv("TAPYARD_QEMU_ACCEL");
	assert_int_equal(qemu_accel_pick(QEMU_ACCEL_TCG, why, sizeof(why)), QEMU_ACCEL_TCG);
	assert_string_equal(why, "QEMU runs with TCG, as asked");
	assert_int_equal(qemu_accel_pick(QEMU_ACCEL_KVM, NULL, 0), QEMU_ACCEL_KVM);
	setenv("TAPYARD_QEMU_ACCEL", "tcg", 1);
	assert_int_equal(qemu_accel_pick(QEMU_ACCEL_AUTO, why, sizeof(why)), QEMU_ACCEL_TCG);
	unsetenv("TAPYARD_QEMU_ACCEL");
	/* auto: whatever this host gives, the sentence says which and why */
	qemu_accel_pick(QEMU_ACCEL_AUTO, why, sizeof(why));
	assert_non_null(strstr(why, "QEMU runs with"));
}

static void test_console_tail(void **state)
{
	char path[] = "/tmp/tyvm-console-XXXXXX", buf[512];
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_true(write(fd, "one\ntwo\r\nthree\nfour\n\n", 21) == 21);
	close(fd);
	qemu_console_tail(path, 2, buf, sizeof(buf));
	assert_string_equal(buf, "  three\n  four\n");
	qemu_console_tail(path, 10, buf, sizeof(buf));
	assert_string_equal(buf, "  one\n  two\n  three\n  four\n");
	unlink(path);
	qemu_console_tail(path, 2, buf, sizeof(buf));
	assert_string_equal(buf, "");
}

static void test_start_fails(void **state)
{
	char dir[] = "/tmp/tyvm-qemu-XXXXXX", kernel[128];
	struct qemu_opts o = {
		.name = "vm1", .binary = "/nonexistent/qemu", .boot_timeout_ms = 5000};
	struct qemu_err e;
	struct qemu *q = NULL;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(kernel, sizeof(kernel), "%s/kernel", dir);
	fd = open(kernel, O_WRONLY | O_CREAT, 0644);
	close(fd);
	o.dir = dir;
	o.kernel = o.initrd = kernel;
	assert_int_equal(qemu_start(&o, &q, &e), -ECHILD);
	assert_null(q);
	assert_non_null(strstr(e.msg, "vm \"vm1\": QEMU could not be run"));
	assert_non_null(strstr(e.msg, "cannot run /nonexistent/qemu"));
	assert_non_null(strstr(e.msg, "console ("));
	o.kernel = "/nonexistent/vmlinux";
	assert_int_equal(qemu_start(&o, &q, &e), -ENOENT);
	assert_non_null(strstr(e.msg, "vm \"vm1\": kernel /nonexistent/vmlinux"));
	o.kernel = kernel;
	o.nnics = 1;
	o.nics = &(struct qemu_nic){.fd = 1000};
	assert_int_equal(qemu_start(&o, &q, &e), -EBADF);
	unlink(kernel);
	snprintf(kernel, sizeof(kernel), "%s/qemu.log", dir);
	unlink(kernel);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_accel),
		cmocka_unit_test(test_console_tail),
		cmocka_unit_test(test_start_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
