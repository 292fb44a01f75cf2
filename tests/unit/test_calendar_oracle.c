/* test_calendar_oracle.c - tcase "oracle" of suite "calendar": every query against a brute-force oracle.
 *
 * The oracle shares nothing with calendar.c or tzload.c: local time comes
 * from glibc reading the same zone file (one offset per UTC hour, checked to
 * be constant through the hour), and every answer is found by walking UTC
 * minute by minute and looking at each minute's local date and time. Random
 * instants (seeded; SLAD_CAL_SEED=n to explore) lean towards the interesting
 * places: clock changes, the edges of the loaded years, holidays, office
 * openings and closings. Each calendar is checked through its compiled
 * tables and through the general path. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calendar_fixture.h"
#include "slad/calendar.h"
#include "slad/timeutil.h"

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL
/* instants per calendar (there are a dozen calendars) */
#define ORACLE_INSTANTS 300

struct oracle {
	int64_t h0; /* first UTC hour (hours since the epoch) of the table */
	int nh;
	int32_t *off_s; /* glibc's offset through each UTC hour */
	int open, close;
	int first_year, last_year;
	int64_t loaded_lo, loaded_hi; /* [first day, past last day) of the loaded years */
	char *exc;                    /* per loaded day: 0, 'H' or 'W' */
	struct calendar *cal;         /* only to read its inputs */
};

static int64_t o_fdiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t utc_day_of_year_start(int y)
{
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mday = 1;
	return (int64_t)timegm(&tm) / 86400;
}

static void oracle_init(struct oracle *o, struct calendar *cal, const char *from, const char *to)
{
	memset(o, 0, sizeof(*o));
	o->cal = cal;
	o->open = cal->office_open_min;
	o->close = cal->office_close_min;
	o->first_year = cal->first_year;
	o->last_year = cal->last_year;
	o->h0 = calfix_day(from) * 24;
	o->nh = (int)(calfix_day(to) * 24 - o->h0);
	o->off_s = malloc((size_t)o->nh * sizeof(*o->off_s));
	ck_assert_ptr_nonnull(o->off_s);
	calfix_glibc_zone(cal->tz);
	for (int i = 0; i < o->nh; i++) {
		int64_t t = (o->h0 + i) * 3600;
		long a = calfix_glibc_offset(t), b = calfix_glibc_offset(t + 3599);
		if (a != b) {
			calfix_glibc_restore();
			ck_abort_msg("%s: offset changes inside the hour at %lld", cal->tz, (long long)t);
		}
		o->off_s[i] = (int32_t)a;
	}
	calfix_glibc_restore();
	if (o->first_year) {
		o->loaded_lo = utc_day_of_year_start(o->first_year);
		o->loaded_hi = utc_day_of_year_start(o->last_year + 1);
		o->exc = calloc((size_t)(o->loaded_hi - o->loaded_lo), 1);
		ck_assert_ptr_nonnull(o->exc);
		for (size_t i = 0; i < cal->nexceptions; i++)
			o->exc[cal->exceptions[i].day - o->loaded_lo] = cal->exceptions[i].kind == CAL_HOLIDAY ? 'H' : 'W';
	}
}

static void oracle_free(struct oracle *o)
{
	free(o->off_s);
	free(o->exc);
}

static int64_t o_off_ms(const struct oracle *o, int64_t t)
{
	int64_t h = o_fdiv(t, HOUR_MS) - o->h0;
	/* no ck_assert on hot paths: each one is a message to the runner */
	if (h < 0 || h >= o->nh)
		ck_abort_msg("oracle: instant %lld outside its table", (long long)t);
	return (int64_t)o->off_s[h] * 1000;
}

static int64_t o_local_day(const struct oracle *o, int64_t t, int *minute)
{
	int64_t local = t + o_off_ms(o, t);
	int64_t day = o_fdiv(local, DAY_MS);
	if (minute)
		*minute = (int)((local - day * DAY_MS) / MIN_MS);
	return day;
}

