/* scenario.c - runs tests/unit/cases/NAME.scn: JSON Lines events, clock moves, expectations (scenario.h). */
#include "scenario.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/core.h"
#include "slad/jsonl.h"
#include "table.h"

#define MAX_TOKENS 16

struct scn {
	const char *path;
	int line;
	char *err;
	size_t errlen;

	struct cal_exception *exc;
	size_t nexc, capexc;
	struct calendar_set cals;
	struct sla_core *core;
	struct sla_out out;

	sla_time clock;
	char ticket[SLA_ID_MAX + 1];
	bool have_verdict;
	enum sla_verdict verdict;
	int64_t offset;

	struct sla_history *hist; /* every status change so far */
	size_t nhist, caphist;
	struct sla_out kept; /* kept.orphans: rows re-derived tickets no longer have, as a store keeps them */
	struct sla_escalation *esc; /* every escalation so far */
	size_t nesc, capesc;
	int dead[SV_OVERSIZE + 1];
	int ndead;
	char last_dead[300];
};

__attribute__((format(printf, 2, 3))) static bool fail(struct scn *s, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(s->err, s->errlen, "%s:%d: %s", s->path, s->line, msg);
	return false;
}

static const char *fmt_time(sla_time t)
{
	static char bufs[8][48];
	static unsigned next;
	char *b = bufs[next++ % 8];
	if (t == SLA_TIME_NONE)
		snprintf(b, 48, "none");
	else
		rfc3339_format(t, 480, b, 48);
	return b;
}

static bool parse_time(struct scn *s, const char *txt, sla_time *out)
{
	if (strcmp(txt, "none") == 0) {
		*out = SLA_TIME_NONE;
		return true;
	}
	if (!rfc3339_parse(txt, out))
		return fail(s, "bad timestamp \"%s\"", txt);
	return true;
}

static const char *verdict_name(enum sla_verdict v)
{
	switch (v) {
	case SV_APPLIED: return "APPLIED";
	case SV_DUPLICATE: return "DUPLICATE";
	case SV_HELD: return "HELD";
	default: return verdict_reason(v) ? verdict_reason(v) : "?";
	}
}

/* The ticket's milestones and violations, for failure messages. */
static const char *dump_ticket(const struct sla_ticket *t)
{
	static char buf[1200];
	size_t n = 0;
	char code[48];
	buf[0] = '\0';
	if (!t)
		return "(no such ticket)";
	n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[state %s; milestones:", ticket_state_name(t->state));
	for (int i = 0; i < t->nms && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s/%d/%s due=%s stop=%s",
				      milestone_name(t->ms[i].kind), t->ms[i].occurrence,
				      ms_status_name(t->ms[i].status), fmt_time(t->ms[i].due_at),
				      fmt_time(t->ms[i].stopped_at));
	if (n < sizeof(buf))
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "; violations:");
	for (int i = 0; i < t->nvs && n < sizeof(buf); i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s/%d/%s",
				      violation_code(&t->vs[i], code, sizeof(code)), t->vs[i].occurrence,
				      v_status_name(t->vs[i].status));
	if (n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, "]");
	return buf;
}

static bool start_core(struct scn *s)
{
	struct calendar cn;
	if (s->core)
		return true;
	calendar_init_cn(&cn);
	cn.exceptions = s->exc;
	cn.nexceptions = s->nexc;
	s->exc = NULL;
	s->nexc = s->capexc = 0;
	if (!calendar_set_add(&s->cals, &cn)) {
		calendar_free(&cn);
		return fail(s, "out of memory");
	}
	s->core = core_new(policy_defaults(), &s->cals);
	if (!s->core)
		return fail(s, "core_new failed");
	core_out_init(&s->out);
	return true;
}

