/* http.c - the evhttp server for /healthz and /metrics on the daemon's loop. */
#include "slad/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "slad/config.h"

struct http_server {
	struct evhttp *http;
	struct http_pages pages;
	char address[300];
};

static void respond(struct evhttp_request *req, http_page_fn page, void *arg, const char *content_type)
{
	struct evbuffer *body = evbuffer_new();
	if (!body) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	int status = page(body, arg);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", content_type);
	evhttp_add_header(h, "Cache-Control", "no-store");
	/* evhttp leaves the body out of a HEAD response itself. */
	evhttp_send_reply(req, status, status == 200 ? "OK" : "Service Unavailable", body);
	evbuffer_free(body);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct http_server *srv = arg;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (!path)
		path = "/";
	if (strcmp(path, "/healthz") == 0)
		respond(req, srv->pages.healthz, srv->pages.arg, "application/json");
	else if (strcmp(path, "/metrics") == 0)
		respond(req, srv->pages.metrics, srv->pages.arg, "text/plain; version=0.0.4; charset=utf-8");
	else
		evhttp_send_error(req, HTTP_NOTFOUND, "try /healthz or /metrics");
}

struct http_server *http_setup(struct event_base *base, const char *listen, const struct http_pages *pages, char *err,
			       size_t errlen)
{
	char host[256];
	int port;
	struct http_server *srv = NULL;
	if (!config_split_listen(listen, host, sizeof(host), &port)) {
		snprintf(err, errlen, "http.listen: not host:port");
		return NULL;
	}
	srv = calloc(1, sizeof(*srv));
	if (!srv || !(srv->http = evhttp_new(base))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	srv->pages = *pages;
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(srv->http, 10);
	evhttp_set_max_headers_size(srv->http, 8192);
	evhttp_set_max_body_size(srv->http, 0);
	evhttp_set_gencb(srv->http, on_request, srv);
	struct evhttp_bound_socket *bound = evhttp_bind_socket_with_handle(srv->http, host, (ev_uint16_t)port);
	if (!bound) {
		snprintf(err, errlen, "http.listen %s: cannot listen: %s", listen,
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		goto fail;
	}
	/* Port 0 asks the kernel for one: say which. */
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	char ip[INET6_ADDRSTRLEN] = "?";
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			snprintf(srv->address, sizeof(srv->address), "[%s]:%d", ip, ntohs(s6->sin6_port));
		} else {
			const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
			snprintf(srv->address, sizeof(srv->address), "%s:%d", ip, ntohs(s4->sin_port));
		}
	} else {
		snprintf(srv->address, sizeof(srv->address), "%s", listen);
	}
	return srv;
fail:
	http_cleanup(srv);
	return NULL;
}

const char *http_address(const struct http_server *srv)
{
	return srv->address;
}

void http_cleanup(struct http_server *srv)
{
	if (!srv)
		return;
	if (srv->http)
		evhttp_free(srv->http);
	free(srv);
}