static bool o_working(const struct oracle *o, int64_t day)
{
	int weekday = (int)((day % 7 + 7 + 3) % 7); /* 1970-01-01 was a Thursday; 0 = Monday */
	if (o->first_year && day >= o->loaded_lo && day < o->loaded_hi && o->exc[day - o->loaded_lo])
		return o->exc[day - o->loaded_lo] == 'W';
	return weekday < 5;
}

/* The minute starting at m (UTC, whole minute) is business time. */
static bool o_office(const struct oracle *o, int64_t m)
{
	int mod;
	int64_t day = o_local_day(o, m, &mod);
	return mod >= o->open && mod < o->close && o_working(o, day);
}

/* The first instant whose local clock reads `local` or later. */
static int64_t o_instant(const struct oracle *o, int64_t local)
{
	for (int64_t m = o_fdiv(local - 15 * HOUR_MS, MIN_MS) * MIN_MS; m < local + 15 * HOUR_MS; m += MIN_MS) {
		int64_t cand = local - o_off_ms(o, m);
		if (cand < m)
			cand = m;
		if (cand < m + MIN_MS)
			return cand;
	}
	ck_abort_msg("oracle: no instant for local %lld", (long long)local);
	return 0;
}

static int64_t o_nth(const struct oracle *o, int64_t day, int n)
{
	while (n > 0)
		if (o_working(o, ++day))
			n--;
	return day;
}

static int64_t o_working_days_due(const struct oracle *o, int64_t t, int n)
{
	return o_instant(o, (o_nth(o, o_local_day(o, t, NULL), n) + 1) * DAY_MS);
}

static int64_t o_office_hours_due(const struct oracle *o, int64_t t, int m)
{
	int mod;
	int64_t day = o_local_day(o, t, &mod);
	if (mod >= o->open && mod < o->close)
		return t + m * MIN_MS;
	return o_instant(o, (mod < o->open ? day : day + 1) * DAY_MS + 540 * MIN_MS);
}

static int64_t o_response_day_due(const struct oracle *o, int64_t t)
{
	int mod;
	int64_t day = o_local_day(o, t, &mod);
	if (mod < o->open)
		return o_instant(o, day * DAY_MS + 540 * MIN_MS);
	if (mod < o->close)
		return o_instant(o, (day + 1) * DAY_MS);
	return o_instant(o, (day + 1) * DAY_MS + 540 * MIN_MS);
}

static int64_t o_business_due(const struct oracle *o, int64_t t, int m)
{
	int64_t left = m * MIN_MS, cur = t;
	if (m <= 0)
		return t;
	for (long steps = 0; steps < 200L * 1440; steps++) {
		int64_t minute = o_fdiv(cur, MIN_MS) * MIN_MS, next = minute + MIN_MS;
		if (o_office(o, minute)) {
			int64_t use = next - cur < left ? next - cur : left;
			cur += use;
			left -= use;
			if (left == 0)
				return cur;
		} else {
			cur = next;
		}
	}
	ck_abort_msg("oracle: BUSINESS_MINUTES %d from %lld runs away", m, (long long)t);
	return 0;
}

static int64_t o_next_opening(const struct oracle *o, int64_t t)
{
	int64_t cur = t;
	for (long steps = 0; steps < 200L * 1440; steps++) {
		int64_t minute = o_fdiv(cur, MIN_MS) * MIN_MS;
		if (o_office(o, minute))
			return cur;
		cur = minute + MIN_MS;
	}
	ck_abort_msg("oracle: no opening after %lld", (long long)t);
	return 0;
}

static int64_t o_between(const struct oracle *o, int64_t a, int64_t b)
{
	int64_t sum = 0;
	for (int64_t cur = a; cur < b;) {
		int64_t minute = o_fdiv(cur, MIN_MS) * MIN_MS, next = minute + MIN_MS < b ? minute + MIN_MS : b;
		if (o_office(o, minute))
			sum += next - cur;
		cur = next;
	}
	return sum;
}

/* ---- random instants ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static int64_t rnd_range(int64_t lo, int64_t hi) /* [lo, hi) */
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo));
}

