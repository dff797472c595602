/* SPDX-License-Identifier: MIT */
/*
 * cmdq: the queue through which the command side (any thread) has the loop
 * run a command on its own thread. The caller waits for the result; before
 * the loop runs and after it stopped, commands run inline, under the queue's
 * lock, so they never race with the loop.
 */
#include "cmdq.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int cmdq_call(struct dp *dp, struct dp_cmd *cmd)
{
	uint64_t one = 1;

	pthread_mutex_lock(&dp->qlock);
	if (!dp->loop_running) {
		cmd->result = cmd->fn(dp, cmd);
		pthread_mutex_unlock(&dp->qlock);
		return cmd->result;
	}
	cmd->done = false;
	cmd->next = NULL;
	if (dp->qtail)
		dp->qtail->next = cmd;
	else
		dp->qhead = cmd;
	dp->qtail = cmd;
	pthread_mutex_unlock(&dp->qlock);
	if (write(dp->wakefd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("dp: cannot wake the loop: %s", strerror(errno));
	pthread_mutex_lock(&dp->qlock);
	while (!cmd->done)
		pthread_cond_wait(&dp->qcond, &dp->qlock);
	pthread_mutex_unlock(&dp->qlock);
	return cmd->result;
}

void cmdq_drain(struct dp *dp)
{
	struct dp_cmd *c, *next;
	uint64_t v;

	if (read(dp->wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("dp: reading the wake eventfd: %s", strerror(errno));
	pthread_mutex_lock(&dp->qlock);
	c = dp->qhead;
	dp->qhead = dp->qtail = NULL;
	pthread_mutex_unlock(&dp->qlock);
	for (; c; c = next) {
		int r = c->fn(dp, c);

		next = c->next;
		ctr_add(&dp->stats.commands, 1);
		pthread_mutex_lock(&dp->qlock);
		c->result = r;
		c->done = true;
		pthread_mutex_unlock(&dp->qlock);
	}
	pthread_mutex_lock(&dp->qlock);
	pthread_cond_broadcast(&dp->qcond);
	pthread_mutex_unlock(&dp->qlock);
}

void cmdq_loop_started(struct dp *dp, int err)
{
	pthread_mutex_lock(&dp->qlock);
	dp->start_result = err;
	dp->loop_running = !err;
	pthread_cond_broadcast(&dp->qcond);
	pthread_mutex_unlock(&dp->qlock);
}

void cmdq_loop_stopped(struct dp *dp)
{
	/* From now on commands run inline; finish the queued ones the same way, under the lock. */
	pthread_mutex_lock(&dp->qlock);
	dp->loop_running = false;
	for (struct dp_cmd *c = dp->qhead, *next; c; c = next) {
		next = c->next;
		c->result = c->fn(dp, c);
		c->done = true;
	}
	dp->qhead = dp->qtail = NULL;
	pthread_cond_broadcast(&dp->qcond);
	pthread_mutex_unlock(&dp->qlock);
}
