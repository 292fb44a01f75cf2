/* config_file.c - the configuration file (YAML through libyaml) and the SLAD_*
 * environment overrides. */

#include "config_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

extern char **environ;

/* Where the walk through the YAML document is: the mapping keys above, the key waiting for its value. */
struct yaml_walk {
	struct config *cfg;
	const char *path;
	struct errs *e;
	char stack[8][128];
	int depth;
	char pending_key[128];
	unsigned long key_line;
	bool have_key, ok, done;
};

/* Stops the walk at a problem it cannot go on after. */
static void walk_fail(struct yaml_walk *w)
{
	w->ok = false;
	w->done = true;
}

static void walk_mapping_start(struct yaml_walk *w, unsigned long line)
{
	if (w->depth > 0 || w->have_key) {
		if (!w->have_key || w->depth >= 7) {
			errs_add(w->e, "%s:%lu: unexpected mapping", w->path, line);
			walk_fail(w);
			return;
		}
		snprintf(w->stack[w->depth], sizeof(w->stack[w->depth]), "%s", w->pending_key);
		w->have_key = false;
	}
	w->depth++;
}

/* A key, or the value of the key before it: set as the dotted name of the mappings above. */
static void walk_scalar(struct yaml_walk *w, const char *val, unsigned long line)
{
	if (w->depth == 0) {
		errs_add(w->e, "%s:%lu: the file must be a mapping of keys to values", w->path, line);
		walk_fail(w);
		return;
	}
	if (!w->have_key) {
		snprintf(w->pending_key, sizeof(w->pending_key), "%s", val);
		w->key_line = line;
		w->have_key = true;
		return;
	}
	char full[512] = "", where[CONFIG_WHERE_MAX];
	for (int i = 1; i < w->depth; i++) {
		strncat(full, w->stack[i], sizeof(full) - strlen(full) - 2);
		strcat(full, ".");
	}
	strncat(full, w->pending_key, sizeof(full) - strlen(full) - 1);
	snprintf(where, sizeof(where), "%.80s:%lu", w->path, w->key_line);
	if (!config_set_by_name(w->cfg, full, val, where, true, w->e))
		w->ok = false; /* go on: report every bad key */
	w->have_key = false;
}

static void walk_event(struct yaml_walk *w, const yaml_event_t *ev)
{
	unsigned long line = (unsigned long)ev->start_mark.line + 1;
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		walk_mapping_start(w, line);
		break;
	case YAML_MAPPING_END_EVENT:
		w->depth--;
		break;
	case YAML_SEQUENCE_START_EVENT:
		errs_add(w->e, "%s:%lu: %s: lists are not configuration values", w->path, line,
			 w->have_key ? w->pending_key : "?");
		walk_fail(w);
		break;
	case YAML_ALIAS_EVENT:
		errs_add(w->e, "%s:%lu: aliases are not supported", w->path, line);
		walk_fail(w);
		break;
	case YAML_SCALAR_EVENT:
		walk_scalar(w, (const char *)ev->data.scalar.value, line);
		break;
	case YAML_STREAM_END_EVENT:
		w->done = true;
		break;
	default:
		break;
	}
}

/* Walks a YAML document of nested mappings, turning scalars into dotted keys. */
bool config_load_yaml(struct config *cfg, const char *path, FILE *f, struct errs *e)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct yaml_walk w = {.cfg = cfg, .path = path, .e = e, .ok = true};

	if (!yaml_parser_initialize(&parser)) {
		errs_add(e, "%s: cannot initialise the YAML parser", path);
		return false;
	}
	yaml_parser_set_input_file(&parser, f);
	while (!w.done) {
		if (!yaml_parser_parse(&parser, &ev)) {
			errs_add(e, "%s:%zu: %s%s%s", path, parser.problem_mark.line + 1,
				 parser.problem ? parser.problem : "YAML syntax error", parser.context ? " " : "",
				 parser.context ? parser.context : "");
			w.ok = false;
			break;
		}
		walk_event(&w, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return w.ok;
}

/* SLAD_KAFKA__SESSION_TIMEOUT_MS -> session.timeout.ms; "__" stands for "_". */
static void env_to_prop(const char *s, char *out, size_t len)
{
	size_t o = 0;
	for (; *s && o + 1 < len; s++) {
		if (s[0] == '_' && s[1] == '_') {
			out[o++] = '_';
			s++;
		} else {
			out[o++] = *s == '_' ? '.' : (char)tolower((unsigned char)*s);
		}
	}
	out[o] = '\0';
}

/* SLAD_<SECTION>_<KEY>: the key upper-cased, dots as underscores. */
void config_key_env_name(const char *key, char *env, size_t len)
{
	size_t n = (size_t)snprintf(env, len, "SLAD_");
	for (const char *p = key; *p && n + 1 < len; p++)
		env[n++] = *p == '.' ? '_' : (char)toupper((unsigned char)*p);
	env[n < len ? n : len - 1] = '\0';
}

void config_load_env(struct config *cfg, struct errs *e)
{
	for (size_t i = 0; i < config_nkeys; i++) {
		char env[CONFIG_ENV_MAX];
		config_key_env_name(config_keys[i].name, env, sizeof(env));
		const char *v = getenv(env);
		if (v)
			(void)config_set_key(cfg, i, v, env, e);
	}
	for (char **ep = environ; ep && *ep; ep++) {
		const char *eq = strchr(*ep, '=');
		if (strncmp(*ep, "SLAD_KAFKA__", 12) != 0 || !eq || eq == *ep + 12)
			continue;
		char var[128], prop[128];
		size_t vl = (size_t)(eq - *ep);
		if (vl >= sizeof(var))
			continue;
		memcpy(var, *ep, vl);
		var[vl] = '\0';
		env_to_prop(var + 12, prop, sizeof(prop));
		(void)config_set_kafka_prop(cfg, prop, eq + 1, var, false, e);
	}
}