/* Places worth landing near: clock changes, year edges, exception days. */
static size_t hot_instants(const struct oracle *o, int64_t lo, int64_t hi, int64_t *out, size_t max)
{
	size_t n = 0;
	for (int i = 1; i < o->nh && n < max; i++)
		if (o->off_s[i] != o->off_s[i - 1])
			out[n++] = (o->h0 + i) * HOUR_MS;
	for (int y = o->first_year; o->first_year && y <= o->last_year + 1 && n < max; y++)
		out[n++] = utc_day_of_year_start(y) * DAY_MS;
	for (size_t i = 0; i < o->cal->nexceptions && n < max; i++)
		out[n++] = o->cal->exceptions[i].day * DAY_MS;
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (out[i] >= lo && out[i] < hi)
			out[w++] = out[i];
	return w;
}

static int64_t pick_instant(const struct oracle *o, int64_t lo, int64_t hi, const int64_t *hot, size_t nhot)
{
	uint64_t kind = rnd() % 8;
	int64_t t;
	if (kind < 3 || nhot == 0) {
		t = rnd_range(lo, hi);
	} else if (kind < 6) {
		t = hot[rnd() % nhot] + rnd_range(-3 * DAY_MS, 3 * DAY_MS);
	} else {
		/* an office edge of some date, exactly or a little off */
		static const int64_t nudge[] = {0, 0, 0, -1, 1, -MIN_MS, MIN_MS, -HOUR_MS};
		int64_t base = nhot && kind == 6 ? hot[rnd() % nhot] + rnd_range(-3 * DAY_MS, 3 * DAY_MS)
						 : rnd_range(lo, hi);
		int64_t day = o_local_day(o, base, NULL);
		int edge = rnd() % 3 == 0 ? 0 : rnd() % 2 ? o->open : o->close;
		t = o_instant(o, day * DAY_MS + edge * MIN_MS) + nudge[rnd() % 8];
	}
	if (rnd() % 2)
		t = o_fdiv(t, MIN_MS) * MIN_MS;
	return t < lo ? lo : t >= hi ? hi - 1 : t;
}

static void fmt(int64_t t, char *buf, size_t len)
{
	rfc3339_format(t, 0, buf, len);
}

static void check_instant(const struct oracle *o, const struct calendar *cal, const char *path, int64_t t,
			  int64_t hi, unsigned long long seed, long *checks)
{
	char ts[48], g[48], w[48];
	int daily = o->close - o->open;
	fmt(t, ts, sizeof(ts));
#define AGREE(what, arg, got, want)                                                                            \
	do {                                                                                                   \
		int64_t got_ = (got), want_ = (want);                                                          \
		if (got_ != want_) {                                                                           \
			fmt(got_, g, sizeof(g));                                                               \
			fmt(want_, w, sizeof(w));                                                              \
			ck_abort_msg("%s (%s, seed %llu): %s %lld from %s: got %s (%lld), oracle %s (%lld)",   \
				     cal->id, path, seed, what, (long long)(arg), ts, g, (long long)got_, w,   \
				     (long long)want_);                                                        \
		}                                                                                              \
		(*checks)++;                                                                                   \
	} while (0)

	int64_t day = o_local_day(o, t, NULL);
	AGREE("LOCAL_DAY", 0, calendar_local_day(cal, t, NULL), day);
	AGREE("IS_WORKING", day, calendar_is_working_day(cal, day), o_working(o, day));
	int n = (int)(rnd() % 26);
	AGREE("NTH", n, calendar_nth_working_day_after(cal, day, n), o_nth(o, day, n));
	AGREE("WORKING_DAYS", n, calendar_working_days_due(cal, t, n), o_working_days_due(o, t, n));
	int m = (int)(rnd() % 601);
	AGREE("OFFICE_HOURS", m, calendar_office_hours_due(cal, t, m), o_office_hours_due(o, t, m));
	AGREE("RESPONSE_DAY", 0, calendar_response_day_due(cal, t), o_response_day_due(o, t));
	uint64_t r = rnd() % 10;
	m = r < 7 ? (int)(rnd() % (uint64_t)(3 * daily)) + 1
		  : r < 9 ? (int)(rnd() % (uint64_t)(10 * daily)) + 1 : daily * (int)(rnd() % 6 + 1);
	AGREE("BUSINESS_MINUTES", m, calendar_business_minutes_due(cal, t, m), o_business_due(o, t, m));
	AGREE("NEXT_OPENING", 0, calendar_next_opening(cal, t), o_next_opening(o, t));
	int64_t b = t + rnd_range(-DAY_MS, 14 * DAY_MS);
	if (rnd() % 4 == 0)
		b = o_fdiv(b, MIN_MS) * MIN_MS;
	if (b >= hi)
		b = hi - 1;
	AGREE("BETWEEN until", b, calendar_business_time_between(cal, t, b), b > t ? o_between(o, t, b) : 0);
#undef AGREE
}

