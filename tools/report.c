/* report.c - `slactl report`: the compliance summary of a month or quarter in
 * 80 columns: milestones met / breached, violations by code, open breaches,
 * partner scores and qualification events, read from the sla views. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "slactl.h"
#include "slad/scoring.h"
#include "slad/store.h"

/* The period: local (Asia/Shanghai) dates [from, to), and its quarter. */
struct period {
	char label[16];   /* "2025-03" or "2025Q1" */
	char from[24];    /* YYYY-MM-DD */
	char to[24];      /* exclusive */
	char quarter[8];  /* the quarter whose scores are shown */
};

static void report_usage(FILE *f)
{
	fprintf(f, "usage: slactl report [--db CONNINFO] [--partner P] [--month YYYY-MM | --quarter YYYYQn]\n"
		   "Compliance summary from PostgreSQL: milestones met / breached by milestone and by\n"
		   "ticket type, violations by code, open breaches now, the partner scores of the\n"
		   "quarter and its qualification events. Months are local to Asia/Shanghai; the\n"
		   "default is the current month. --month shows the scores of the quarter it is in.\n"
		   "\n"
		   "  --db CONNINFO    libpq connection string (default: the PG* environment)\n"
		   "  --partner P      one partner only\n"
		   "  --month YYYY-MM  one month\n"
		   "  --quarter YYYYQn one quarter (three months)\n"
		   "  -h, --help       show this help\n"
		   "  -V, --version    show the version\n");
}

static void ymd(char *buf, int y, unsigned m)
{
	/* Month arithmetic past December carries into the year. */
	y += (int)((m - 1) / 12);
	m = (m - 1) % 12 + 1;
	snprintf(buf, 24, "%04d-%02u-01", y, m);
}

static bool period_month(struct period *p, int y, unsigned m)
{
	if (y < 1970 || y > 9999 || m < 1 || m > 12)
		return false;
	snprintf(p->label, sizeof(p->label), "%04d-%02u", y, m);
	ymd(p->from, y, m);
	ymd(p->to, y, m + 1);
	snprintf(p->quarter, sizeof(p->quarter), "%04dQ%u", y, (m - 1) / 3 + 1);
	return true;
}

static bool parse_month(const char *s, struct period *p)
{
	static const int digits[] = {0, 1, 2, 3, 5, 6};

	if (strlen(s) != 7 || s[4] != '-')
		return false;
	for (size_t i = 0; i < sizeof(digits) / sizeof(digits[0]); i++)
		if (s[digits[i]] < '0' || s[digits[i]] > '9')
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	return period_month(p, y, (unsigned)((s[5] - '0') * 10 + (s[6] - '0')));
}

static bool parse_quarter(const char *s, struct period *p)
{
	int qi = score_quarter_index(s);
	if (qi < 0 || qi / 4 < 1970)
		return false;
	unsigned first = (unsigned)(qi % 4) * 3 + 1;
	snprintf(p->label, sizeof(p->label), "%s", s);
	snprintf(p->quarter, sizeof(p->quarter), "%s", s);
	ymd(p->from, qi / 4, first);
	ymd(p->to, qi / 4, first + 3);
	return true;
}

/* Runs a query with the report's parameters; NULL (and a message) on failure. */
static PGresult *query(PGconn *conn, const char *sql, const struct period *p, const char *partner)
{
	/* Typed as text: a query need not use every parameter. */
	static const Oid types[4] = {25, 25, 25, 25};
	const char *vals[4] = {p->from, p->to, partner, p->quarter};
	PGresult *res = PQexecParams(conn, sql, 4, types, vals, NULL, NULL, 0);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		return res;
	fprintf(stderr, "slactl report: %s", PQresultErrorMessage(res));
	PQclear(res);
	return NULL;
}

static const char *val(const PGresult *res, int r, int c)
{
	return PQgetisnull(res, r, c) ? "-" : PQgetvalue(res, r, c);
}

static void print_header(const char *title, int first, int w, const char *const *cols)
{
	printf("\n%-*s", first, title);
	for (; *cols; cols++)
		printf(" %*s", w, *cols);
	printf("\n");
}

/* Prints rows as columns: the first left-aligned in `first` characters, the
 * others right-aligned in `w` characters each. */
static void print_rows(const PGresult *res, int first, int w)
{
	for (int r = 0; r < PQntuples(res); r++) {
		printf("%-*.*s", first, first, val(res, r, 0));
		for (int c = 1; c < PQnfields(res); c++)
			printf(" %*.*s", w, w, val(res, r, c));
		printf("\n");
	}
}