/* Moves what the core reported into the scenario's own log, as a store would. */
static bool harvest(struct scn *s)
{
	for (size_t i = 0; i < s->out.nhist; i++) {
		if (s->nhist == s->caphist) {
			size_t cap = s->caphist ? s->caphist * 2 : 32;
			struct sla_history *h = realloc(s->hist, cap * sizeof(*h));
			if (!h)
				return fail(s, "out of memory");
			s->hist = h;
			s->caphist = cap;
		}
		s->hist[s->nhist++] = s->out.hist[i];
	}
	for (size_t i = 0; i < s->out.nesc; i++) {
		if (s->nesc == s->capesc) {
			size_t cap = s->capesc ? s->capesc * 2 : 32;
			struct sla_escalation *e = realloc(s->esc, cap * sizeof(*e));
			if (!e)
				return fail(s, "out of memory");
			s->esc = e;
			s->capesc = cap;
		}
		s->esc[s->nesc++] = s->out.esc[i];
	}
	for (size_t i = 0; i < s->out.norphans; i++) {
		if (s->kept.norphans == s->kept.caporphans) {
			size_t cap = s->kept.caporphans ? s->kept.caporphans * 2 : 8;
			struct sla_ticket **o = realloc(s->kept.orphans, cap * sizeof(*o));
			if (!o)
				return fail(s, "out of memory");
			s->kept.orphans = o;
			s->kept.caporphans = cap;
		}
		s->kept.orphans[s->kept.norphans++] = s->out.orphans[i];
	}
	s->out.norphans = 0; /* ours now */
	for (size_t i = 0; i < s->out.ndead; i++) {
		const struct sla_dead *d = &s->out.dead[i];
		if ((unsigned)d->reason <= SV_OVERSIZE)
			s->dead[d->reason]++;
		s->ndead++;
		snprintf(s->last_dead, sizeof(s->last_dead), "%s: %s", verdict_name(d->reason), d->detail);
	}
	core_out_clear(&s->out);
	return true;
}

static bool do_event(struct scn *s, const char *line)
{
	struct jsonl_event je;
	char err[256];
	if (!start_core(s))
		return false;
	if (!jsonl_parse_event(line, &je, err, sizeof(err)))
		return fail(s, "bad event line: %s", err);
	if (!s->ticket[0])
		snprintf(s->ticket, sizeof(s->ticket), "%s", je.key);
	sla_time now = je.occurred_at > s->clock || s->clock == SLA_TIME_NONE ? je.occurred_at : s->clock;
	s->clock = now;
	struct sla_origin o = {topic_default_name(je.topic), 0, ++s->offset, je.payload, je.len, 0};
	s->verdict = core_apply_raw(s->core, &o, now, &s->out);
	s->have_verdict = true;
	jsonl_event_clear(&je);
	return harvest(s);
}

static bool do_directive(struct scn *s, char **tok, int ntok)
{
	if ((strcmp(tok[0], "@holiday") == 0 || strcmp(tok[0], "@workday") == 0) && ntok == 2) {
		int64_t day;
		if (s->core)
			return fail(s, "%s must come before the first event", tok[0]);
		if (!date_parse(tok[1], &day))
			return fail(s, "bad date \"%s\"", tok[1]);
		if (s->nexc == s->capexc) {
			size_t cap = s->capexc ? s->capexc * 2 : 8;
			struct cal_exception *e = realloc(s->exc, cap * sizeof(*e));
			if (!e)
				return fail(s, "out of memory");
			s->exc = e;
			s->capexc = cap;
		}
		s->exc[s->nexc].day = day;
		s->exc[s->nexc].kind = tok[0][1] == 'h' ? CAL_HOLIDAY : CAL_WORKDAY;
		s->nexc++;
		return true;
	}
	if (strcmp(tok[0], "@advance") == 0 && ntok == 2) {
		sla_time t;
		if (!start_core(s) || !parse_time(s, tok[1], &t))
			return false;
		if (s->clock != SLA_TIME_NONE && t < s->clock)
			return fail(s, "@advance goes back in time (clock is %s)", fmt_time(s->clock));
		s->clock = t;
		core_advance(s->core, t, &s->out);
		return harvest(s);
	}
	/* The processing clock of the events that follow, without advancing the core: a
	 * caught-up daemon's wall clock, ahead of the old events it has just received. */
	if (strcmp(tok[0], "@clock") == 0 && ntok == 2) {
		sla_time t;
		if (!parse_time(s, tok[1], &t))
			return false;
		if (s->clock != SLA_TIME_NONE && t < s->clock)
			return fail(s, "@clock goes back in time (clock is %s)", fmt_time(s->clock));
		s->clock = t;
		return true;
	}
	if (strcmp(tok[0], "@ticket") == 0 && ntok == 2) {
		snprintf(s->ticket, sizeof(s->ticket), "%s", tok[1]);
		return true;
	}
	return fail(s, "unknown directive \"%s\" (or wrong number of arguments)", tok[0]);
}

static const struct sla_ticket *cur_ticket(struct scn *s)
{
	return s->core ? core_find(s->core, s->ticket) : NULL;
}