static unsigned long long oracle_seed(void)
{
	const char *s = getenv("SLAD_CAL_SEED");
	return s && *s ? strtoull(s, NULL, 10) : 20250330ULL;
}

START_TEST(oracle_agrees)
{
	const char *const *ids = calfix_ids();
	const char *id = ids[_i];
	struct calendar cal[2];
	struct oracle o;
	long checks = 0;
	int64_t hot[256];
	char e[64];

	calfix_build(id, CALFIX_COMPILED, &cal[0]);
	calfix_build(id, CALFIX_GENERAL, &cal[1]);
	/* the loaded years and a stretch on either side */
	int fy = cal[0].first_year ? cal[0].first_year : 2025, ly = cal[0].first_year ? cal[0].last_year : 2025;
	snprintf(e, sizeof(e), "%04d-01-01", fy - 1);
	int64_t lo_day = calfix_day(e);
	snprintf(e, sizeof(e), "%04d-07-01", ly + 1);
	int64_t hi_day = calfix_day(e);
	/* the oracle's table reaches beyond every walk */
	snprintf(e, sizeof(e), "%04d-06-01", fy - 2);
	char e2[64];
	snprintf(e2, sizeof(e2), "%04d-06-01", ly + 2);
	oracle_init(&o, &cal[0], e, e2);
	int64_t lo = lo_day * DAY_MS + 90 * DAY_MS, hi = hi_day * DAY_MS;
	size_t nhot = hot_instants(&o, lo, hi, hot, sizeof(hot) / sizeof(hot[0]));

	unsigned long long seed = oracle_seed() + (unsigned long long)_i * 7919;
	rng_state = seed | 1;
	for (int k = 0; k < ORACLE_INSTANTS; k++) {
		int64_t t = pick_instant(&o, lo, hi, hot, nhot);
		uint64_t state = rng_state;
		check_instant(&o, &cal[0], "compiled", t, hi, seed, &checks);
		rng_state = state; /* the same amounts for the general path */
		check_instant(&o, &cal[1], "general", t, hi, seed, &checks);
	}
	ck_assert_int_ge(checks, ORACLE_INSTANTS * 2 * 9);

	/* what was reported lies outside the loaded years */
	for (int p = 0; p < 2; p++) {
		int years[CAL_UNLOADED_MAX];
		size_t n = calendar_take_unloaded_years(&cal[p], years, CAL_UNLOADED_MAX);
		for (size_t i = 0; i < n; i++)
			ck_assert_msg(cal[p].first_year == 0 || years[i] < cal[p].first_year || years[i] > cal[p].last_year,
				      "%s reported loaded year %d", id, years[i]);
	}
	oracle_free(&o);
	calendar_free(&cal[0]);
	calendar_free(&cal[1]);
}
END_TEST

TCase *calendar_oracle_tcase(void)
{
	int n = 0;
	TCase *tc = tcase_create("oracle");
	/* the ids are read from the cases directory, known once the runner parsed its arguments */
	for (const char *const *ids = calfix_ids(); ids[n]; n++)
		;
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, oracle_agrees, 0, n);
	return tc;
}
