/* SPDX-License-Identifier: MIT */
/*
 * server: the Unix control socket. A poll() loop accepts clients, reads
 * request lines into a per-client buffer, dispatches each complete line and
 * queues its reply in a per-client output buffer flushed as the socket takes
 * it.
 *
 * A client's life: accepted (peer uid or group and client cap checked, else
 * one error line and closed) -> serving (read, dispatch, flush) -> closing (after an
 * oversize line: flush the error, then close) or eof (the client shut its
 * side: finish the requests already read, flush, close). A send or read
 * error drops the client at once. Output waiting beyond CTL_CONN_OUT_HIGH
 * pauses reading from that client, so a client that never reads cannot make
 * the server grow without bound.
 *
 * A request for a command that may block (ctl_text_may_block(): capture/read,
 * which may wait for frames, and guest/run, which waits for a process) is a job: a worker thread
 * dispatches it while the loop serves everyone else. Its client is paused meanwhile (no reading, no
 * further lines: replies stay in request order) and resumes when the worker,
 * done, wakes the loop through an eventfd and is joined. A client that hangs
 * up meanwhile is closed at once; its job is told to stop (the wait ends
 * within a few milliseconds), its reply dropped when it ends. At most
 * SERVER_MAX_BLOCKING jobs run; a request beyond that gets an EBUSY reply.
 * server_destroy() stops and joins the jobs still running.
 */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

#define CTL_CONN_OUT_HIGH (256 * 1024) /* stop reading a client with this much unsent */
#define CTL_CONN_IN_MAX (SERVER_LINE_MAX + 1) /* a longest line and its newline */
#define CTL_ACCEPT_BATCH 64
#define CTL_PFD_FIRST_CONN 3 /* stop fd, listening socket, job eventfd, then the clients */

struct server;

/* A request running on a worker thread. */
struct ctl_job {
	bool used; /* a worker runs it, or ran it and waits to be joined */
	struct server *srv;
	struct ctl_conn *conn; /* who gets the reply; NULL once the client left */
	pthread_t thread;
	char *line; /* the request (without its newline) */
	size_t len;
	char *reply; /* set by the worker before done */
	struct ctl_caller caller; /* who sent it */
	atomic_bool stop; /* the loop's request to end a wait early */
	atomic_bool done;
};

struct ctl_conn {
	int fd; /* -1: free slot */
	char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_off, out_len, out_cap; /* bytes out[out_off, out_len) wait to be sent */
	bool eof; /* the client will send nothing more */
	bool closing; /* close once the output is flushed */
	struct ctl_job *job; /* its running request: no further line until it is answered */
	struct ctl_caller caller; /* who it is, as admitted */
	uint64_t line_since_ms; /* when its unfinished request line began; 0: none */
	struct server *srv; /* whose replies' budget its output counts in */
};

struct server {
	struct ctl *ctl;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev;
	ino_t ino;
	uid_t uid;
	bool group_set;
	gid_t group;
	unsigned int max_clients, nconns;
	unsigned int slots; /* max_clients, and the owner's reserve beyond them */
	unsigned int line_ms; /* how long a request line may stay unfinished */
	size_t out_budget, out_queued; /* replies queued and not yet sent, all clients */
	struct ctl_conn *conns; /* slots of them */
	struct pollfd *pfds; /* stop fd, listening socket, job eventfd, then one per client */
	unsigned int *pfd_conn; /* slot of each client pollfd */
	int job_fd; /* eventfd: a worker is done */
	struct ctl_job jobs[SERVER_MAX_BLOCKING];
	struct log_ratelimit rl;
};

static int server_addr(const char *path, struct sockaddr_un *addr)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(addr->sun_path))
		return -ENAMETOOLONG;
	strcpy(addr->sun_path, path);
	return 0;
}