/* key=value options after the positional tokens. */
static const char *opt(char **tok, int ntok, int from, const char *key)
{
	size_t k = strlen(key);
	for (int i = from; i < ntok; i++)
		if (strncmp(tok[i], key, k) == 0 && tok[i][k] == '=')
			return tok[i] + k + 1;
	return NULL;
}

static bool check_opt_time(struct scn *s, char **tok, int ntok, int from, const char *key, sla_time got,
			   const char *what, const struct sla_ticket *t)
{
	const char *v = opt(tok, ntok, from, key);
	sla_time want;
	if (!v)
		return true;
	if (!parse_time(s, v, &want))
		return false;
	if (want != got)
		return fail(s, "%s %s: expected %s, got %s %s", what, key, fmt_time(want), fmt_time(got),
			    dump_ticket(t));
	return true;
}

static bool check_unknown_opts(struct scn *s, char **tok, int ntok, int from, const char *const *keys)
{
	for (int i = from; i < ntok; i++) {
		bool known = false;
		for (const char *const *k = keys; *k; k++) {
			size_t n = strlen(*k);
			if (strncmp(tok[i], *k, n) == 0 && tok[i][n] == '=')
				known = true;
		}
		if (!known)
			return fail(s, "unknown option \"%s\"", tok[i]);
	}
	return true;
}

static bool expect_milestone(struct scn *s, char **tok, int ntok)
{
	static const char *const keys[] = {"due", "start", "stopped", "part", NULL};
	const struct sla_ticket *t = cur_ticket(s);
	const struct sla_milestone *m = NULL;
	const struct sla_ticket *owner = t; /* whose m is */
	char what[96];
	if (ntok < 4)
		return fail(s, "usage: = milestone KIND OCCURRENCE STATUS [due=] [start=] [stopped=] [part=]");
	if (!check_unknown_opts(s, tok, ntok, 4, keys))
		return false;
	if (!t)
		return fail(s, "no ticket %s", s->ticket);
	int occ = atoi(tok[2]);
	for (int i = 0; i < t->nms; i++)
		if (strcmp(milestone_name(t->ms[i].kind), tok[1]) == 0 && t->ms[i].occurrence == occ)
			m = &t->ms[i];
	for (size_t k = s->kept.norphans; !m && k-- > 0;) /* a row a re-derived ticket no longer has */
		for (int i = 0; strcmp(s->kept.orphans[k]->ticket_id, t->ticket_id) == 0 && i < s->kept.orphans[k]->nms; i++)
			if (strcmp(milestone_name(s->kept.orphans[k]->ms[i].kind), tok[1]) == 0 &&
			    s->kept.orphans[k]->ms[i].occurrence == occ) {
				m = &s->kept.orphans[k]->ms[i];
				owner = s->kept.orphans[k];
			}
	if (!m)
		return fail(s, "no milestone %s %d %s", tok[1], occ, dump_ticket(t));
	snprintf(what, sizeof(what), "milestone %s %d", tok[1], occ);
	if (strcmp(ms_status_name(m->status), tok[3]) != 0)
		return fail(s, "%s: expected %s, got %s %s", what, tok[3], ms_status_name(m->status), dump_ticket(t));
	const char *part = opt(tok, ntok, 4, "part");
	const char *part_id = ms_part_id(owner, (int)(m - owner->ms));
	if (part && strcmp(part, part_id) != 0)
		return fail(s, "%s: expected part %s, got %s", what, part, part_id);
	return check_opt_time(s, tok, ntok, 4, "due", m->due_at, what, t) &&
	       check_opt_time(s, tok, ntok, 4, "start", m->started_at, what, t) &&
	       check_opt_time(s, tok, ntok, 4, "stopped", m->stopped_at, what, t);
}

/* occ 0: any occurrence; active: only PROVISIONAL or CONFIRMED ones. */
static const struct sla_violation *find_violation(const struct sla_ticket *t, const char *code, int occ, bool active)
{
	char buf[48];
	for (int i = 0; i < t->nvs; i++)
		if (strcmp(violation_code(&t->vs[i], buf, sizeof(buf)), code) == 0 &&
		    (occ == 0 || t->vs[i].occurrence == occ) && (!active || t->vs[i].status != VS_RETRACTED))
			return &t->vs[i];
	return NULL;
}

/* A violation row: the ticket's, else the latest orphan row with that key (a re-derived ticket's). */
static const struct sla_violation *find_violation_row(struct scn *s, const struct sla_ticket *t, const char *code,
						      int occ, bool active)
{
	const struct sla_violation *v = find_violation(t, code, occ, active);
	for (size_t i = s->kept.norphans; !v && i-- > 0;)
		if (strcmp(s->kept.orphans[i]->ticket_id, t->ticket_id) == 0)
			v = find_violation(s->kept.orphans[i], code, occ, active);
	return v;
}

