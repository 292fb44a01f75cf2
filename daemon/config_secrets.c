/* config_secrets.c - the configuration's secrets: which values they are, and
 * scrubbing them from messages (conninfo passwords, secret Kafka properties). */

#include "config_internal.h"

#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

bool config_kafka_prop_secret(const char *name)
{
	return strstr(name, "password") || strstr(name, "secret") || strcmp(name, "ssl.key.pem") == 0 ||
	       strcmp(name, "sasl.oauthbearer.config") == 0;
}

static bool add_secret(struct config *cfg, const char *value)
{
	if (!value || strlen(value) < 3) /* scrubbing one or two characters would mangle every message */
		return true;
	char **n = realloc(cfg->secrets, (cfg->nsecrets + 1) * sizeof(*n));
	if (!n)
		return false;
	cfg->secrets = n;
	n[cfg->nsecrets] = strdup(value);
	if (!n[cfg->nsecrets])
		return false;
	cfg->nsecrets++;
	return true;
}

/* The values config_redact scrubs: the conninfo's password and secret Kafka properties. */
bool config_collect_secrets(struct config *cfg)
{
	PQconninfoOption *opts = PQconninfoParse(cfg->postgres_conninfo, NULL);
	bool ok = true;
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val)
			ok &= add_secret(cfg, o->val);
	PQconninfoFree(opts);
	for (size_t i = 0; i < cfg->nkafka_props; i++)
		if (config_kafka_prop_secret(cfg->kafka_props[i].name))
			ok &= add_secret(cfg, cfg->kafka_props[i].value);
	return ok;
}

void config_mask_conninfo(const char *conninfo, char *buf, size_t len)
{
	/* Mask "password=..." in key=value form and ":secret@" in URIs. */
	size_t o = 0;
	const char *p = conninfo;
	while (*p && o + 1 < len) {
		if (strncmp(p, "password", 8) == 0) {
			const char *q = p + 8;
			while (*q == ' ')
				q++;
			if (*q == '=') {
				q++;
				while (*q == ' ')
					q++;
				o += (size_t)snprintf(buf + o, len - o, "password=***");
				if (*q == '\'') {
					for (q++; *q && *q != '\''; q++)
						if (*q == '\\' && q[1])
							q++;
					if (*q)
						q++;
				} else {
					while (*q && *q != ' ' && *q != '&')
						q++;
				}
				p = q;
				continue;
			}
		}
		if (strncmp(p, "://", 3) == 0) {
			const char *at = strchr(p + 3, '@');
			const char *colon = strchr(p + 3, ':');
			const char *slash = strchr(p + 3, '/');
			if (at && colon && colon < at && (!slash || at < slash)) {
				size_t userlen = (size_t)(colon - p);
				if (o + userlen + 5 < len) {
					memcpy(buf + o, p, userlen);
					o += userlen;
					o += (size_t)snprintf(buf + o, len - o, ":***");
					p = at;
					continue;
				}
			}
		}
		buf[o++] = *p++;
	}
	buf[o < len ? o : len - 1] = '\0';
}

void config_redact(const struct config *cfg, char *msg)
{
	for (size_t i = 0; i < cfg->nsecrets; i++) {
		const char *s = cfg->secrets[i];
		size_t sl = strlen(s);
		char *hit;
		while ((hit = strstr(msg, s)) != NULL) {
			/* "***" is never longer than the secret (at least 3 characters). */
			hit[0] = hit[1] = hit[2] = '*';
			memmove(hit + 3, hit + sl, strlen(hit + sl) + 1);
		}
	}
}
