/* config_check.c - the validators of the configuration's string keys: brokers, names,
 * topics, conninfo, paths, http.listen, enumerated values. */

#include "config_internal.h"

#include <ctype.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

bool v_brokers(const char *v, char *why, size_t n)
{
	/* Empty is allowed here: slad refuses to run without brokers, check-config says so. */
	for (const char *p = v; *p; p++)
		if (isspace((unsigned char)*p)) {
			snprintf(why, n, "a comma-separated list of host:port without spaces");
			return false;
		}
	if (*v && (v[0] == ',' || v[strlen(v) - 1] == ',' || strstr(v, ",,"))) {
		snprintf(why, n, "an empty entry in the broker list");
		return false;
	}
	return true;
}

/* A value that must not be empty; `what` says why when it is. */
static bool nonempty(const char *v, char *why, size_t n, const char *what)
{
	if (*v)
		return true;
	snprintf(why, n, "%s", what);
	return false;
}

bool v_name(const char *v, char *why, size_t n)
{
	return nonempty(v, why, n, "must not be empty");
}

bool v_topic(const char *v, char *why, size_t n)
{
	size_t len = strlen(v);
	if (len == 0 || len > 249) {
		snprintf(why, n, "a Kafka topic name has 1 to 249 characters");
		return false;
	}
	for (const char *p = v; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-') {
			snprintf(why, n, "a Kafka topic name has only letters, digits, '.', '_' and '-'");
			return false;
		}
	return true;
}

bool v_conninfo(const char *v, char *why, size_t n)
{
	char *msg = NULL;
	PQconninfoOption *opts = PQconninfoParse(v, &msg);
	/* libpq's message may quote the string, password included: not repeated. */
	PQfreemem(msg);
	if (!opts) {
		snprintf(why, n, "not a valid libpq connection string or URI");
		return false;
	}
	PQconninfoFree(opts);
	return true;
}

bool v_path(const char *v, char *why, size_t n)
{
	return nonempty(v, why, n, "must name a file");
}

bool config_split_listen(const char *listen, char *host, size_t hostlen, int *port)
{
	const char *colon, *h = listen;
	size_t hl;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return false;
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon)
			return false;
		hl = (size_t)(colon - listen);
		if (memchr(listen, ':', hl))
			return false; /* an IPv6 address needs brackets */
	}
	char *end;
	errno = 0;
	long p = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end || p < 0 || p > 65535 || hl + 1 > hostlen)
		return false;
	if (hl == 0) {
		snprintf(host, hostlen, "0.0.0.0");
	} else {
		memcpy(host, h, hl);
		host[hl] = '\0';
	}
	*port = (int)p;
	return true;
}

bool v_listen(const char *v, char *why, size_t n)
{
	char host[256];
	int port;
	if (*v && !config_split_listen(v, host, sizeof(host), &port)) {
		snprintf(why, n, "host:port, [ipv6]:port or :port (port 0: any free port), or \"\" for no HTTP");
		return false;
	}
	return true;
}

bool v_oneof(const char *v, const char *const *allowed, char *why, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(v, allowed[i]) == 0)
			return true;
	o += (size_t)snprintf(why, n, "one of");
	for (size_t i = 0; allowed[i] && o < n; i++)
		o += (size_t)snprintf(why + o, n - o, "%s %s", i ? "," : "", allowed[i]);
	return false;
}