static bool expect_violation(struct scn *s, char **tok, int ntok)
{
	static const char *const keys[] = {"due", "observed", "detected", "engineer", NULL};
	const struct sla_ticket *t = cur_ticket(s);
	char what[96];
	if (ntok < 4)
		return fail(s, "usage: = violation CODE OCCURRENCE STATUS [due=] [observed=] [detected=] [engineer=]");
	if (!check_unknown_opts(s, tok, ntok, 4, keys))
		return false;
	if (!t)
		return fail(s, "no ticket %s", s->ticket);
	int occ = atoi(tok[2]);
	const struct sla_violation *v = find_violation_row(s, t, tok[1], occ, false);
	if (!v)
		return fail(s, "no violation %s %d %s", tok[1], occ, dump_ticket(t));
	snprintf(what, sizeof(what), "violation %s %d", tok[1], occ);
	if (strcmp(v_status_name(v->status), tok[3]) != 0)
		return fail(s, "%s: expected %s, got %s %s", what, tok[3], v_status_name(v->status), dump_ticket(t));
	const char *eng = opt(tok, ntok, 4, "engineer");
	if (eng && strcmp(eng, v->engineer_id) != 0)
		return fail(s, "%s: expected engineer %s, got %s", what, eng, v->engineer_id);
	return check_opt_time(s, tok, ntok, 4, "due", v->due_at, what, t) &&
	       check_opt_time(s, tok, ntok, 4, "observed", v->observed_at, what, t) &&
	       check_opt_time(s, tok, ntok, 4, "detected", v->detected_at, what, t);
}

static bool expect_history(struct scn *s, char **tok, int ntok)
{
	char got[512] = "";
	size_t n = 0;
	if (ntok != 4)
		return fail(s, "usage: = history CODE OCCURRENCE STATUS,STATUS,...");
	int occ = atoi(tok[2]);
	for (size_t i = 0; i < s->nhist; i++) {
		const struct sla_history *h = &s->hist[i];
		if (strcmp(h->ticket_id, s->ticket) != 0 || strcmp(h->rule_code, tok[1]) != 0 || h->occurrence != occ)
			continue;
		n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", n ? "," : "", v_status_name(h->status));
		if (n >= sizeof(got))
			break;
	}
	if (strcmp(got, tok[3]) != 0)
		return fail(s, "history %s %d: expected %s, got %s", tok[1], occ, tok[3], got[0] ? got : "(none)");
	return true;
}

/* The current ticket's escalations so far, for failure messages. */
static const char *dump_escalations(struct scn *s)
{
	static char buf[1200];
	size_t n = 0;
	buf[0] = '\0';
	n += (size_t)snprintf(buf, sizeof(buf), "[escalations:");
	for (size_t i = 0; i < s->nesc && n < sizeof(buf); i++) {
		const struct sla_escalation *e = &s->esc[i];
		if (strcmp(e->ticket_id, s->ticket) != 0)
			continue;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, " %s/%d/%s at=%s", milestone_name(e->milestone),
				      e->occurrence, esc_level_name(e->level), fmt_time(e->at));
	}
	if (n < sizeof(buf))
		snprintf(buf + n, sizeof(buf) - n, "]");
	return buf;
}

/* = escalation MILESTONE OCC LEVEL [at=] [due=] [engineer=]: written exactly once.
 * = no-escalation MILESTONE [OCC [LEVEL]]: none written. */
