/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the guest agent: its protocol (agent_proto: envelopes, every
 * command's args, bounds, replies, the RunResult fields), and the host's
 * client (agent_client) talking to the real tapyard-agent program, run with
 * --stdio on the host over a unix socket as QEMU's chardev would carry it.
 * No VM, no root.
 */
#include <errno.h>
#include <setjmp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent_client.h"
#include "agent_proto.h"

/* Parse line; return the error (0 when it parsed), its message in e. */
static int parse(const char *line, struct agent_req *req, struct agent_err *e)
{
	memset(e, 0, sizeof(*e));
	return agent_req_parse(line, strlen(line), req, e);
}

static void test_envelope(void **state)
{
	struct agent_req req;
	struct agent_err e;

	(void)state;
	assert_int_equal(parse("{\"id\": 4, \"cmd\": \"hello\"}", &req, &e), 0);
	assert_int_equal(req.cmd, AGENT_HELLO);
	assert_int_equal(json_integer_value(req.id), 4);
	assert_true(json_is_object(req.args));
	agent_req_free(&req);
	assert_int_equal(parse("not json", &req, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "not JSON"));
	agent_req_free(&req);
	assert_int_equal(parse("[1]", &req, &e), -EINVAL);
	agent_req_free(&req);
	assert_int_equal(parse("{\"id\": \"x\", \"cmd\": \"reboot\"}", &req, &e), -ENOSYS);
	assert_string_equal(e.msg, "unknown command \"reboot\"");
	assert_string_equal(json_string_value(req.id), "x"); /* the error reply carries it */
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\": \"hello\", \"extra\": 1}", &req, &e), -EINVAL);
	assert_string_equal(e.msg, "extra: unknown request field");
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\": 3}", &req, &e), -EINVAL);
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\": \"run\", \"args\": []}", &req, &e), -EINVAL);
	assert_string_equal(e.msg, "args: expected an object");
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\": \"nic\", \"args\": {\"cmd\": 1}}", &req, &e), -EINVAL);
	assert_string_equal(e.msg, "args.cmd: unknown field for nic");
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\":\"hello\",\"cmd\":\"run\"}", &req, &e), -EINVAL);
	agent_req_free(&req);
}

/* args of line (a run request) into run; the error, its message in e. */
static int run_args(const char *line, struct agent_req *req, struct agent_run *run,
		    struct agent_err *e)
{
	int err = parse(line, req, e);

	return err ? err : agent_run_args(req->args, run, e);
}

static void test_run_args(void **state)
{
	struct agent_run run;
	struct agent_req req;
	struct agent_err e;

	(void)state;
	assert_int_equal(run_args("{\"cmd\":\"run\",\"args\":{\"argv\":[\"ls\",\"-l\"],"
				  "\"env\":{\"A\":\"1\"},\"stdin\":\"x\\u0000y\",\"timeout_ms\":5,"
				  "\"signal\":15,\"max_output\":10,\"cwd\":\"/tmp\"}}",
				  &req, &run, &e),
			 0);
	assert_string_equal(run.req.argv[1], "-l");
	assert_null(run.req.argv[2]);
	assert_string_equal(run.req.env[0], "A=1");
	assert_int_equal(run.req.stdin_len, 3);
	assert_int_equal(run.req.timeout_ms, 5);
	assert_int_equal(run.req.kill_signal, 15);
	assert_int_equal(run.req.max_output, 10);
	assert_string_equal(run.req.cwd, "/tmp");
	agent_run_free(&run);
	agent_req_free(&req);
	assert_int_equal(run_args("{\"cmd\":\"run\",\"args\":{}}", &req, &run, &e), -EINVAL);
	assert_string_equal(e.msg, "args: give cmd or argv (exactly one)");
	agent_run_free(&run);
	agent_req_free(&req);
	assert_int_equal(
		run_args("{\"cmd\":\"run\",\"args\":{\"cmd\":\"x\",\"signal\":0}}", &req, &run, &e),
		-EINVAL);
	assert_non_null(strstr(e.msg, "args.signal"));
	agent_run_free(&run);
	agent_req_free(&req);
	assert_int_equal(
		run_args("{\"cmd\":\"run\",\"args\":{\"argv\":[\"a\",1]}}", &req, &run, &e),
		-EINVAL);
	assert_string_equal(e.msg, "args.argv[1]: expected a string");
	agent_run_free(&run);
	agent_req_free(&req);
	assert_int_equal(
		run_args("{\"cmd\":\"run\",\"args\":{\"cmd\":\"a\\u0000b\"}}", &req, &run, &e),
		-EINVAL);
	agent_run_free(&run);
	agent_req_free(&req);
	assert_int_equal(
		run_args("{\"cmd\":\"run\",\"args\":{\"cmd\":\"x\",\"env\":{\"A=B\":\"1\"}}}", &req,
			 &run, &e),
		-EINVAL);
	agent_run_free(&run);
	agent_req_free(&req);
}