/* Same conditions everywhere: $1 from, $2 to (local dates), $3 partner or NULL. */
#define LOCAL_FROM "($1::date::timestamp AT TIME ZONE 'Asia/Shanghai')"
#define LOCAL_TO "($2::date::timestamp AT TIME ZONE 'Asia/Shanghai')"
#define PARTNER_IS(col) "($3::text IS NULL OR " col " = $3::text)"

static const char sql_by_milestone[] =
	"SELECT coalesce(milestone, 'all milestones'), sum(total), sum(met), sum(breached),"
	" round(sum(met)::numeric / nullif(sum(total), 0) * 100, 1)"
	" FROM sla.v_kpi_monthly WHERE month >= $1::date AND month < $2::date AND " PARTNER_IS("partner_id")
	" GROUP BY ROLLUP (milestone) ORDER BY milestone NULLS LAST";

static const char sql_by_type[] =
	"SELECT coalesce(ticket_type, '?'), count(*), count(*) FILTER (WHERE status = 'MET'),"
	" count(*) FILTER (WHERE status = 'BREACHED'),"
	" round(count(*) FILTER (WHERE status = 'MET')::numeric / count(*) * 100, 1)"
	" FROM sla.milestones WHERE status IN ('MET', 'BREACHED') AND due_at >= " LOCAL_FROM
	" AND due_at < " LOCAL_TO " AND " PARTNER_IS("partner_id")
	" GROUP BY 1 ORDER BY 1";

static const char sql_by_partner[] =
	"SELECT coalesce(k.partner_id, '?'), k.total, k.met, k.breached,"
	" round(k.met::numeric / nullif(k.total, 0) * 100, 1), coalesce(v.n, 0)"
	" FROM (SELECT partner_id, sum(total) AS total, sum(met) AS met, sum(breached) AS breached"
	"       FROM sla.v_kpi_monthly WHERE month >= $1::date AND month < $2::date AND " PARTNER_IS("partner_id")
	"       GROUP BY 1) k"
	" LEFT JOIN (SELECT partner_id, sum(count) AS n FROM sla.v_violations_monthly"
	"       WHERE month >= $1::date AND month < $2::date GROUP BY 1) v"
	" ON v.partner_id IS NOT DISTINCT FROM k.partner_id"
	" ORDER BY 1";

static const char sql_violations[] =
	"SELECT rule_code, sum(count), sum(confirmed), sum(provisional)"
	" FROM sla.v_violations_monthly WHERE month >= $1::date AND month < $2::date AND " PARTNER_IS("partner_id")
	" GROUP BY 1 ORDER BY 2 DESC, 1";

static const char sql_open[] =
	"SELECT count(*), coalesce(max(minutes_overdue), 0) FROM sla.v_open_breaches"
	" WHERE " PARTNER_IS("partner_id");

static const char sql_scores[] =
	"SELECT partner_id, major_projects, satisfaction, rep_office, ecr, training_online, training_offline,"
	" key_events, total, verdict FROM sla.v_partner_scores WHERE quarter = $4::text AND " PARTNER_IS("partner_id")
	" ORDER BY partner_id";

static const char sql_events[] =
	"SELECT to_char(at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'), partner_id, code,"
	" subject_id, status FROM sla.v_partner_events WHERE at >= " LOCAL_FROM " AND at < " LOCAL_TO
	" AND " PARTNER_IS("partner_id") " ORDER BY at, partner_id, code";

/* The report's first tables, in this order: counts under column names, the
 * first column left-aligned in `first` characters, the others right-aligned
 * in `w` characters each. */
static const char *const counts[] = {"decided", "met", "breached", "met %", NULL};
static const char *const partner_counts[] = {"decided", "met", "breached", "met %", "violations", NULL};
static const char *const violation_counts[] = {"total", "confirmed", "provisional", NULL};
static const struct count_table {
	const char *title;
	const char *sql;
	int first, w;
	const char *const *cols;
	bool all_partners_only; /* left out of a report on one partner */
} count_tables[] = {
	{"Milestones decided in the period", sql_by_milestone, 34, 10, counts, false},
	{"By ticket type", sql_by_type, 34, 10, counts, false},
	{"By partner", sql_by_partner, 24, 10, partner_counts, true},
	{"Violations by code (standing)", sql_violations, 43, 11, violation_counts, false},
};