static bool expect_escalation(struct scn *s, char **tok, int ntok, bool none)
{
	static const char *const keys[] = {"at", "due", "engineer", NULL};
	const struct sla_escalation *found = NULL;
	int count = 0;
	char what[96];
	if (none ? (ntok < 2 || ntok > 4) : ntok < 4)
		return fail(s, none ? "usage: = no-escalation MILESTONE [OCCURRENCE [LEVEL]]"
				    : "usage: = escalation MILESTONE OCCURRENCE LEVEL [at=] [due=] [engineer=]");
	if (!none && !check_unknown_opts(s, tok, ntok, 4, keys))
		return false;
	int occ = ntok > 2 ? atoi(tok[2]) : 0;
	for (size_t i = 0; i < s->nesc; i++) {
		const struct sla_escalation *e = &s->esc[i];
		if (strcmp(e->ticket_id, s->ticket) != 0 || strcmp(milestone_name(e->milestone), tok[1]) != 0 ||
		    (occ && e->occurrence != occ) || (ntok > 3 && strcmp(esc_level_name(e->level), tok[3]) != 0))
			continue;
		found = e;
		count++;
	}
	if (none) {
		if (count)
			return fail(s, "unexpected escalation %s %s", tok[1], dump_escalations(s));
		return true;
	}
	snprintf(what, sizeof(what), "escalation %s %d %s", tok[1], occ, tok[3]);
	if (!found)
		return fail(s, "no %s %s", what, dump_escalations(s));
	if (count > 1)
		return fail(s, "%s written %d times %s", what, count, dump_escalations(s));
	const char *eng = opt(tok, ntok, 4, "engineer");
	if (eng && strcmp(eng, found->engineer_id) != 0)
		return fail(s, "%s: expected engineer %s, got %s", what, eng, found->engineer_id);
	const char *const times[] = {"at", "due"};
	const sla_time got[] = {found->at, found->due_at};
	for (int k = 0; k < 2; k++) {
		const char *v = opt(tok, ntok, 4, times[k]);
		sla_time want;
		if (!v)
			continue;
		if (!parse_time(s, v, &want))
			return false;
		if (want != got[k])
			return fail(s, "%s %s: expected %s, got %s %s", what, times[k], fmt_time(want),
				    fmt_time(got[k]), dump_escalations(s));
	}
	return true;
}

static long count_escalations(struct scn *s)
{
	long n = 0;
	for (size_t i = 0; i < s->nesc; i++)
		if (strcmp(s->esc[i].ticket_id, s->ticket) == 0)
			n++;
	return n;
}

/* The ticket's violation rows: its own and the distinct orphan rows it no longer has. */
static long count_violation_rows(struct scn *s, const struct sla_ticket *t)
{
	char code[48];
	long n = t ? t->nvs : 0;
	for (size_t k = 0; t && k < s->kept.norphans; k++) {
		const struct sla_ticket *o = s->kept.orphans[k];
		if (strcmp(o->ticket_id, t->ticket_id) != 0)
			continue;
		for (int i = 0; i < o->nvs; i++) {
			bool seen = find_violation(t, violation_code(&o->vs[i], code, sizeof(code)), o->vs[i].occurrence,
						   false) != NULL;
			for (size_t j = k + 1; !seen && j < s->kept.norphans; j++)
				seen = strcmp(s->kept.orphans[j]->ticket_id, t->ticket_id) == 0 &&
				       find_violation(s->kept.orphans[j], code, o->vs[i].occurrence, false) != NULL;
			n += !seen;
		}
	}
	return n;
}

static bool expect_count(struct scn *s, const char *what, long want, long got, const struct sla_ticket *t)
{
	if (want != got)
		return fail(s, "%s: expected %ld, got %ld %s", what, want, got, dump_ticket(t));
	return true;
}

