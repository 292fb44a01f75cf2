/* notify.c - the sd_notify wrapper: readiness, reloads, stopping, status lines and watchdog pings. */
#include "slad/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "slad/log.h"

static uint64_t watchdog_usec;

void notify_setup(void)
{
	uint64_t usec = 0;
	/* > 0 only when WATCHDOG_USEC is set (and WATCHDOG_PID, if set, is us). */
	if (sd_watchdog_enabled(0, &usec) > 0)
		watchdog_usec = usec;
	if (watchdog_usec)
		log_info("systemd watchdog: pinging within %llu ms", (unsigned long long)(watchdog_usec / 1000));
}

uint64_t notify_watchdog_usec(void)
{
	return watchdog_usec;
}

void notify_send(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* A trailing newline keeps datagrams apart for anyone reading them as text (the tests). */
	size_t len = (size_t)n < sizeof(msg) - 2 ? (size_t)n : sizeof(msg) - 2;
	msg[len] = '\n';
	msg[len + 1] = '\0';
	if (sd_notify(0, msg) < 0)
		log_debug("sd_notify failed");
}

void notify_reloading(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
		    (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
}
