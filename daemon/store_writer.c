/* store_writer.c - the commit thread (store_writer.h): one batch in hand at a
 * time, handed over and waited for under one mutex. */
#include "slad/store_writer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct store_writer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct store *st;
	int notify_fd;
	/* Under mu: */
	struct store_job job; /* the commit in hand while busy */
	bool busy, done, quit;
	enum store_result result; /* of the commit done and not waited for yet */
	char err[512];
	double secs;
};

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void *writer_main(void *arg)
{
	struct store_writer *w = arg;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->busy && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->busy)
			break;
		struct store_job job = w->job;
		char err[512] = "";
		struct timespec t0;
		pthread_mutex_unlock(&w->mu);

		clock_gettime(CLOCK_MONOTONIC, &t0);
		store_set_batch_hook(w->st, job.partners ? store_partners_rows_hook : NULL, job.partners);
		enum store_result r =
			store_rows_commit(w->st, job.rows, job.group, job.offs, job.noffs, err, sizeof(err));
		store_set_batch_hook(w->st, NULL, NULL);
		store_rows_free(job.rows);
		store_partners_rows_free(job.partners);
		double secs = seconds_since(&t0);

		pthread_mutex_lock(&w->mu);
		w->result = r;
		snprintf(w->err, sizeof(w->err), "%s", err);
		w->secs = secs;
		w->busy = false;
		w->done = true;
		memset(&w->job, 0, sizeof(w->job));
		pthread_cond_broadcast(&w->cv);
		if (w->notify_fd >= 0) {
			char c = 1;
			ssize_t n = write(w->notify_fd, &c, 1); /* full (EAGAIN): a wake-up is pending anyway */
			(void)n;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct store_writer *store_writer_new(struct store *st, int notify_fd, char *err, size_t errlen)
{
	struct store_writer *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int e;

	if (!w) {
		snprintf(err, errlen, "commit thread: out of memory");
		return NULL;
	}
	w->st = st;
	w->notify_fd = notify_fd;
	if ((e = pthread_mutex_init(&w->mu, NULL)) != 0) {
		free(w);
		snprintf(err, errlen, "commit thread: %s", strerror(e));
		return NULL;
	}
	if ((e = pthread_cond_init(&w->cv, NULL)) != 0) {
		pthread_mutex_destroy(&w->mu);
		free(w);
		snprintf(err, errlen, "commit thread: %s", strerror(e));
		return NULL;
	}
	/* The thread inherits this mask: stop signals stay with the caller. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		snprintf(err, errlen, "commit thread: %s", strerror(e));
		return NULL;
	}
	return w;
}

void store_writer_free(struct store_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

void store_writer_submit(struct store_writer *w, const struct store_job *job)
{
	pthread_mutex_lock(&w->mu);
	w->job = *job;
	w->busy = true;
	w->done = false;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

bool store_writer_busy(struct store_writer *w)
{
	pthread_mutex_lock(&w->mu);
	bool busy = w->busy;
	pthread_mutex_unlock(&w->mu);
	return busy;
}

enum store_result store_writer_wait(struct store_writer *w, char *err, size_t errlen, double *secs)
{
	enum store_result r = STORE_OK;

	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cv, &w->mu);
	if (err && errlen)
		err[0] = '\0';
	if (secs)
		*secs = 0;
	if (w->done) {
		r = w->result;
		if (err && errlen)
			snprintf(err, errlen, "%s", w->err);
		if (secs)
			*secs = w->secs;
		w->done = false;
	}
	pthread_mutex_unlock(&w->mu);
	return r;
}
