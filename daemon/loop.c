/* loop.c - the loop's events and chores: the periodic tick (watchdog, PostgreSQL
 * ping, STATUS=, escalations), READY=1, the stop signals and the bounded drain,
 * SIGHUP, and waiting for PostgreSQL before the loop starts. */
#include "daemon_internal.h"

/* Sends the outbox's escalations of this instance's tickets (and marks the acknowledged ones). */
void loop_publish_escalations(struct daemon *d)
{
	int32_t parts[256];
	size_t n = 0;
	/* Not while a commit is in flight: the outbox is read once it is in (batch_on_commit_done). */
	if (!d->esc || d->degraded || d->stopping || batch_committing(d))
		return;
	for (int p = 0; p < d->nparts && n < 256; p++)
		if (d->parts[p].eng.tickets)
			parts[n++] = p;
	escalator_run(d->esc, daemon_store(d), parts, n);
}

/* READY=1 once consumption has started: the first partition assignment is
 * restored from PostgreSQL with every deadline armed. */
void loop_mark_ready(struct daemon *d)
{
	struct totals t;
	if (d->ready)
		return;
	d->ready = true;
	event_del(d->ev_ready);
	health_totals(d, &t);
	log_info("ready: %zu open tickets restored, %zu timers armed, %lld ms after start", t.open_tickets,
		 t.armed_timers, (long long)(mono_ms() - d->started_at));
	notify_send("READY=1");
}

/* No assignment within READY_WAIT_MS (Kafka unreachable, say): report ready
 * anyway rather than be killed by the service manager's start timeout; the
 * partitions are restored when they come, and /healthz tells the truth. */
static void on_ready_wait(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	if (d->ready)
		return;
	log_warn("no partition assignment %d s after start (is Kafka reachable?): reporting ready; "
		 "partitions are restored when they are assigned",
		 READY_WAIT_MS / 1000);
	loop_mark_ready(d);
}

/* Periodic chores, one tick: the watchdog, a PostgreSQL ping when idle, STATUS=. */
static void on_tick(evutil_socket_t fd UNUSED, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	char err[512];
	if (notify_watchdog_usec())
		notify_send("WATCHDOG=1");
	loop_publish_escalations(d);
	/* An idle partition's checkpoint comes at the next tick after batch.checkpoint_ms. */
	if (!d->degraded && !d->stopping && !d->closing)
		(void)batch_flush(d);
	/* A commit in flight proves it, or not, when it is done. */
	if (!d->degraded && !d->stopping && !d->inflight.active && mono_ms() - d->db_ok_at >= PING_IDLE_MS) {
		if (store_ping(daemon_store(d), err, sizeof(err))) {
			d->db_ok_at = mono_ms();
			d->pg_up = true;
		} else {
			d->pg_up = false;
			log_error("postgres unreachable: %s", redacted(d, err));
			enter_degraded(d, "database unreachable");
		}
	}
	health_update_status(d);
}

/* ---- stopping ---- */

/* SIGTERM and SIGINT have a real handler, not an evsignal: the drain's bound
 * and the second signal must work even while the loop is blocked (a libpq
 * call waiting on a hung server). The handler only arms a timer, switches
 * to "exit at once" and wakes the loop, which does the drain. */
static volatile sig_atomic_t stop_signals;
static int stop_pipe_w = -1;
static struct itimerval drain_bound;
static char msg_second[96], msg_timeout[128];

static void write_stderr(const char *s)
{
	size_t n = 0;
	while (s[n])
		n++;
	ssize_t r = write(STDERR_FILENO, s, n);
	(void)r;
}

static void on_stop_signal(int sig)
{
	int saved = errno;
	if (stop_signals++ > 0) {
		write_stderr(msg_second);
		_exit(1);
	}
	setitimer(ITIMER_REAL, &drain_bound, NULL);
	char c = (char)sig;
	ssize_t r = write(stop_pipe_w, &c, 1);
	(void)r;
	errno = saved;
}

static void on_drain_timeout(int sig)
{
	(void)sig;
	write_stderr(msg_timeout); /* what was committed stays; the rest is re-read from those offsets */
	_exit(1);
}