static bool do_expect(struct scn *s, char **tok, int ntok)
{
	const struct sla_ticket *t;
	if (ntok < 2)
		return fail(s, "empty expectation");
	tok++;
	ntok--;
	if (!start_core(s))
		return false;
	t = cur_ticket(s);

	if (strcmp(tok[0], "verdict") == 0 && ntok == 2) {
		if (!s->have_verdict)
			return fail(s, "no event applied yet");
		if (strcmp(verdict_name(s->verdict), tok[1]) != 0)
			return fail(s, "verdict: expected %s, got %s (last dead letter: %s)", tok[1],
				    verdict_name(s->verdict), s->last_dead[0] ? s->last_dead : "none");
		return true;
	}
	if (strcmp(tok[0], "milestone") == 0)
		return expect_milestone(s, tok, ntok);
	if (strcmp(tok[0], "violation") == 0)
		return expect_violation(s, tok, ntok);
	if (strcmp(tok[0], "history") == 0)
		return expect_history(s, tok, ntok);
	if (strcmp(tok[0], "escalation") == 0)
		return expect_escalation(s, tok, ntok, false);
	if (strcmp(tok[0], "no-escalation") == 0)
		return expect_escalation(s, tok, ntok, true);
	if (strcmp(tok[0], "escalations") == 0 && ntok == 2) {
		long got = count_escalations(s);
		if (got != atol(tok[1]))
			return fail(s, "escalations: expected %s, got %ld %s", tok[1], got, dump_escalations(s));
		return true;
	}
	if (strcmp(tok[0], "no-milestone") == 0 && ntok == 2) {
		for (int i = 0; t && i < t->nms; i++)
			if (strcmp(milestone_name(t->ms[i].kind), tok[1]) == 0)
				return fail(s, "unexpected milestone %s %s", tok[1], dump_ticket(t));
		return true;
	}
	if ((strcmp(tok[0], "no-violation") == 0 || strcmp(tok[0], "no-active-violation") == 0) &&
	    (ntok == 2 || ntok == 3)) {
		bool active = tok[0][3] == 'a';
		int occ = ntok == 3 ? atoi(tok[2]) : 0;
		if (t && find_violation_row(s, t, tok[1], occ, active))
			return fail(s, "unexpected violation %s %s", tok[1], dump_ticket(t));
		return true;
	}
	if (strcmp(tok[0], "milestones") == 0 && ntok == 2)
		return expect_count(s, "milestones", atol(tok[1]), t ? t->nms : 0, t);
	if (strcmp(tok[0], "violations") == 0 && ntok == 2) {
		long got = count_violation_rows(s, t);
		if (got == atol(tok[1]))
			return true;
		char rows[512] = "";
		size_t o = 0;
		for (size_t k = 0; t && k < s->kept.norphans && o < sizeof(rows) - 1; k++)
			for (int i = 0; strcmp(s->kept.orphans[k]->ticket_id, t->ticket_id) == 0 &&
					i < s->kept.orphans[k]->nvs && o < sizeof(rows) - 1;
			     i++) {
				char code[48];
				const struct sla_violation *v = &s->kept.orphans[k]->vs[i];
				o += (size_t)snprintf(rows + o, sizeof(rows) - o, " %s/%d/%s",
						      violation_code(v, code, sizeof(code)), v->occurrence,
						      v_status_name(v->status));
			}
		return fail(s, "violations: expected %s, got %ld %s; orphan rows:%s", tok[1], got, dump_ticket(t), rows);
	}
	if (strcmp(tok[0], "tickets") == 0 && ntok == 2)
		return expect_count(s, "tickets", atol(tok[1]), (long)core_ticket_count(s->core), t);
	if (strcmp(tok[0], "dead") == 0 && ntok == 2)
		return expect_count(s, "dead letters", atol(tok[1]), s->ndead, t);
	if (strcmp(tok[0], "dead") == 0 && ntok == 3) {
		for (int v = SV_DECODE_ERROR; v <= SV_OVERSIZE; v++)
			if (strcmp(verdict_reason((enum sla_verdict)v), tok[1]) == 0)
				return expect_count(s, tok[1], atol(tok[2]), s->dead[v], t);
		return fail(s, "unknown dead-letter reason %s", tok[1]);
	}
	if (strcmp(tok[0], "state") == 0 && ntok == 2) {
		if (!t)
			return fail(s, "no ticket %s", s->ticket);
		if (strcmp(ticket_state_name(t->state), tok[1]) != 0)
			return fail(s, "state: expected %s, got %s", tok[1], ticket_state_name(t->state));
		return true;
	}
	return fail(s, "unknown expectation \"%s\" (or wrong number of arguments)", tok[0]);
}

static int split(char *line, char **tok)
{
	int n = 0;
	for (char *p = strtok(line, " \t"); p && n < MAX_TOKENS; p = strtok(NULL, " \t"))
		tok[n++] = p;
	return n;
}

bool scenario_run(const char *path, char *err, size_t errlen)
{
	struct scn s;
	char *buf = NULL;
	bool ok = true;
	memset(&s, 0, sizeof(s));
	s.path = path;
	s.err = err;
	s.errlen = errlen;
	s.clock = SLA_TIME_NONE;
	err[0] = '\0';

	buf = read_file(path, NULL);
	if (!buf) {
		ok = fail(&s, "cannot read");
		goto done;
	}
	for (char *line = buf, *next; ok && line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		s.line++;
		line += strspn(line, " \t");
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (line[0] == '{') {
			ok = do_event(&s, line);
			continue;
		}
		char *tok[MAX_TOKENS];
		int ntok = split(line, tok);
		if (tok[0][0] == '@')
			ok = do_directive(&s, tok, ntok);
		else if (strcmp(tok[0], "=") == 0)
			ok = do_expect(&s, tok, ntok);
		else
			ok = fail(&s, "cannot read this line");
	}
done:
	if (s.core)
		core_out_free(&s.out);
	core_free(s.core);
	calendar_set_free(&s.cals);
	free(s.exc);
	free(s.hist);
	core_out_free(&s.kept);
	free(s.esc);
	free(buf);
	return ok;
}
