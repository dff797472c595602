/* SPDX-License-Identifier: MIT */
/*
 * qemu: one QEMU guest as a child process: its command line (q35, the
 * kernel and initramfs given directly, no firmware disk, virtio-serial for
 * the guest agent, a virtio-net NIC per TAP fd handed over), its start, the
 * wait for the agent's answer, its console log, and its stop.
 *
 * A guest keeps its files in a run directory of the caller's: console.log
 * (the guest's serial console), qemu.log (QEMU's own stderr), agent.sock (the
 * agent's virtio-serial port) and qmp.sock (QEMU's monitor, for the QMP
 * client). Every error names the VM and ends with the console's last lines.
 */
#ifndef TAPYARD_QEMU_H
#define TAPYARD_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent_client.h"

#define QEMU_NICS_MAX 16

/* Empty pcie-root-ports rp0.. on every guest's command line, for hot-plugged NICs. */
#define QEMU_ROOT_PORTS 6

/* How QEMU runs the guest's CPU. */
enum qemu_accel { QEMU_ACCEL_AUTO, QEMU_ACCEL_TCG, QEMU_ACCEL_KVM };

/* One NIC: a TAP whose fd QEMU gets, and the guest's MAC for it. */
struct qemu_nic {
	int fd; /* the caller's TAP fd (opened with IFF_VNET_HDR); QEMU gets a copy */
	uint8_t mac[6];
	const char *id; /* NULL: netdev net<i>, device nic<i>; else net-<id>, nic-<id> on root port
			   bus */
	int bus;
};

/* What qemu_start() boots. */
struct qemu_opts {
	const char *name; /* the VM's name, in messages */
	const char *dir; /* the run directory (exists) */
	const char *kernel, *initrd; /* an image's files (image_files()) */
	const char *append; /* more kernel command line, or NULL */
	const char *incoming; /* NULL, or a saved state to resume (-incoming, qemu_resume()) */
	unsigned int memory_mb; /* 0: 256 */
	unsigned int cpus; /* 0: 1 */
	enum qemu_accel accel;
	const struct qemu_nic *nics;
	size_t nnics;
	const char *binary; /* NULL: qemu-system-x86_64 from PATH */
	unsigned int boot_timeout_ms; /* until the agent answers; 0: 60 s */
	/*
	 * QEMU gets SIGKILL when the thread that started it ends (PR_SET_PDEATHSIG):
	 * for a process that keeps no record to clean up after it, whose guests
	 * are started from a thread that lives as long as it (the Lua runner's).
	 */
	bool die_with_parent;
};

/* A message naming the VM and what failed, with the console's last lines. */
struct qemu_err {
	char msg[4096];
};

/*
 * qemu_accel_pick() - the accelerator for want: KVM only when asked for or
 * (auto) when /dev/kvm opens and the host is no nested PVM guest, where KVM
 * guests hang in early boot; TCG otherwise. $TAPYARD_QEMU_ACCEL (kvm, tcg)
 * overrides auto. why (may be NULL) receives a sentence saying which and why.
 */
enum qemu_accel qemu_accel_pick(enum qemu_accel want, char *why, size_t size);

/*
 * qemu_argv() - the QEMU command line for o, with accel (KVM or TCG) and the
 * NICs' fds as they are numbered in the caller (the child keeps them).
 * Return: 0 with *argv set (NULL-terminated; free with qemu_argv_free()), or
 * -ENOMEM, -EINVAL (too many NICs).
 */
int qemu_argv(const struct qemu_opts *o, enum qemu_accel accel, char ***argv);

/* Free a command line of qemu_argv(). */
void qemu_argv_free(char **argv);

struct qemu;

/*
 * qemu_start() - start QEMU for o and wait until the guest agent answers
 * hello (or o->boot_timeout_ms pass, QEMU exits, or interrupt_pending()): a VM
 * whose agent is ready, or an error with its console's last lines (QEMU is then
 * stopped).
 * Return: 0 with *out set, or a negative errno with e filled.
 */
int qemu_start(const struct qemu_opts *o, struct qemu **out, struct qemu_err *e);

/*
 * qemu_launch() - qemu_start() without the wait: QEMU is running (its agent
 * not yet answering) when it returns 0 with *out set; qemu_wait_ready() waits.
 */
int qemu_launch(const struct qemu_opts *o, struct qemu **out, struct qemu_err *e);

/*
 * qemu_wait_ready() - wait until the agent of a launched VM answers hello (at
 * most until the boot deadline of its qemu_opts): 0 (at once when it answered
 * before), or a negative errno with e filled (the VM is left for qemu_stop()).
 */
int qemu_wait_ready(struct qemu *q, struct qemu_err *e);

/* The start time of process pid in clock ticks since boot (/proc/PID/stat), 0 if unknown. */
unsigned long long qemu_pid_start(pid_t pid);

/* The VM's run directory. */
const char *qemu_dir(const struct qemu *q);

/* QEMU's start time (qemu_pid_start()), so a record never names a reused pid. */
unsigned long long qemu_start_ticks(const struct qemu *q);

/*
 * qemu_resume() - for a VM launched with o->incoming: wait (at most until its
 * boot deadline) until QEMU has loaded the saved state, then let it run. The
 * agent answers from where it was (qemu_wait_ready()).
 * Return: 0 or a negative errno with e filled.
 */
int qemu_resume(struct qemu *q, struct qemu_err *e);

/*
 * qemu_save() - write the VM's whole state (memory, devices) to path, paused,
 * through QMP migrate, wait until it is done (at most timeout_ms), and let the
 * VM run on. Return: 0 or a negative errno with e filled.
 */
int qemu_save(struct qemu *q, const char *path, unsigned int timeout_ms, struct qemu_err *e);

/* The VM's agent connection (owned by the VM). */
struct agent_client *qemu_agent(struct qemu *q);

/* QEMU's pid. */
pid_t qemu_pid(const struct qemu *q);

/* Milliseconds from QEMU's start until the agent answered. */
uint64_t qemu_boot_ms(const struct qemu *q);

/*
 * qemu_stop() - stop QEMU (SIGTERM, SIGKILL after 2 s), reap it, remove its
 * sockets (the logs stay) and free q. NULL is a no-op.
 */
void qemu_stop(struct qemu *q);

/*
 * qemu_console_tail() - the last lines (at most lines, 2 KiB) of a log file
 * into buf, each indented by two spaces; "" when there is none.
 */
void qemu_console_tail(const char *path, unsigned int lines, char *buf, size_t size);

#endif