static void test_nic_carrier_args(void **state)
{
	struct agent_carrier c;
	struct agent_nic nic;
	struct agent_req req;
	struct agent_err e;

	(void)state;
	assert_int_equal(
		parse("{\"cmd\":\"nic\",\"args\":{\"mac\":\"52:54:00:0a:0b:0c\","
		      "\"name\":\"eth1\",\"addr\":\"10.1.2.3\",\"prefix\":24,\"up\":false}}",
		      &req, &e),
		0);
	assert_int_equal(agent_nic_args(req.args, &nic, &e), 0);
	assert_int_equal(nic.mac[5], 0x0c);
	assert_string_equal(nic.name, "eth1");
	assert_int_equal(nic.addr, htonl(0x0a010203));
	assert_int_equal(nic.prefix, 24);
	assert_false(nic.up);
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\":\"nic\",\"args\":{\"mac\":\"52:54:00:0a:0b\","
			       "\"name\":\"eth1\"}}",
			       &req, &e),
			 0);
	assert_int_equal(agent_nic_args(req.args, &nic, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "args.mac"));
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\":\"nic\",\"args\":{\"mac\":\"52:54:00:0a:0b:0c\","
			       "\"name\":\"a/b\"}}",
			       &req, &e),
			 0);
	assert_int_equal(agent_nic_args(req.args, &nic, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "args.name"));
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\":\"nic\",\"args\":{\"mac\":\"52:54:00:0a:0b:0c\","
			       "\"name\":\"eth0\",\"prefix\":33}}",
			       &req, &e),
			 0);
	assert_int_equal(agent_nic_args(req.args, &nic, &e), -EINVAL);
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\":\"carrier\",\"args\":{\"name\":\"eth0\","
			       "\"wait_for\":false,\"timeout_ms\":100}}",
			       &req, &e),
			 0);
	assert_int_equal(agent_carrier_args(req.args, &c, &e), 0);
	assert_int_equal(c.want, 0);
	assert_int_equal(c.timeout_ms, 100);
	agent_req_free(&req);
	assert_int_equal(parse("{\"cmd\":\"carrier\",\"args\":{\"name\":\"eth0\"}}", &req, &e), 0);
	assert_int_equal(agent_carrier_args(req.args, &c, &e), 0);
	assert_int_equal(c.want, -1);
	agent_req_free(&req);
}

static void test_replies(void **state)
{
	struct guest_run_result r = {.status = GUEST_RUN_TIMED_OUT, .exit_code = -2, .signal = 9};
	struct agent_err e = {.err = -E2BIG, .msg = "too long"};
	json_t *id = json_integer(9), *res;
	char bad[] = "a\xff"
		     "b";
	char *line;

	(void)state;
	line = agent_reply_err(id, &e);
	assert_string_equal(line, "{\"ok\":false,\"error\":{\"code\":\"E2BIG\",\"message\":"
				  "\"too long\"},\"id\":9}\n");
	free(line);
	r.out = bad;
	r.out_len = 3;
	res = agent_run_result(&r);
	assert_non_null(res);
	/* not UTF-8: the bad byte becomes U+FFFD, the rest stays */
	assert_string_equal(json_string_value(json_object_get(res, "stdout")), "a\xef\xbf\xbd"
									       "b");
	assert_string_equal(json_string_value(json_object_get(res, "stderr")), "");
	assert_string_equal(json_string_value(json_object_get(res, "status")), "timed_out");
	assert_true(json_is_true(json_object_get(res, "timed_out")));
	assert_int_equal(json_integer_value(json_object_get(res, "signal")), 9);
	assert_non_null(json_object_get(res, "stdout_truncated"));
	assert_non_null(json_object_get(res, "interrupted"));
	line = agent_reply_ok(id, res);
	assert_non_null(strstr(line, "\"ok\":true"));
	assert_int_equal(line[strlen(line) - 1], '\n');
	free(line);
	line = agent_event_ready("1.0", "6.1");
	assert_non_null(strstr(line, "\"event\":\"ready\""));
	free(line);
	json_decref(id);
	assert_int_equal(agent_client_errno("ETIMEDOUT"), -ETIMEDOUT);
	assert_int_equal(agent_client_errno("NOPE"), -EIO);
	assert_int_equal(agent_client_errno(NULL), -EIO);
}

/* The real agent, --stdio, behind a unix socket at path; returns its pid. */
static pid_t agent_serve(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	const char *agent = getenv("TAPYARD_AGENT");
	int l = socket(AF_UNIX, SOCK_STREAM, 0), c;
	pid_t pid;

	assert_non_null(agent);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		c = accept(l, NULL, NULL);
		if (c < 0 || dup2(c, 0) < 0 || dup2(c, 1) < 0)
			_exit(126);
		execl(agent, agent, "--stdio", (char *)NULL);
		_exit(127);
	}
	close(l);
	return pid;
}