static void set_drain_bound(sla_time ms)
{
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	drain_bound.it_value = ms_to_tv(ms);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static bool stop_signals_setup(struct daemon *d)
{
	/* The same line format as log.c, without its timestamp (not async-signal-safe). */
	bool journal = !isatty(STDERR_FILENO) && getenv("INVOCATION_ID") != NULL;
	snprintf(msg_second, sizeof(msg_second), "%swarn: second stop signal: exiting at once\n", journal ? "<4>" : "");
	snprintf(msg_timeout, sizeof(msg_timeout),
		 "%serror: shutdown.timeout passed before the drain finished: exiting now\n", journal ? "<3>" : "");
	set_drain_bound(d->cfg->shutdown_timeout);
	stop_pipe_w = d->stoppipe[1];
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_drain_timeout;
	if (sigaction(SIGALRM, &sa, NULL) != 0)
		return false;
	sa.sa_handler = on_stop_signal;
	sa.sa_flags = SA_RESTART;
	return sigaction(SIGTERM, &sa, NULL) == 0 && sigaction(SIGINT, &sa, NULL) == 0;
}

/* The bounded drain: stop applying, commit the batch, leave the consumer
 * group (the revoke commits once more), then the loop ends. */
static void begin_shutdown(struct daemon *d)
{
	d->stopping = true;
	notify_send("STOPPING=1");
	health_update_status(d);
	log_info("stopping: committing the current batch, leaving the consumer group (shutdown.timeout %lld ms)",
		 (long long)d->cfg->shutdown_timeout);
	event_del(d->ev_retry);
	(void)batch_flush_wait(d);
	rd_kafka_error_t *e = rd_kafka_consumer_close_queue(d->rk, d->queue);
	if (e) {
		log_error("kafka: closing the consumer: %s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		event_base_loopbreak(d->base);
		return;
	}
	d->closing = true;
	intake_consume(d);
}

static void on_stop(evutil_socket_t fd, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	pipe_drain(fd);
	if (!d->stopping)
		begin_shutdown(d);
}

static void on_hup(evutil_socket_t sig UNUSED, short what UNUSED, void *arg)
{
	struct daemon *d = arg;
	if (d->stopping)
		return;
	notify_reloading();
	log_info("SIGHUP: reloading configuration, policies and calendars");
	metrics_reload(d->metrics, reload_config(d));
	set_drain_bound(d->cfg->shutdown_timeout);
	if (d->ready) /* before the first assignment, READY=1 is still to come */
		notify_send("READY=1");
	d->status[0] = '\0';
	health_update_status(d);
}

static volatile sig_atomic_t early_stop;

static void on_early_stop(int sig)
{
	(void)sig;
	early_stop = 1;
}

/* PostgreSQL unreachable at start (booted before the database, a failover):
 * keep trying with back-off, as once running, until it answers or a stop
 * signal comes (NULL then). READY=1 waits; STATUS= and the log say why. */
struct store *loop_connect_store(struct daemon *d, char *err, size_t errlen)
{
	struct sigaction sa, old_term, old_int;
	struct store *st;
	int wait_ms = RETRY_MIN_MS;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_early_stop;
	(void)sigaction(SIGTERM, &sa, &old_term);
	(void)sigaction(SIGINT, &sa, &old_int);
	while (!(st = store_connect(d->cfg->postgres_conninfo, err, errlen)) && !early_stop) {
		log_warn("postgres: %s; retrying in %d ms", redacted(d, err), wait_ms);
		notify_send("STATUS=waiting for PostgreSQL");
		for (int slept = 0; slept < wait_ms && !early_stop; slept += 100) {
			if (notify_watchdog_usec())
				notify_send("WATCHDOG=1");
			struct timespec ts = {0, 100 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		wait_ms = backoff_next(wait_ms);
	}
	(void)sigaction(SIGTERM, &old_term, NULL);
	(void)sigaction(SIGINT, &old_int, NULL);
	if (st && wait_ms > RETRY_MIN_MS)
		log_info("postgres: reachable");
	return st;
}

/* The event base, the three wake-up pipes (Kafka's queue, the stop signals,
 * the commit thread) and the commit thread. */
bool loop_setup(struct daemon *d)
{
	char err[256];
	signal(SIGPIPE, SIG_IGN);
	d->base = event_base_new();
	if (!d->base || pipe2(d->pipefd, O_NONBLOCK | O_CLOEXEC) != 0 ||
	    pipe2(d->stoppipe, O_NONBLOCK | O_CLOEXEC) != 0 || pipe2(d->writerpipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return false;
	for (int k = 0; k < d->nshards; k++) {
		d->shards[k].writer = store_writer_new(d->shards[k].st, d->writerpipe[1], err, sizeof(err));
		if (!d->shards[k].writer) {
			log_error("%s", err);
			return false;
		}
	}
	return true;
}

bool loop_add_events(struct daemon *d)
{
	d->ev_kafka = event_new(d->base, d->pipefd[0], EV_READ | EV_PERSIST, intake_on_kafka, d);
	d->ev_drain = evtimer_new(d->base, intake_on_timer, d);
	d->ev_timer = evtimer_new(d->base, intake_on_timer, d);
	d->ev_retry = evtimer_new(d->base, batch_on_retry, d);
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	d->ev_ready = evtimer_new(d->base, on_ready_wait, d);
	d->ev_stop = event_new(d->base, d->stoppipe[0], EV_READ | EV_PERSIST, on_stop, d);
	d->ev_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	d->ev_writer = event_new(d->base, d->writerpipe[0], EV_READ | EV_PERSIST, batch_on_commit_done, d);
	if (!d->ev_kafka || !d->ev_drain || !d->ev_timer || !d->ev_retry || !d->ev_tick || !d->ev_stop || !d->ev_hup ||
	    !d->ev_ready || !d->ev_writer)
		return false;
	/* The watchdog wants a ping at least every WATCHDOG_USEC: tick at half of that if it is short. */
	int64_t tick = TICK_MS, wd_ms = (int64_t)(notify_watchdog_usec() / 1000);
	if (wd_ms > 0 && wd_ms / 2 < tick)
		tick = wd_ms / 2 > 10 ? wd_ms / 2 : 10;
	struct timeval tick_tv = ms_to_tv(tick);
	event_add(d->ev_kafka, NULL);
	event_add(d->ev_tick, &tick_tv);
	event_add(d->ev_stop, NULL);
	event_add(d->ev_hup, NULL);
	event_add(d->ev_writer, NULL);
	return stop_signals_setup(d);
}

/* Runs until the drain has left the consumer group (or the loop broke). */
void loop_run(struct daemon *d)
{
	struct timeval ready_tv = ms_to_tv(READY_WAIT_MS);
	evtimer_add(d->ev_ready, &ready_tv); /* READY=1 comes with the first assignment (loop_mark_ready) */
	if (d->cfg->recovery_prefetch)
		part_prefetch(d); /* while librdkafka's threads join the group */
	intake_consume(d);
	event_base_dispatch(d->base);
	if (!rd_kafka_consumer_closed(d->rk)) /* the loop ended some other way: close the blocking way */
		rd_kafka_consumer_close(d->rk);
}

void loop_cleanup(struct daemon *d)
{
	struct event *evs[] = {d->ev_kafka, d->ev_drain, d->ev_timer, d->ev_retry, d->ev_tick,
			       d->ev_stop,  d->ev_hup,   d->ev_ready, d->ev_writer};

	for (size_t i = 0; i < sizeof(evs) / sizeof(evs[0]); i++)
		if (evs[i])
			event_free(evs[i]);
	if (d->base)
		event_base_free(d->base);
	if (d->pipefd[0] >= 0)
		close(d->pipefd[0]);
	if (d->pipefd[1] >= 0)
		close(d->pipefd[1]);
	stop_pipe_w = -1;
	for (int i = 0; i < 2; i++) {
		if (d->stoppipe[i] >= 0)
			close(d->stoppipe[i]);
		if (d->writerpipe[i] >= 0)
			close(d->writerpipe[i]);
	}
}
