/* policy_file.c - reading and validating SLA policies from YAML (libyaml's document API). */
#include "slad/policy_file.h"
#include "slad/arrays.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct parse {
	yaml_document_t doc;
	const char *name;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 3, 4))) static bool fail_at(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%lu: %s", p->name, n ? (unsigned long)n->start_mark.line + 1 : 0UL, msg);
	return false;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool parse_long(struct parse *p, const yaml_node_t *n, const char *key, long min, long max, long *out)
{
	const char *s = scalar(n);
	char *end;
	if (!s)
		return fail_at(p, n, "%s: expected a number", key);
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return fail_at(p, n, "%s: expected a whole number from %ld to %ld, got \"%s\"", key, min, max, s);
	*out = v;
	return true;
}

static int name_index(const char *s, const char *(*name)(int), int count)
{
	for (int i = 0; i < count; i++)
		if (strcmp(s, name(i)) == 0)
			return i;
	return -1;
}

static const char *ms_name_i(int i) { return milestone_name((enum sla_milestone_kind)i); }
static const char *tt_name_i(int i) { return ticket_type_name((enum sla_ticket_type)i); }

static bool parse_deadline(struct parse *p, const yaml_node_t *n, struct sla_deadline *d)
{
	static const struct {
		const char *name;
		enum sla_deadline_kind kind;
		bool amount;
	} kinds[] = {
		{"WITHIN", DL_WITHIN, true},		 {"OFFICE_HOURS", DL_OFFICE_HOURS, true},
		{"RESPONSE_DAY", DL_RESPONSE_DAY, false}, {"WORKING_DAYS", DL_WORKING_DAYS, true},
		{"NATURAL_DAYS", DL_NATURAL_DAYS, true},	 {"BUSINESS_MINUTES", DL_BUSINESS_MINUTES, true},
	};
	static const struct {
		const char *name;
		enum sla_at_field field;
	} fields[] = {
		{"required_arrival_at", AF_REQUIRED_ARRIVAL},
		{"effective_arrival", AF_EFFECTIVE_ARRIVAL},
		{"service_start_at", AF_SERVICE_START},
		{"planned_start_at", AF_PLANNED_START},
	};
	const char *s = scalar(n);
	char word[32] = "", arg[64] = "", sign[4] = "", off[32] = "";
	if (!s)
		return fail_at(p, n, "deadline: expected text such as \"WITHIN 10\"");
	int k = sscanf(s, "%31s %63s %3s %31s", word, arg, sign, off);
	memset(d, 0, sizeof(*d));
	if (strcmp(word, "FIRST_WORKING_DAY") == 0 && k == 1) {
		d->kind = DL_WORKING_DAYS; /* the report rules of rules.md 3 */
		return true;
	}
	if (strcmp(word, "AT") == 0) {
		d->kind = DL_AT;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (k >= 2 && strcmp(arg, fields[i].name) == 0)
				d->field = fields[i].field;
		if (d->field == AF_NONE)
			return fail_at(p, n, "deadline \"%s\": AT takes required_arrival_at, effective_arrival, "
					     "service_start_at or planned_start_at", s);
		if (k == 2)
			return true;
		char *end;
		long days = strtol(off, &end, 10);
		if (k != 4 || (strcmp(sign, "+") != 0 && strcmp(sign, "-") != 0) || end == off || strcmp(end, "d") != 0 ||
		    days < 0 || days > 3650)
			return fail_at(p, n, "deadline \"%s\": expected AT field, AT field + Nd or AT field - Nd", s);
		d->offset_days = (int)(sign[0] == '-' ? -days : days);
		return true;
	}
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(word, kinds[i].name) != 0)
			continue;
		d->kind = kinds[i].kind;
		if (!kinds[i].amount) {
			if (k != 1)
				return fail_at(p, n, "deadline \"%s\": %s takes no amount", s, word);
			return true;
		}
		char *end;
		long v = k == 2 ? strtol(arg, &end, 10) : -1;
		if (k != 2 || *end || v < 0 || v > 1000000)
			return fail_at(p, n, "deadline \"%s\": %s takes one whole number", s, word);
		d->amount = (int)v;
		return true;
	}
	return fail_at(p, n, "deadline \"%s\": unknown kind %s", s, word);
}