/* A long run in a thread of its own. */
static void *long_run(void *arg)
{
	struct agent_client *c = arg;
	char msg[256];
	json_t *res = NULL;
	int err = agent_client_call(c, "run", json_pack("{s:s}", "cmd", "sleep 2; echo late"),
				    20000, &res, msg, sizeof(msg));

	if (!err && strcmp(json_string_value(json_object_get(res, "stdout")), "late\n"))
		err = -EIO;
	json_decref(res);
	return (void *)(intptr_t)err;
}

/* While one thread waits for a long run, another's requests are answered. */
static void concurrent_calls(struct agent_client *c)
{
	char msg[256];
	pthread_t t;
	void *ret;

	assert_int_equal(pthread_create(&t, NULL, long_run, c), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(agent_client_call(c, "hello", NULL, 20000, NULL, msg, sizeof(msg)),
				 0);
	/* the run is still going: its reply can only come later */
	assert_int_equal(pthread_tryjoin_np(t, &ret), EBUSY);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal((intptr_t)ret, 0);
}

static void test_client(void **state)
{
	char dir[] = "/tmp/tyvm-agent-XXXXXX", path[64], msg[256];
	struct agent_client *c;
	json_t *res = NULL;
	pid_t pid;
	int st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	pid = agent_serve(path);
	assert_int_equal(agent_client_connect(path, 5000, &c), 0);
	assert_int_equal(agent_client_call(c, "hello", NULL, 5000, &res, msg, sizeof(msg)), 0);
	assert_string_equal(json_string_value(json_object_get(res, "agent")), "tapyard-agent");
	json_decref(res);
	assert_int_equal(agent_client_call(c, "run",
					   json_pack("{s:s}", "cmd", "printf out; exit 4"), 5000,
					   &res, msg, sizeof(msg)),
			 0);
	assert_int_equal(json_integer_value(json_object_get(res, "exit_code")), 4);
	assert_string_equal(json_string_value(json_object_get(res, "stdout")), "out");
	json_decref(res);
	assert_int_equal(agent_client_call(c, "run", json_pack("{s:i}", "timeout_ms", 5), 5000,
					   &res, msg, sizeof(msg)),
			 -EINVAL);
	assert_string_equal(msg, "args: give cmd or argv (exactly one)");
	assert_int_equal(agent_client_call(c, "carrier", json_pack("{s:s}", "name", "nosuch0"),
					   5000, &res, msg, sizeof(msg)),
			 -ENOENT);
	assert_int_equal(agent_client_call(c, "run", json_pack("{s:s}", "cmd", "sleep 1"), 200,
					   &res, msg, sizeof(msg)),
			 -ETIMEDOUT);
	/* the late reply to the request given up on is skipped */
	assert_int_equal(agent_client_call(c, "hello", NULL, 10000, NULL, msg, sizeof(msg)), 0);
	concurrent_calls(c);
	agent_client_close(c);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
	rmdir(dir);
}

/* call cmd with args on c; the result (the caller's), NULL on failure with the error in *err. */
static json_t *call(struct agent_client *c, const char *cmd, json_t *args, int *err, char *msg)
{
	json_t *res = NULL;

	*err = agent_client_call(c, cmd, args, 10000, &res, msg, 256);
	return res;
}

/* proc_info's field key of process id, as an integer (running: 1/0 for booleans). */
static json_int_t proc_field(struct agent_client *c, json_int_t id, const char *key,
			     char *text, size_t size)
{
	char msg[256];
	int err;
	json_t *res = call(c, "proc_info", json_pack("{s:I}", "id", id), &err, msg);
	json_t *v = json_object_get(res, key);
	json_int_t n = json_is_boolean(v) ? json_is_true(v) : json_integer_value(v);

	assert_int_equal(err, 0);
	if (text)
		snprintf(text, size, "%s", json_string_value(v) ? json_string_value(v) : "");
	json_decref(res);
	return n;
}

/* A proc_wait of 20 s in a thread of its own. */
struct held_wait {
	struct agent_client *c;
	json_int_t id;
	int err;
	bool exited;
};

static void *held_wait(void *arg)
{
	struct held_wait *w = arg;
	char msg[256];
	json_t *res = call(w->c, "proc_wait", json_pack("{s:I, s:i}", "id", w->id, "timeout_ms",
						       20000), &w->err, msg);

	w->exited = json_is_true(json_object_get(res, "exited"));
	json_decref(res);
	return NULL;
}

/* Background processes through the real agent: start, write, wait, signal, release. */
static void test_procs(void **state)
{
	char dir[] = "/tmp/tyvm-agent-XXXXXX", path[64], msg[256], out[64];
	struct agent_client *c;
	struct held_wait w = {0};
	json_int_t cat, sleeper;
	json_t *res;
	pthread_t t;
	void *ret;
	pid_t pid;
	int err, st;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/agent.sock", dir);
	pid = agent_serve(path);
	assert_int_equal(agent_client_connect(path, 5000, &c), 0);

	/* a process fed through its stdin, read while it runs, then after it ends */
	res = call(c, "proc_start", json_pack("{s:[s]}", "argv", "cat"), &err, msg);
	assert_int_equal(err, 0);
	cat = json_integer_value(json_object_get(res, "id"));
	assert_true(cat > 0 && json_integer_value(json_object_get(res, "pid")) > 1);
	json_decref(res);
	assert_int_equal(proc_field(c, cat, "running", NULL, 0), 1);
	json_decref(call(c, "proc_write", json_pack("{s:I, s:s}", "id", cat, "data", "hi\n"),
			 &err, msg));
	assert_int_equal(err, 0);
	res = call(c, "proc_wait", json_pack("{s:I, s:i}", "id", cat, "timeout_ms", 300), &err,
		   msg);
	assert_int_equal(err, 0);
	assert_false(json_is_true(json_object_get(res, "exited"))); /* cat waits for EOF */
	json_decref(res);
	json_decref(call(c, "proc_close_stdin", json_pack("{s:I}", "id", cat), &err, msg));
	res = call(c, "proc_wait", json_pack("{s:I, s:i}", "id", cat, "timeout_ms", 5000), &err,
		   msg);
	assert_true(json_is_true(json_object_get(res, "exited")));
	json_decref(res);
	assert_int_equal(proc_field(c, cat, "running", NULL, 0), 0);
	assert_int_equal(proc_field(c, cat, "exit_code", out, sizeof(out)), 0);
	proc_field(c, cat, "stdout", out, sizeof(out));
	assert_string_equal(out, "hi\n");

	/* a signal to a sleeping process ends it signalled */
	res = call(c, "proc_start", json_pack("{s:s}", "cmd", "echo up; exec sleep 30"), &err,
		   msg);
	sleeper = json_integer_value(json_object_get(res, "id"));
	json_decref(res);
	json_decref(call(c, "proc_signal", json_pack("{s:I, s:i}", "id", sleeper, "signal", 15),
			 &err, msg));
	assert_int_equal(err, 0);
	json_decref(call(c, "proc_wait", json_pack("{s:I, s:i}", "id", sleeper, "timeout_ms",
						       5000), &err, msg));
	assert_int_equal(proc_field(c, sleeper, "signal", NULL, 0), 15);
	proc_field(c, sleeper, "status", out, sizeof(out));
	assert_string_equal(out, "signalled");

	/* bad requests say what was wrong; a released process is gone */
	call(c, "proc_start", json_pack("{s:s, s:s}", "cmd", "true", "stdin", "x"), &err, msg);
	assert_int_equal(err, -EINVAL);
	assert_string_equal(msg, "args.stdin: unknown field for proc_start");
	call(c, "proc_wait", json_pack("{s:I}", "id", sleeper), &err, msg);
	assert_int_equal(err, -EINVAL);
	assert_string_equal(msg, "args.timeout_ms: missing");
	call(c, "proc_signal", json_pack("{s:I, s:i}", "id", sleeper, "signal", 9), &err, msg);
	assert_int_equal(err, -ESRCH);
	assert_non_null(strstr(msg, "it has ended"));
	json_decref(call(c, "proc_release", json_pack("{s:I}", "id", cat), &err, msg));
	assert_int_equal(err, 0);
	call(c, "proc_info", json_pack("{s:I}", "id", cat), &err, msg);
	assert_int_equal(err, -ENOENT);
	assert_string_equal(msg, "process 1 not found");

	/* released while a wait holds it: the process is killed and the wait answers at once */
	res = call(c, "proc_start", json_pack("{s:s}", "cmd", "sleep 30"), &err, msg);
	w.c = c;
	w.id = json_integer_value(json_object_get(res, "id"));
	json_decref(res);
	assert_int_equal(pthread_create(&t, NULL, held_wait, &w), 0);
	usleep(300 * 1000); /* the wait is in the agent by now */
	json_decref(call(c, "proc_release", json_pack("{s:I}", "id", w.id), &err, msg));
	assert_int_equal(err, 0);
	assert_int_equal(pthread_join(t, &ret), 0);
	assert_int_equal(w.err, 0);
	assert_true(w.exited);

	agent_client_close(c); /* the agent kills what is left and exits */
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_envelope),	 cmocka_unit_test(test_run_args),
		cmocka_unit_test(test_nic_carrier_args), cmocka_unit_test(test_replies),
		cmocka_unit_test(test_client),		 cmocka_unit_test(test_procs),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
