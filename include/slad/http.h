/* http.h - the HTTP endpoint on http.listen (libevent evhttp): GET /healthz and GET /metrics.
 *
 * The server runs on the daemon's event loop; a page callback fills the
 * response body and returns the status code. */
#ifndef SLAD_HTTP_H
#define SLAD_HTTP_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct evbuffer;
struct http_server;

/* Fills body; returns the HTTP status (200, 503, ...). */
typedef int (*http_page_fn)(struct evbuffer *body, void *arg);

struct http_pages {
	http_page_fn healthz; /* application/json */
	http_page_fn metrics; /* text/plain; version=0.0.4 */
	void *arg;
};

/* Binds listen ("host:port"; port 0 picks a free one) and serves pages on
 * base. NULL with err on failure. */
struct http_server *http_setup(struct event_base *base, const char *listen, const struct http_pages *pages, char *err,
			       size_t errlen) __attribute__((warn_unused_result));
/* "127.0.0.1:9187": the address actually bound. */
const char *http_address(const struct http_server *srv);
void http_cleanup(struct http_server *srv); /* accepts NULL */

#endif