static bool print_report(PGconn *conn, const struct period *p, const char *partner)
{
	PGresult *res = NULL;

	printf("slad compliance report %s%s%.40s\n", p->label, partner ? ", partner " : "", partner ? partner : "");
	printf("local days %s up to %s (exclusive), Asia/Shanghai\n", p->from, p->to);

	for (size_t i = 0; i < sizeof(count_tables) / sizeof(count_tables[0]); i++) {
		const struct count_table *t = &count_tables[i];
		if (partner && t->all_partners_only)
			continue;
		if (!(res = query(conn, t->sql, p, partner)))
			return false;
		print_header(t->title, t->first, t->w, t->cols);
		if (PQntuples(res) == 0)
			printf("  none\n");
		print_rows(res, t->first, t->w);
		PQclear(res);
	}

	if (!(res = query(conn, sql_open, p, partner)))
		return false;
	printf("\nOpen breaches now: %s (most overdue: %s minutes)\n", val(res, 0, 0), val(res, 0, 1));
	PQclear(res);

	if (!(res = query(conn, sql_scores, p, partner)))
		return false;
	static const char *const scols[] = {"major", "satisf", "repoff", "ecr", "online", "offlin", "key", "total",
					    "verdict", NULL};
	char title[32];
	snprintf(title, sizeof(title), "Scores %s", p->quarter);
	print_header(title, 14, 6, scols);
	if (PQntuples(res) == 0)
		printf("  none computed (no QUARTER_CLOSED yet)\n");
	for (int r = 0; r < PQntuples(res); r++) {
		printf("%-14.14s", val(res, r, 0));
		for (int c = 1; c <= 8; c++)
			printf(" %6.6s", val(res, r, c));
		printf(" %s\n", val(res, r, 9));
	}
	PQclear(res);

	if (!(res = query(conn, sql_events, p, partner)))
		return false;
	printf("\n%-16s   %-10s %-25s %s\n", "Qualification", "partner", "code", "subject");
	if (PQntuples(res) == 0)
		printf("  none\n");
	for (int r = 0; r < PQntuples(res); r++)
		printf("%-16s %c %-10.10s %-25.25s %.24s\n", val(res, r, 0),
		       strcmp(val(res, r, 4), "ACTIVE") == 0 ? ' ' : 'R', val(res, r, 1), val(res, r, 2),
		       val(res, r, 3));
	PQclear(res);
	printf("\nScores: points of scoring.md, PASS needs >= 70 and no item at 0. R: retracted.\n");
	return true;
}

int cmd_report(int argc, char **argv)
{
	const char *conninfo = "", *partner = NULL, *month = NULL, *quarter = NULL;
	const struct slactl_option opts[] = {
		{"db", required_argument, &conninfo, 0},
		{"partner", required_argument, &partner, 0},
		{"month", required_argument, &month, 0},
		{"quarter", required_argument, &quarter, 0},
		{NULL, 0, NULL, 0},
	};
	struct period p;
	struct store *st = NULL;
	char err[512];
	int rc = 1, optst = slactl_parse_options(argc, argv, opts, "report", report_usage);

	if (optst >= 0)
		return optst;
	if (!slactl_no_operands(argc, argv, "report"))
		return 2;
	if (month && quarter) {
		fprintf(stderr, "slactl report: --month and --quarter exclude each other\n");
		return 2;
	}
	if (partner && (!partner[0] || strlen(partner) > SLA_ID_MAX)) {
		fprintf(stderr, "slactl report: --partner: 1 to %d bytes\n", SLA_ID_MAX);
		return 2;
	}
	if (month) {
		if (!parse_month(month, &p)) {
			fprintf(stderr, "slactl report: --month: expected YYYY-MM, got '%s'\n", month);
			return 2;
		}
	} else if (quarter) {
		if (!parse_quarter(quarter, &p)) {
			fprintf(stderr, "slactl report: --quarter: expected YYYYQn (n 1-4), got '%s'\n", quarter);
			return 2;
		}
	} else {
		/* The current local month. */
		int y;
		unsigned m, d;
		civil_from_days(floor_div((sla_time)time(NULL) * 1000 + 8 * SLA_HOUR, SLA_DAY), &y, &m, &d);
		(void)period_month(&p, y, m);
	}

	st = store_connect(conninfo, err, sizeof(err));
	if (!st) {
		fprintf(stderr, "slactl report: %s\n", err);
		return 1;
	}
	if (print_report(store_conn(st), &p, partner))
		rc = 0;
	store_free(st);
	return rc;
}