/* Is a server listening on path? Optionally remove a stale socket. */
static int server_check(const char *path, bool remove_stale)
{
	struct sockaddr_un addr;
	struct stat st;
	int fd, err;

	err = server_addr(path, &addr);
	if (err)
		return err;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	err = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	close(fd);
	if (err == 0 || err == -EAGAIN)
		return -EADDRINUSE; /* accepted, or listening with a full backlog */
	if (err != -ECONNREFUSED)
		return err;
	if (remove_stale && unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int server_probe(const char *path)
{
	return server_check(path, false);
}

/*
 * Give the socket bound at path (mode 0600 from bind's umask) to the
 * server's group with mode 0660, never following a link put in its place,
 * then check that path is still a socket. Returns 0 or -1 with errno set.
 */
static int server_chmod(struct server *srv, const char *path, struct stat *st)
{
	if (srv->group_set && (lchown(path, (uid_t)-1, srv->group) < 0 ||
			       fchmodat(AT_FDCWD, path, 0660, AT_SYMLINK_NOFOLLOW) < 0))
		return -1;
	if (lstat(path, st) < 0)
		return -1;
	if (!S_ISSOCK(st->st_mode)) {
		errno = ELOOP;
		return -1;
	}
	return 0;
}

/* Bind and listen on path with mode 0600 (0660 for a group); fills srv->fd, dev and ino. */
static int server_listen(struct server *srv, const char *path)
{
	struct sockaddr_un addr;
	struct stat st;
	mode_t old;
	int err;

	err = server_addr(path, &addr);
	if (err)
		return err;
	srv->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (srv->fd < 0)
		return -errno;
	old = umask(0177);
	err = bind(srv->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ? -errno : 0;
	umask(old);
	if (err)
		return err;
	if (server_chmod(srv, path, &st) < 0 || listen(srv->fd, 128) < 0) {
		err = -errno;
		unlink(path);
		return err;
	}
	srv->dev = st.st_dev;
	srv->ino = st.st_ino;
	snprintf(srv->path, sizeof(srv->path), "%s", path);
	return 0;
}

int server_create(struct ctl *ctl, const char *path, const struct server_opts *opts,
		  struct server **out)
{
	struct server *srv;
	unsigned int max;
	int err;

	max = opts && opts->max_clients ? opts->max_clients : SERVER_DEFAULT_CLIENTS;
	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->fd = -1;
	srv->job_fd = -1;
	srv->ctl = ctl;
	srv->uid = geteuid();
	srv->max_clients = max;
	srv->line_ms = opts && opts->line_ms ? opts->line_ms : SERVER_LINE_MS;
	srv->out_budget = opts && opts->out_budget ? opts->out_budget : SERVER_OUT_BUDGET;
	if (opts) {
		srv->group_set = opts->group_set;
		srv->group = opts->group;
	}
	srv->slots = max + SERVER_OWNER_RESERVE;
	srv->conns = calloc(srv->slots, sizeof(*srv->conns));
	srv->pfds = calloc(srv->slots + CTL_PFD_FIRST_CONN, sizeof(*srv->pfds));
	srv->pfd_conn = calloc(srv->slots + CTL_PFD_FIRST_CONN, sizeof(*srv->pfd_conn));
	err = -ENOMEM;
	if (!srv->conns || !srv->pfds || !srv->pfd_conn)
		goto err_free;
	srv->job_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (srv->job_fd < 0) {
		err = -errno;
		goto err_free;
	}
	for (unsigned int i = 0; i < srv->slots; i++)
		srv->conns[i].fd = -1;
	err = server_check(path, true);
	if (err)
		goto err_free;
	err = server_listen(srv, path);
	if (err)
		goto err_free;
	*out = srv;
	return 0;

err_free:
	server_destroy(srv);
	return err;
}

static void ctl_conn_close(struct server *srv, struct ctl_conn *c)
{
	log_debug("control client %d closed", c->fd);
	if (c->job) { /* nobody waits for its reply: end it soon */
		c->job->conn = NULL;
		atomic_store(&c->job->stop, true);
	}
	close(c->fd);
	srv->out_queued -= c->out_len - c->out_off;
	free(c->in);
	free(c->out);
	if (c->out_cap > SERVER_TRIM_OVER)
		malloc_trim(0); /* hand a big reply's memory back, not keep it for the next */
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	srv->nconns--;
}

/* Queue len bytes of s and a newline for the client. Returns 0 or -ENOMEM. */
static int ctl_conn_queue(struct ctl_conn *c, const char *s, size_t len)
{
	size_t need, cap;
	char *grown;

	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	need = c->out_len + len + 1;
	if (need > c->out_cap) {
		cap = c->out_cap ? c->out_cap : 4096;
		while (cap < need)
			cap *= 2;
		grown = realloc(c->out, cap);
		if (!grown)
			return -ENOMEM;
		c->out = grown;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, len);
	c->out[c->out_len + len] = '\n';
	c->out_len = need;
	c->srv->out_queued += len + 1;
	return 0;
}

/* Queue a reply to the client. Returns 0 or -ENOMEM. */
static int ctl_conn_queue_reply(struct ctl_conn *c, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	int err;

	json_decref(reply);
	if (!text)
		return -ENOMEM;
	err = ctl_conn_queue(c, text, strlen(text));
	free(text);
	return err;
}

/*
 * Queue the reply text of a command, unless all the replies queued and not
 * yet read by their clients would pass the server's budget with it: then an
 * error says so instead, so that clients that never read cannot make the
 * daemon hold their replies without bound. Returns 0 or -ENOMEM.
 */
static int ctl_conn_queue_result(struct ctl_conn *c, const char *text)
{
	size_t len = strlen(text);
	struct server *srv = c->srv;

	if (srv->out_queued + len + 1 <= srv->out_budget)
		return ctl_conn_queue(c, text, len);
	return ctl_conn_queue_reply(
		c,
		ctl_error_reply(-ENOBUFS,
				"reply of %zu bytes refused: the daemon holds %zu bytes of replies "
				"not yet read (at most %zu); read yours, or ask for less (max)",
				len, srv->out_queued, srv->out_budget));
}

static void *ctl_job_run(void *arg)
{
	struct ctl_job *job = arg;
	int fd = job->srv->job_fd;

	job->reply =
		ctl_dispatch_text_as(job->srv->ctl, job->line, job->len, &job->caller, &job->stop);
	atomic_store(&job->done, true);
	eventfd_write(fd, 1); /* only fails when the counter would overflow: it is awake then */
	return NULL;
}

/*
 * Run request line on a worker thread, its reply to go to client c. The
 * worker blocks every signal: they stay with the threads that wait for them.
 * Return: 0, -EBUSY (SERVER_MAX_BLOCKING run), -ENOMEM or pthread_create's -errno.
 */
static int ctl_job_start(struct server *srv, struct ctl_conn *c, const char *line, size_t len)
{
	struct ctl_job *job = NULL;
	sigset_t all, old;
	int err;

	for (unsigned int i = 0; !job && i < SERVER_MAX_BLOCKING; i++)
		job = srv->jobs[i].used ? NULL : &srv->jobs[i];
	if (!job)
		return -EBUSY;
	job->line = malloc(len);
	if (!job->line)
		return -ENOMEM;
	memcpy(job->line, line, len);
	job->len = len;
	job->srv = srv;
	job->conn = c;
	job->caller = c->caller;
	job->reply = NULL;
	atomic_store(&job->stop, false);
	atomic_store(&job->done, false);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = -pthread_create(&job->thread, NULL, ctl_job_run, job);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		free(job->line);
		job->line = NULL;
		return err;
	}
	job->used = true;
	c->job = job;
	return 0;
}

/* The reply to a blocking request that no worker could take (err), with the request's id. */
static json_t *ctl_job_refusal(const char *line, size_t len, int err)
{
	json_t *req = json_loadb(line, len, JSON_DECODE_ANY, NULL), *reply, *id;

	if (err == -EBUSY)
		reply = ctl_error_reply(err,
					"too many blocking requests running (%d); try again later",
					SERVER_MAX_BLOCKING);
	else
		reply = ctl_error_reply(err, "cannot run a blocking request: %s", strerror(-err));
	id = json_object_get(req, "id");
	if (id)
		json_object_set(reply, "id", id);
	json_decref(req);
	return reply;
}

/* Dispatch one request line (without its newline), or hand it to a worker. */
static int ctl_conn_request(struct server *srv, struct ctl_conn *c, char *line, size_t len)
{
	char *reply;
	int err;

	if (len && line[len - 1] == '\r')
		len--;
	if (!len)
		return 0;
	if (ctl_text_may_block(line, len)) {
		err = ctl_job_start(srv, c, line, len);
		if (!err)
			return 0; /* answered when the worker is done */
		err = ctl_conn_queue_reply(c, ctl_job_refusal(line, len, err));
	} else {
		reply = ctl_dispatch_text_as(srv->ctl, line, len, &c->caller, NULL);
		err = ctl_conn_queue_result(c, reply);
		free(reply);
	}
	return err;
}

/* Handle the complete lines read so far, while the output backlog allows. */
static int ctl_conn_process(struct server *srv, struct ctl_conn *c)
{
	size_t start = 0, len;
	char *nl;
	int err = 0;

	while (!err && !c->closing && !c->job && c->out_len - c->out_off < CTL_CONN_OUT_HIGH) {
		nl = memchr(c->in + start, '\n', c->in_len - start);
		if (nl) {
			len = (size_t)(nl - (c->in + start));
			err = ctl_conn_request(srv, c, c->in + start, len);
			start += len + 1;
		} else if (c->in_len - start >= CTL_CONN_IN_MAX) {
			err = ctl_conn_queue_reply(
				c, ctl_error_reply(-EMSGSIZE, "request line longer than %d bytes",
						   SERVER_LINE_MAX));
			c->closing = true;
		} else if (c->eof && c->in_len > start) {
			/* A last request without its newline. */
			err = ctl_conn_request(srv, c, c->in + start, c->in_len - start);
			start = c->in_len;
		} else {
			break;
		}
	}
	memmove(c->in, c->in + start, c->in_len - start);
	c->in_len -= start;
	/* What is left is one unfinished line (a client sending it a byte a second, say). */
	if (!c->in_len || c->job || c->closing)
		c->line_since_ms = 0;
	else if (!c->line_since_ms)
		c->line_since_ms = clock_mono_ms();
	return err;
}

/* Read what the client sent. Returns 0 or a negative errno (drop the client). */
static int ctl_conn_read(struct ctl_conn *c)
{
	size_t cap;
	ssize_t n;
	char *grown;

	if (c->in_len == c->in_cap) {
		cap = c->in_cap ? c->in_cap * 2 : 4096;
		if (cap > CTL_CONN_IN_MAX)
			cap = CTL_CONN_IN_MAX;
		if (cap == c->in_cap)
			return 0; /* full: wait until the lines in it are handled */
		grown = realloc(c->in, cap);
		if (!grown)
			return -ENOMEM;
		c->in = grown;
		c->in_cap = cap;
	}
	n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (n == 0)
		c->eof = true;
	c->in_len += (size_t)n;
	return 0;
}

/* Send queued output. Returns 0 (sent or would block) or a negative errno. */
static int ctl_conn_flush(struct ctl_conn *c)
{
	ssize_t n;

	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -errno;
		c->out_off += (size_t)n;
		c->srv->out_queued -= (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

static bool ctl_conn_pending(const struct ctl_conn *c)
{
	return c->out_off < c->out_len;
}

/* True when the client has nothing more to say or hear. */
static bool ctl_conn_done(const struct ctl_conn *c)
{
	if (ctl_conn_pending(c) || c->job)
		return false;
	return c->closing || (c->eof && !c->in_len);
}

/* Handle the lines read and flush, unless err; closes the client when it is done or broken. */
static void ctl_conn_advance(struct server *srv, struct ctl_conn *c, int err)
{
	while (!err) {
		err = ctl_conn_process(srv, c);
		if (!err)
			err = ctl_conn_flush(c);
		if (err || ctl_conn_pending(c) || c->closing || c->job ||
		    !memchr(c->in, '\n', c->in_len))
			break;
	}
	if (err && err != -EPIPE && err != -ECONNRESET)
		log_debug("control client %d: %s", c->fd, strerror(-err));
	if (err || ctl_conn_done(c))
		ctl_conn_close(srv, c);
}

/* Handle poll events of one client. */
static void ctl_conn_service(struct server *srv, struct ctl_conn *c, short revents)
{
	int err = 0;

	if (c->job && (revents & (POLLHUP | POLLERR)))
		err = -ECONNRESET; /* gone while its request runs; not read meanwhile */
	else if (revents & (POLLIN | POLLHUP))
		err = ctl_conn_read(c);
	if (!err && (revents & POLLERR) && !(revents & POLLIN))
		err = -ECONNRESET;
	ctl_conn_advance(srv, c, err);
}

/* Join a job's worker, queue its reply if its client is still there, free it. */
static void ctl_job_finish(struct server *srv, struct ctl_job *job)
{
	struct ctl_conn *c = job->conn;
	int err = 0;

	pthread_join(job->thread, NULL);
	if (c) {
		c->job = NULL;
		err = ctl_conn_queue_result(c, job->reply);
	}
	free(job->line);
	free(job->reply);
	job->line = job->reply = NULL;
	job->conn = NULL;
	job->used = false;
	if (c)
		ctl_conn_advance(srv, c, err); /* the lines that waited behind it */
}

/* Finish the jobs whose workers are done. */
static void server_reap(struct server *srv)
{
	eventfd_t n;

	eventfd_read(srv->job_fd, &n); /* EAGAIN: a wakeup already consumed; done says */
	for (unsigned int i = 0; i < SERVER_MAX_BLOCKING; i++) {
		if (srv->jobs[i].used && atomic_load(&srv->jobs[i].done))
			ctl_job_finish(srv, &srv->jobs[i]);
	}
}

/* Refuse a new client with one error line (best effort) and close it. */
static void server_refuse(struct server *srv, int fd, json_t *reply)
{
	char *text = json_dumps(reply, JSON_COMPACT);
	const char *msg =
		json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
	struct iovec iov[2] = {{text, text ? strlen(text) : 0}, {"\n", 1}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};

	log_ratelimited(&srv->rl, LOG_LVL_WARN, "control socket: %s", msg ? msg : "refused");
	if (text && sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("control socket: refusal not sent: %s", strerror(errno));
	free(text);
	json_decref(reply);
	close(fd);
}

/* Is gid among the supplementary groups of process pid, as /proc/PID/status says? */
static bool server_proc_in_group(pid_t pid, gid_t gid)
{
	char path[64], *line = NULL, *p, *end;
	bool found = false;
	size_t cap = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (getline(&line, &cap, f) > 0) {
		if (strncmp(line, "Groups:", 7) != 0)
			continue;
		for (p = line + 7; !found; p = end) {
			unsigned long g = strtoul(p, &end, 10);

			if (end == p)
				break;
			found = g == gid;
		}
		break;
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * Who the peer is: uid, gid and supplementary groups as of connect()
 * (SO_PEERGROUPS; none where that is missing, and at most OPENAS_GROUPS: a
 * file opened for it then has fewer rights, never more).
 */
static void server_peer_caller(struct server *srv, int fd, const struct ucred *cred,
			       struct ctl_caller *c)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);
	size_t n = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
		n = len / sizeof(gid_t);
	*c = (struct ctl_caller){.member = cred->uid != 0 && cred->uid != srv->uid,
				 .cred = {.uid = cred->uid, .gid = cred->gid}};
	for (size_t i = 0; i < n && c->cred.ngroups < OPENAS_GROUPS; i++)
		c->cred.groups[c->cred.ngroups++] = groups[i];
}

/*
 * Is the peer a member of the server's group? Its supplementary groups as of
 * connect() come from SO_PEERGROUPS; /proc/PID/status where that is missing.
 */
static bool server_peer_in_group(struct server *srv, int fd, const struct ucred *cred)
{
	gid_t groups[256];
	socklen_t len = sizeof(groups);

	if (!srv->group_set)
		return false;
	if (cred->gid == srv->group)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return server_proc_in_group(cred->pid, srv->group);
	for (size_t i = 0; i < len / sizeof(gid_t); i++) {
		if (groups[i] == srv->group)
			return true;
	}
	return false;
}

/* How many clients of uid are connected. */
static unsigned int server_count_uid(const struct server *srv, uid_t uid)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < srv->slots; i++)
		n += srv->conns[i].fd >= 0 && srv->conns[i].caller.cred.uid == uid;
	return n;
}

/* Root and the daemon's user, who may use the reserve and have no per-user cap. */
static bool server_owner(const struct server *srv, const struct ucred *cred)
{
	return cred->uid == 0 || cred->uid == srv->uid;
}

/* The most clients one other user may have at once, so that no user locks out the others. */
static unsigned int server_per_uid(const struct server *srv)
{
	unsigned int n = srv->max_clients / SERVER_PER_UID_SHARE;

	return n ? n : 1;
}

/*
 * Is there no room for a client of cred? Others share max_clients, each user
 * at most server_per_uid() of them; root and the daemon's user also have
 * SERVER_OWNER_RESERVE slots beyond, so that no number of others locks them out.
 */
static bool server_full(const struct server *srv, const struct ucred *cred)
{
	if (server_owner(srv, cred))
		return srv->nconns >= srv->slots;
	return srv->nconns >= srv->max_clients ||
	       server_count_uid(srv, cred->uid) >= server_per_uid(srv);
}

static json_t *server_full_reply(const struct server *srv, const struct ucred *cred)
{
	if (!server_owner(srv, cred) && srv->nconns < srv->max_clients)
		return ctl_error_reply(-EBUSY,
				       "too many control clients of uid %u (%u at most); try again "
				       "later",
				       (unsigned int)cred->uid, server_per_uid(srv));
	return ctl_error_reply(-EBUSY, "too many control clients (%u connected); try again later",
			       srv->nconns);
}

/* Admit a new client, or refuse it with a reason. */
static void server_admit(struct server *srv, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
		server_refuse(srv, fd, ctl_error_reply(-errno, "cannot read peer credentials"));
		return;
	}
	if (cred.uid != 0 && cred.uid != srv->uid && !server_peer_in_group(srv, fd, &cred)) {
		server_refuse(
			srv, fd,
			ctl_error_reply(-EACCES,
					"permission denied: uid %u may not use the control socket",
					(unsigned int)cred.uid));
		return;
	}
	if (server_full(srv, &cred)) {
		server_refuse(srv, fd, server_full_reply(srv, &cred));
		return;
	}
	for (unsigned int i = 0; i < srv->slots; i++) {
		if (srv->conns[i].fd < 0) {
			srv->conns[i].fd = fd;
			srv->conns[i].srv = srv;
			server_peer_caller(srv, fd, &cred, &srv->conns[i].caller);
			srv->nconns++;
			log_debug("control client %d connected (pid %d, uid %u)", fd, (int)cred.pid,
				  (unsigned int)cred.uid);
			return;
		}
	}
}

static void server_accept(struct server *srv)
{
	int fd;

	for (int i = 0; i < CTL_ACCEPT_BATCH; i++) {
		fd = accept4(srv->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_ratelimited(&srv->rl, LOG_LVL_WARN,
						"control socket: accept: %s", strerror(errno));
			return;
		}
		server_admit(srv, fd);
	}
}

/* Fill srv->pfds for the next poll(); returns how many entries. */
static nfds_t server_pollset(struct server *srv, int stop_fd)
{
	struct ctl_conn *c;
	nfds_t n = CTL_PFD_FIRST_CONN;

	srv->pfds[0] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
	srv->pfds[1] = (struct pollfd){.fd = srv->fd, .events = POLLIN};
	srv->pfds[2] = (struct pollfd){.fd = srv->job_fd, .events = POLLIN};
	for (unsigned int i = 0; i < srv->slots; i++) {
		c = &srv->conns[i];
		if (c->fd < 0)
			continue;
		srv->pfds[n] = (struct pollfd){.fd = c->fd};
		if (!c->eof && !c->closing && !c->job &&
		    c->out_len - c->out_off < CTL_CONN_OUT_HIGH)
			srv->pfds[n].events |= POLLIN;
		if (ctl_conn_pending(c))
			srv->pfds[n].events |= POLLOUT;
		srv->pfd_conn[n++] = i;
	}
	return n;
}

/*
 * Close the clients whose request line stayed unfinished past srv->line_ms,
 * saying why. Returns how long until the next one is due (ms), or -1: none.
 */
static int server_sweep(struct server *srv)
{
	uint64_t now = clock_mono_ms(), due, next = UINT64_MAX;
	struct ctl_conn *c;

	for (unsigned int i = 0; i < srv->slots; i++) {
		c = &srv->conns[i];
		if (c->fd < 0 || !c->line_since_ms)
			continue;
		due = c->line_since_ms + srv->line_ms;
		if (due > now) {
			next = due < next ? due : next;
			continue;
		}
		c->line_since_ms = 0;
		c->in_len = 0;
		c->closing = true;
		ctl_conn_advance(
			srv, c,
			ctl_conn_queue_reply(
				c, ctl_error_reply(-ETIMEDOUT,
						   "request line not finished within %u ms",
						   srv->line_ms)));
	}
	return next == UINT64_MAX ? -1 : (int)(next - now);
}

int server_run(struct server *srv, int stop_fd)
{
	nfds_t n;

	for (;;) {
		int timeout = server_sweep(srv);

		n = server_pollset(srv, stop_fd);
		if (poll(srv->pfds, n, timeout) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (srv->pfds[0].revents)
			return 0;
		for (nfds_t i = CTL_PFD_FIRST_CONN; i < n; i++) {
			if (srv->pfds[i].revents)
				ctl_conn_service(srv, &srv->conns[srv->pfd_conn[i]],
						 srv->pfds[i].revents);
		}
		/* After the clients: a reply may close its client, whose revents are used. */
		if (srv->pfds[2].revents & POLLIN)
			server_reap(srv);
		if (srv->pfds[1].revents & POLLIN)
			server_accept(srv);
	}
}

void server_destroy(struct server *srv)
{
	struct stat st;

	if (!srv)
		return;
	for (unsigned int i = 0; srv->conns && i < srv->slots; i++) {
		if (srv->conns[i].fd >= 0)
			ctl_conn_close(srv, &srv->conns[i]);
	}
	for (unsigned int i = 0; i < SERVER_MAX_BLOCKING; i++) {
		if (!srv->jobs[i].used)
			continue;
		atomic_store(&srv->jobs[i].stop, true);
		ctl_job_finish(srv, &srv->jobs[i]);
	}
	if (srv->job_fd >= 0)
		close(srv->job_fd);
	if (srv->fd >= 0) {
		close(srv->fd);
		/* Remove the socket only if it is still ours. */
		if (srv->path[0] && stat(srv->path, &st) == 0 && st.st_dev == srv->dev &&
		    st.st_ino == srv->ino)
			unlink(srv->path);
	}
	free(srv->conns);
	free(srv->pfds);
	free(srv->pfd_conn);
	free(srv);
}