static bool parse_rule(struct parse *p, yaml_node_t *n, struct sla_policy_rule *r)
{
	if (n->type != YAML_MAPPING_NODE)
		return fail_at(p, n, "milestones: each entry is a mapping");
	memset(r, 0, sizeof(*r));
	bool have_ms = false, have_types = false, have_deadline = false;
	long lead = 0;
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(&p->doc, pr->key), *vn = yaml_document_get_node(&p->doc, pr->value);
		const char *key = scalar(kn), *val = scalar(vn);
		if (!key)
			return fail_at(p, kn, "milestones: keys are words");
		if (strcmp(key, "milestone") == 0) {
			int i = val ? name_index(val, ms_name_i, MS_COUNT) : -1;
			if (i < 0)
				return fail_at(p, vn, "milestone: unknown milestone \"%s\"", val ? val : "");
			r->milestone = (enum sla_milestone_kind)i;
			have_ms = true;
		} else if (strcmp(key, "ticket_types") == 0) {
			if (vn->type != YAML_SEQUENCE_NODE)
				return fail_at(p, vn, "ticket_types: expected a list such as [MAINTENANCE, ONE_OFF]");
			for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
				yaml_node_t *tn = yaml_document_get_node(&p->doc, *it);
				const char *tv = scalar(tn);
				int i = tv ? name_index(tv, tt_name_i, TT_COUNT) : -1;
				if (i <= 0)
					return fail_at(p, tn, "ticket_types: unknown ticket type \"%s\"", tv ? tv : "");
				r->ticket_types |= 1u << i;
			}
			have_types = r->ticket_types != 0;
		} else if (strcmp(key, "sla_class") == 0) {
			if (val && strcmp(val, "HOURLY") == 0)
				r->sla_class = SC_HOURLY;
			else if (val && strcmp(val, "NON_HOURLY") == 0)
				r->sla_class = SC_NON_HOURLY;
			else
				return fail_at(p, vn, "sla_class: HOURLY or NON_HOURLY");
		} else if (strcmp(key, "severity") == 0) {
			static const char *const sev[] = {"I", "II", "III", "IV"};
			r->severity = 0;
			for (int i = 0; i < 4; i++)
				if (val && strcmp(val, sev[i]) == 0)
					r->severity = i + 1;
			if (!r->severity)
				return fail_at(p, vn, "severity: I, II, III or IV");
		} else if (strcmp(key, "risk_score") == 0) {
			long lo = 0, hi = 0;
			if (vn->type != YAML_SEQUENCE_NODE || vn->data.sequence.items.top - vn->data.sequence.items.start != 2)
				return fail_at(p, vn, "risk_score: expected [min, max]");
			if (!parse_long(p, yaml_document_get_node(&p->doc, vn->data.sequence.items.start[0]), "risk_score", 0,
					1000000, &lo) ||
			    !parse_long(p, yaml_document_get_node(&p->doc, vn->data.sequence.items.start[1]), "risk_score", lo,
					1000000, &hi))
				return false;
			r->risk_min = (int)lo;
			r->risk_max = (int)hi;
		} else if (strcmp(key, "deadline") == 0) {
			if (!parse_deadline(p, vn, &r->deadline))
				return false;
			have_deadline = true;
		} else if (strcmp(key, "lead_days") == 0) {
			if (!parse_long(p, vn, "lead_days", 1, 3650, &lead))
				return false;
		} else {
			return fail_at(p, kn, "milestones: unknown key \"%s\"", key);
		}
	}
	if (!have_ms || !have_types || !have_deadline)
		return fail_at(p, n, "milestones: each entry needs milestone, ticket_types and deadline");
	if (lead && r->deadline.kind != DL_AT)
		return fail_at(p, n, "lead_days goes with an AT deadline");
	r->deadline.lead_days = (int)lead;
	return true;
}

static bool parse_thresholds(struct parse *p, yaml_node_t *n, struct sla_policy *pol)
{
	static const struct {
		const char *key;
		size_t offset;
		long min, max;
	} ints[] = {
		{"reject_late_minutes_hourly", offsetof(struct sla_thresholds, reject_late_min_hourly), 0, 100000},
		{"reject_late_minutes_other", offsetof(struct sla_thresholds, reject_late_min_other), 0, 100000},
		{"change_plan_valid_days", offsetof(struct sla_thresholds, change_plan_valid_days), 0, 3650},
		{"change_verify_minutes", offsetof(struct sla_thresholds, change_verify_min), 0, 100000},
		{"warning_percent", offsetof(struct sla_thresholds, warning_pct), 1, 99},
		{"attendance_improvement_per_month", offsetof(struct sla_thresholds, attendance_improvement_month), 0, 31},
		{"attendance_replacement_per_3_months", offsetof(struct sla_thresholds, attendance_replacement_3m), 0, 93},
	};
	if (n->type != YAML_MAPPING_NODE)
		return fail_at(p, n, "thresholds: expected a mapping");
	for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(&p->doc, pr->key), *vn = yaml_document_get_node(&p->doc, pr->value);
		const char *key = scalar(kn);
		bool known = false;
		if (key && strcmp(key, "clock_max_distance_km") == 0) {
			const char *v = scalar(vn);
			char *end;
			double km = v ? strtod(v, &end) : -1;
			if (!v || *end || !(km > 0 && km < 1000))
				return fail_at(p, vn, "clock_max_distance_km: expected a distance in km, e.g. 3.0");
			pol->clock_max_distance_km = km;
			continue;
		}
		for (size_t i = 0; key && i < sizeof(ints) / sizeof(ints[0]); i++) {
			if (strcmp(key, ints[i].key) != 0)
				continue;
			long v = 0;
			if (!parse_long(p, vn, key, ints[i].min, ints[i].max, &v))
				return false;
			*(int *)((char *)&pol->th + ints[i].offset) = (int)v;
			known = true;
		}
		if (!known)
			return fail_at(p, kn, "thresholds: unknown key \"%s\"", key ? key : "");
	}
	return true;
}

