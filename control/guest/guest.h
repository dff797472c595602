/* SPDX-License-Identifier: MIT */
/*
 * guest: network-namespace guests. A guest is an anonymous network namespace
 * (held by an fd, so nothing outlives the process except processes still
 * running inside it, which guest_destroy() kills), its loopback up. NICs are
 * links moved into it (renamed, addressed, up). Commands run inside it in a
 * fresh mount and UTS namespace, with /sys showing the guest's links, a hosts
 * file of the caller's choice bind-mounted over /etc/hosts (as `ip netns
 * exec` does with /etc/netns/NAME/hosts), a clean environment and captured
 * output. No JSON here: ctl_guest.c maps the commands onto this.
 */
#ifndef TAPYARD_GUEST_H
#define TAPYARD_GUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct guest;

/* Options for guest_create(). */
struct guest_opts {
	bool ipv6; /* keep IPv6 on (off by default: no router solicitations or MLD noise) */
};

/*
 * guest_create() - a new network namespace with lo up.
 * Return: 0 with *out set, or a negative errno (-EPERM without CAP_SYS_ADMIN).
 */
int guest_create(const struct guest_opts *opts, struct guest **out);

/* Kill every process inside the guest, close its namespace and free it. NULL is a no-op. */
void guest_destroy(struct guest *g);

/* The guest's network namespace fd (owned by the guest). */
int guest_netns_fd(const struct guest *g);

/*
 * guest_kill_all() - SIGKILL every process whose network namespace is the
 * guest's, until none is left. Return: how many were killed.
 */
int guest_kill_all(struct guest *g);

/* How a link moved into a guest is set up (guest_link_adopt()). */
struct guest_link {
	const char *ifname; /* its name inside */
	const uint8_t *mac; /* its Ethernet address, or NULL to keep it */
	uint32_t addr; /* IPv4 address, network byte order; 0 for none */
	unsigned int prefix;
};

/*
 * guest_link_adopt() - move link ifindex from namespace src_netns_fd into the
 * guest, named, addressed and up as l says, and wait (up to 2 s) until it is
 * running. Return: 0 or a negative errno.
 */
int guest_link_adopt(struct guest *g, int src_netns_fd, int ifindex, const struct guest_link *l);

/*
 * guest_link_rename() - rename the guest's link from to to; the link is taken
 * down for the rename and brought up again (its addresses stay).
 */
int guest_link_rename(struct guest *g, const char *from, const char *to);

/*
 * guest_link_wait() - wait up to timeout_ms until link ifname inside the guest
 * has (lower_up true) or lacks carrier. With carrier back, the neighbours the
 * guest failed to resolve meanwhile are forgotten, so that its next packet
 * to them asks again at once (a plugged cable's first ping works).
 * Return: 0, -ETIMEDOUT or -errno.
 */
int guest_link_wait(struct guest *g, const char *ifname, bool lower_up, unsigned int timeout_ms);

/* What to run and how (guest_run_start()). */
struct guest_run_req {
	const char *cmd; /* run with /bin/sh -c, unless argv is given */
	const char *const *argv; /* NULL-terminated; argv[0] searched in the clean PATH */
	const char *const *env; /* extra "K=V" entries, NULL-terminated (may be NULL) */
	const char *stdin_data; /* fed to stdin (NULL: /dev/null) */
	size_t stdin_len;
	const char *hosts; /* file bind-mounted over /etc/hosts (NULL: none) */
	const char *hostname; /* UTS hostname inside (NULL: unchanged) */
	const char *cwd; /* working directory (NULL: /) */
	uint64_t timeout_ms; /* 0: no timeout */
	size_t max_output; /* bytes kept per stream (0: 1 MiB) */
	/*
	 * A background process (guest_proc_*()): stdout and stderr go to memory
	 * files read whenever asked, stdin is a pipe kept open for
	 * guest_proc_write(); stdin_data and timeout_ms are not used.
	 */
	bool detach;
};

enum guest_run_status { GUEST_RUN_EXITED, GUEST_RUN_SIGNALLED, GUEST_RUN_TIMED_OUT };

/* What a run produced (guest_run_wait()); free with guest_run_result_free(). */
struct guest_run_result {
	enum guest_run_status status;
	int exit_code; /* the exit status; -1 when signalled, -2 when timed out */
	int signal; /* the signal that ended it, or 0 */
	char *out, *err; /* NUL-terminated, may contain NULs before out_len/err_len */
	size_t out_len, err_len;
	bool out_truncated, err_truncated;
	bool interrupted; /* the interrupt flag (interrupt.h) ended the wait */
};

/* A started run: the child and its pipes. */
struct guest_proc;

/*
 * guest_run_start() - fork a child that enters the guest and executes req.
 * Cheap; the caller may release its locks before guest_run_wait().
 * Return: 0 with *out set, or a negative errno.
 */
int guest_run_start(struct guest *g, const struct guest_run_req *req, struct guest_proc **out);

/*
 * guest_run_wait() - feed stdin, collect output until the child exits (its
 * process group is SIGKILLed at the timeout, on interrupt_pending() or once
 * *stop is set), then free proc. Background processes the command left
 * behind keep running.
 * @stop: NULL, or a flag another thread may set (checked every poll slice)
 * Return: 0 with *res filled, or a negative errno.
 */
int guest_run_wait(struct guest_proc *proc, const atomic_bool *stop, struct guest_run_result *res);

/*
 * Background processes: started with req.detach by guest_run_start(), then
 * waited for, signalled, read and fed as often as needed, and freed with
 * guest_proc_destroy() (never guest_run_wait()).
 */

/*
 * guest_proc_wait() - wait up to timeout_ms (-1: no limit) for the process to
 * exit; does not reap it, so another thread may call this while the owner
 * reads it.
 * @stop: NULL, or a flag another thread may set
 * Return: 0 when it exited, -ETIMEDOUT, -ECANCELED (*stop or the interrupt flag).
 */
int guest_proc_wait(struct guest_proc *p, int64_t timeout_ms, const atomic_bool *stop);

/* Send sig to the process's group (it leads one). Returns 0, or -ESRCH once it was reaped. */
int guest_proc_signal(struct guest_proc *p, int sig);

/* The process id (as the host sees it). */
pid_t guest_proc_pid(const struct guest_proc *p);

/*
 * guest_proc_result() - what the process wrote so far (up to max_output of
 * each stream) and, once it exited (reaped here), how it ended.
 * @timed_out: report it as timed out (the caller killed it at its deadline)
 * Return: 1 when it has exited, 0 while it runs (status and exit_code unset),
 * or a negative errno; free res with guest_run_result_free().
 */
int guest_proc_result(struct guest_proc *p, bool timed_out, struct guest_run_result *res);

/*
 * guest_proc_write() - write to the process's stdin, waiting up to 1 s for
 * room. Return: bytes written, or -EPIPE (stdin closed or nobody reads), -EAGAIN.
 */
ssize_t guest_proc_write(struct guest_proc *p, const char *data, size_t len);

/* Close the process's stdin (it reads EOF). */
void guest_proc_close_stdin(struct guest_proc *p);

/* SIGKILL the process's group if it still runs, reap it, free p. NULL is a no-op. */
void guest_proc_destroy(struct guest_proc *p);

/* Free the buffers of a result. */
void guest_run_result_free(struct guest_run_result *res);

/* Parse "10.1.0.0/24" (or an address without prefix: /32). Returns 0 or -EINVAL. */
int guest_parse_cidr(const char *s, uint32_t *addr, unsigned int *prefix);

#endif
