/* notify.h - systemd notifications (sd_notify): READY, RELOADING, STOPPING, STATUS, WATCHDOG.
 *
 * Outside systemd (no NOTIFY_SOCKET) every call is a no-op. */
#ifndef SLAD_NOTIFY_H
#define SLAD_NOTIFY_H

#include <stdint.h>

/* Reads WATCHDOG_USEC (and WATCHDOG_PID); call once before the loop. */
void notify_setup(void);
/* The one wrapper of sd_notify: newline-separated assignments, printf-style,
 * e.g. notify_send("READY=1\nSTATUS=%s", status). */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* RELOADING=1 with the MONOTONIC_USEC systemd asks for. */
void notify_reloading(void);
/* The watchdog interval systemd expects pings within, 0 when disabled. */
uint64_t notify_watchdog_usec(void);

#endif