struct sla_policy *policy_copy_defaults(void)
{
	const struct sla_policy *def = policy_defaults();
	struct sla_policy *pol = calloc(1, sizeof(*pol));
	if (!pol)
		return NULL;
	*pol = *def;
	pol->rules = malloc((size_t)def->nrules * sizeof(*pol->rules));
	if (!pol->rules) {
		free(pol);
		return NULL;
	}
	memcpy(pol->rules, def->rules, (size_t)def->nrules * sizeof(*pol->rules));
	return pol;
}

void policy_free(struct sla_policy *pol)
{
	if (!pol)
		return;
	free(pol->rules);
	free(pol);
}

struct sla_policy *policy_parse(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	yaml_parser_t parser;
	struct parse p = {.name = name, .err = err, .errlen = errlen};
	struct sla_policy *pol = NULL;
	bool have_doc = false, have_milestones = false;

	if (!yaml_parser_initialize(&parser)) {
		snprintf(err, errlen, "%s: cannot initialise the YAML parser", name);
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &p.doc)) {
		snprintf(err, errlen, "%s:%lu: %s", name, (unsigned long)parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "YAML syntax error");
		goto fail;
	}
	have_doc = true;
	yaml_node_t *root = yaml_document_get_root_node(&p.doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		fail_at(&p, root, "expected a mapping with thresholds and milestones");
		goto fail;
	}
	pol = policy_copy_defaults();
	if (!pol) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (yaml_node_pair_t *pr = root->data.mapping.pairs.start; pr < root->data.mapping.pairs.top; pr++) {
		yaml_node_t *kn = yaml_document_get_node(&p.doc, pr->key), *vn = yaml_document_get_node(&p.doc, pr->value);
		const char *key = scalar(kn);
		if (key && strcmp(key, "thresholds") == 0) {
			if (!parse_thresholds(&p, vn, pol))
				goto fail;
		} else if (key && strcmp(key, "milestones") == 0) {
			if (vn->type != YAML_SEQUENCE_NODE) {
				fail_at(&p, vn, "milestones: expected a list");
				goto fail;
			}
			int n = (int)(vn->data.sequence.items.top - vn->data.sequence.items.start);
			struct sla_policy_rule *rules = calloc(n ? (size_t)n : 1, sizeof(*rules));
			if (!rules) {
				snprintf(err, errlen, "out of memory");
				goto fail;
			}
			free(pol->rules);
			pol->rules = rules;
			pol->nrules = 0;
			for (yaml_node_item_t *it = vn->data.sequence.items.start; it < vn->data.sequence.items.top; it++) {
				if (!parse_rule(&p, yaml_document_get_node(&p.doc, *it), &pol->rules[pol->nrules]))
					goto fail;
				pol->nrules++;
			}
			have_milestones = true;
		} else {
			fail_at(&p, kn, "unknown key \"%s\" (expected thresholds, milestones)", key ? key : "");
			goto fail;
		}
	}
	if (!have_milestones) {
		fail_at(&p, root, "milestones: missing");
		goto fail;
	}
	policy_finalize(pol);
	yaml_document_delete(&p.doc);
	yaml_parser_delete(&parser);
	return pol;
fail:
	policy_free(pol);
	if (have_doc)
		yaml_document_delete(&p.doc);
	yaml_parser_delete(&parser);
	return NULL;
}

struct sla_policy *policy_load_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		if (!array_grow_from((void **)&buf, &cap, len + 4096, 1, 16384) || cap > 16 * 1024 * 1024) {
			free(buf);
			fclose(f);
			snprintf(err, errlen, "%s: too large", path);
			return NULL;
		}
		size_t got = fread(buf + len, 1, cap - len, f);
		len += got;
		if (got == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		snprintf(err, errlen, "%s: read error", path);
		return NULL;
	}
	struct sla_policy *pol = policy_parse(buf, len, path, err, errlen);
	free(buf);
	return pol;
}
