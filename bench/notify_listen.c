/* notify_listen.c - a stand-in for systemd's NOTIFY_SOCKET that stamps every datagram with its arrival time.
 *
 * Not a test. Binds a Unix datagram socket at PATH and writes one line per
 * assignment received, "<ms since the epoch> <assignment>" (READY=1,
 * STATUS=..., ...), flushed at once, until SIGTERM or SIGINT. The wall clock
 * is the one slad's log lines carry, so both can be compared.
 *
 * usage: notify_listen PATH */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Prints each newline-separated assignment of one datagram on its own line. */
static void print_datagram(int64_t at, char *msg)
{
	char *save = NULL;
	for (char *line = strtok_r(msg, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		printf("%lld %s\n", (long long)at, line);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: recv returns EINTR */
	char buf[4096];
	int fd = -1, rc = 1;

	if (argc != 2 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: notify_listen PATH (at most %zu bytes)\n", sizeof(addr.sun_path) - 1);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	memcpy(addr.sun_path, argv[1], strlen(argv[1]) + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		fprintf(stderr, "notify_listen: %s: %s\n", argv[1], strerror(errno));
		goto fail;
	}
	while (!stop_requested) {
		ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "notify_listen: recv: %s\n", strerror(errno));
			goto fail;
		}
		buf[n] = '\0';
		print_datagram(wall_ms(), buf);
	}
	rc = 0;
fail:
	if (fd >= 0) {
		close(fd);
		unlink(argv[1]);
	}
	return rc;
}
