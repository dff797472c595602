/* SPDX-License-Identifier: MIT */
/*
 * guest_run: run one command as a child with a clean environment, stdin fed
 * from memory, stdout and stderr captured (bounded), a timeout that kills its
 * process group, and its exit status. The child's own setup (entering a
 * namespace guest) is a hook, so the same runner serves namespace guests
 * (guest.c) and tapyard's guest agent inside QEMU guests (control/agent/).
 */
#ifndef TAPYARD_GUEST_RUN_H
#define TAPYARD_GUEST_RUN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* What to run and how (guest_run_spawn(), guest_run_start()). */
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
	int kill_signal; /* sent to its process group at the timeout (0: SIGKILL) */
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
 * What a child does between taking its pipes and exec'ing req (enter a
 * namespace, mount, set the hostname): system calls only, and
 * guest_run_child_fail() on failure.
 */
typedef void guest_run_enter_fn(const struct guest_run_req *req, void *ctx);

/*
 * guest_run_spawn() - fork a child that calls enter(req, ctx) (when not NULL)
 * and executes req. Cheap; the caller may release its locks before
 * guest_run_wait().
 * Return: 0 with *out set, or a negative errno.
 */
int guest_run_spawn(const struct guest_run_req *req, guest_run_enter_fn *enter, void *ctx,
		    struct guest_proc **out);

/* guest_run_child_fail() - in the child: report what failed on stderr and exit 127. */
_Noreturn void guest_run_child_fail(const char *what);

/*
 * guest_run_wait() - feed stdin, collect output until the child exits (its
 * process group gets req->kill_signal at the timeout, SIGKILL on interrupt_pending() or once
 * *stop is set), then free proc. Background processes the command left
 * behind keep running.
 * @stop: NULL, or a flag another thread may set (checked every poll slice)
 * Return: 0 with *res filled, or a negative errno.
 */
int guest_run_wait(struct guest_proc *proc, const atomic_bool *stop, struct guest_run_result *res);

/*
 * Background processes: started with req.detach by guest_run_spawn() (or
 * guest_run_start()), then waited for, signalled, read and fed as often as
 * needed, and freed with guest_proc_destroy() (never guest_run_wait()).
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

struct json_t;

/* A stream's bytes as a JSON string; NULL when out of memory. */
typedef struct json_t *guest_run_bytes_fn(const char *data, size_t len);

/*
 * guest_run_result_json() - a result as the wire's RunResult object
 * (exit_code, status, signal, timed_out, stdout, stderr, *_truncated,
 * interrupted), its output encoded by bytes: the control socket keeps them
 * as they are, the agent's reply line makes them valid UTF-8.
 * Return: the object, or NULL when out of memory.
 */
struct json_t *guest_run_result_json(const struct guest_run_result *r, guest_run_bytes_fn *bytes);

#endif
