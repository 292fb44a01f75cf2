/* calendar.c - business calendars: compiling them, local dates, working days, the calendar deadline kinds. Pure.
 *
 * Two paths answer every query. The compiled tables (struct cal_tables) cover
 * the loaded years: a query whose dates stay inside them is a binary search
 * plus a short walk. Everything else - dates outside the loaded years, an
 * uncompiled calendar - takes the general path, which works from the inputs
 * (offset table, sorted exceptions) day by day and notes the unloaded years it
 * asks about. Both give the same answers; the unit tests hold them to an
 * independent minute-by-minute oracle. */
#include "slad/calendar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NINE_AM (9 * 60)
/* No zone is this far from UTC: bounds the search for local times. */
#define OFF_MAX_MS ((sla_time)26 * SLA_HOUR)
/* Office hours of one date cut by at most this many offset changes (real
 * zones: at most one). */
#define DAY_PIECES_MAX 8
/* Bound on any day-by-day walk (about 550 years). */
#define WALK_MAX_DAYS 200000

struct cal_unloaded {
	int years[CAL_UNLOADED_MAX];
	size_t n, taken;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void tables_free(struct cal_tables *tb)
{
	free(tb->block);
	memset(tb, 0, sizeof(*tb));
}

void calendar_init_cn(struct calendar *cal)
{
	memset(cal, 0, sizeof(*cal));
	strcpy(cal->id, "CN");
	strcpy(cal->tz, "Asia/Shanghai");
	cal->office_open_min = 8 * 60 + 30;
	cal->office_close_min = 18 * 60;
	cal->offsets = malloc(sizeof(*cal->offsets));
	cal->unloaded = calloc(1, sizeof(*cal->unloaded));
	if (!cal->offsets || !cal->unloaded) {
		free(cal->offsets);
		free(cal->unloaded);
		cal->offsets = NULL;
		cal->unloaded = NULL;
		return;
	}
	cal->offsets[0].from = INT64_MIN;
	cal->offsets[0].utc_offset_s = 8 * 3600;
	cal->noffsets = 1;
}

void calendar_free(struct calendar *cal)
{
	if (!cal)
		return;
	free(cal->exceptions);
	free(cal->offsets);
	free(cal->unloaded);
	tables_free(&cal->tables);
	cal->exceptions = NULL;
	cal->offsets = NULL;
	cal->unloaded = NULL;
	cal->nexceptions = cal->noffsets = 0;
}

/* ---- time zone: the general path ---- */

static sla_time off_ms(const struct calendar *cal, size_t j)
{
	return (sla_time)cal->offsets[j].utc_offset_s * 1000;
}

/* The last j in [lo, hi) with offsets[j].from <= t (offsets[lo].from <= t). */
static size_t offset_index(const struct calendar *cal, sla_time t, size_t lo, size_t hi)
{
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (cal->offsets[mid].from <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static sla_time offset_ms_at(const struct calendar *cal, sla_time t)
{
	const struct cal_tables *tb = &cal->tables;
	if (cal->noffsets == 0)
		return 0;
	if (tb->ndays && t >= tb->day_start[0] && t < tb->day_start[tb->ndays])
		return off_ms(cal, offset_index(cal, t, tb->off_lo, tb->off_hi));
	return off_ms(cal, offset_index(cal, t, 0, cal->noffsets));
}

/* The first instant at which the local clock reads `local` or later. */
static sla_time instant_of_local(const struct calendar *cal, sla_time local)
{
	size_t j;
	if (cal->noffsets == 0)
		return local;
	/* Offset periods that end before local - OFF_MAX_MS cannot reach it. */
	for (j = offset_index(cal, local - OFF_MAX_MS, 0, cal->noffsets); j + 1 < cal->noffsets; j++) {
		sla_time t = local - off_ms(cal, j);
		if (t < cal->offsets[j].from)
			t = cal->offsets[j].from;
		if (t < cal->offsets[j + 1].from)
			return t;
	}
	sla_time t = local - off_ms(cal, j);
	return t < cal->offsets[j].from ? cal->offsets[j].from : t;
}

/* The instants of local date `day` whose local time of day is in office
 * hours, as sorted, non-touching pieces [a, b). */
static size_t day_office_pieces(const struct calendar *cal, int64_t day, sla_time *a, sla_time *b)
{
	sla_time lo = day * SLA_DAY + (sla_time)cal->office_open_min * SLA_MINUTE;
	sla_time hi = day * SLA_DAY + (sla_time)cal->office_close_min * SLA_MINUTE;
	size_t n = 0;

	if (cal->noffsets == 0) {
		a[0] = lo;
		b[0] = hi;
		return 1;
	}
	for (size_t j = offset_index(cal, lo - OFF_MAX_MS, 0, cal->noffsets); j < cal->noffsets; j++) {
		sla_time from = cal->offsets[j].from;
		sla_time to = j + 1 < cal->noffsets ? cal->offsets[j + 1].from : INT64_MAX;
		if (from > hi + OFF_MAX_MS)
			break;
		sla_time s = lo - off_ms(cal, j), e = hi - off_ms(cal, j);
		if (s < from)
			s = from;
		if (e > to)
			e = to;
		if (s >= e)
			continue;
		if (n > 0 && b[n - 1] == s) {
			b[n - 1] = e;
			continue;
		}
		if (n == DAY_PIECES_MAX)
			break;
		a[n] = s;
		b[n] = e;
		n++;
	}
	return n;
}

/* ---- working days: the general path ---- */

static void note_unloaded(const struct calendar *cal, int year)
{
	struct cal_unloaded *u = cal->unloaded;
	if (!u)
		return;
	for (size_t i = 0; i < u->n; i++)
		if (u->years[i] == year)
			return;
	if (u->n < CAL_UNLOADED_MAX)
		u->years[u->n++] = year;
}

static const struct cal_exception *find_exception(const struct calendar *cal, int64_t day)
{
	size_t lo = 0, hi = cal->nexceptions;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cal->exceptions[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < cal->nexceptions && cal->exceptions[lo].day == day ? &cal->exceptions[lo] : NULL;
}

static bool working_day_general(const struct calendar *cal, int64_t day)
{
	int y;
	unsigned m, d;
	civil_from_days(day, &y, &m, &d);
	if (cal->first_year != 0 && y >= cal->first_year && y <= cal->last_year) {
		const struct cal_exception *e = find_exception(cal, day);
		if (e)
			return e->kind == CAL_WORKDAY;
	} else {
		note_unloaded(cal, y);
	}
	return weekday_from_days(day) < 5;
}

size_t calendar_take_unloaded_years(const struct calendar *cal, int *years, size_t max)
{
	struct cal_unloaded *u = cal ? cal->unloaded : NULL;
	size_t k = 0;
	if (!u)
		return 0;
	while (u->taken < u->n && k < max)
		years[k++] = u->years[u->taken++];
	return k;
}

/* ---- compiling ---- */

static int exception_cmp(const void *a, const void *b)
{
	const struct cal_exception *x = a, *y = b;
	return (x->day > y->day) - (x->day < y->day);
}

static bool check_inputs(struct calendar *cal, char *err, size_t errlen)
{
	if (cal->office_open_min < 0 || cal->office_open_min >= cal->office_close_min || cal->office_close_min > 1440) {
		set_err(err, errlen, "office hours %d-%d (minutes after midnight) are not a span within one day",
			cal->office_open_min, cal->office_close_min);
		return false;
	}
	if (cal->noffsets == 0 || !cal->offsets || cal->offsets[0].from != INT64_MIN) {
		set_err(err, errlen, "no UTC offset table");
		return false;
	}
	for (size_t i = 0; i < cal->noffsets; i++) {
		int32_t o = cal->offsets[i].utc_offset_s;
		if (o <= -OFF_MAX_MS / 1000 || o >= OFF_MAX_MS / 1000 ||
		    (i > 0 && cal->offsets[i].from <= cal->offsets[i - 1].from)) {
			set_err(err, errlen, "bad UTC offset table at entry %zu", i);
			return false;
		}
	}
	if (cal->nexceptions)
		qsort(cal->exceptions, cal->nexceptions, sizeof(*cal->exceptions), exception_cmp);
	for (size_t i = 0; i < cal->nexceptions; i++) {
		int y;
		unsigned m, d;
		if (cal->exceptions[i].kind != CAL_HOLIDAY && cal->exceptions[i].kind != CAL_WORKDAY) {
			set_err(err, errlen, "exception %zu: bad kind %d", i, (int)cal->exceptions[i].kind);
			return false;
		}
		if (i > 0 && cal->exceptions[i].day == cal->exceptions[i - 1].day) {
			civil_from_days(cal->exceptions[i].day, &y, &m, &d);
			set_err(err, errlen, "two exceptions on %04d-%02u-%02u", y, m, d);
			return false;
		}
		civil_from_days(cal->exceptions[i].day, &y, &m, &d);
		if (y < 1 || y > 9999) {
			set_err(err, errlen, "an exception in year %d", y);
			return false;
		}
	}
	if (cal->first_year == 0 && cal->last_year == 0 && cal->nexceptions) {
		unsigned m, d;
		civil_from_days(cal->exceptions[0].day, &cal->first_year, &m, &d);
		civil_from_days(cal->exceptions[cal->nexceptions - 1].day, &cal->last_year, &m, &d);
	}
	if (cal->first_year == 0 && cal->last_year == 0)
		return true;
	if (cal->first_year < 1 || cal->first_year > cal->last_year || cal->last_year > 9999 ||
	    cal->last_year - cal->first_year >= CAL_MAX_YEARS) {
		set_err(err, errlen, "loaded years %d-%d: want at most %d years within 1-9999", cal->first_year,
			cal->last_year, CAL_MAX_YEARS);
		return false;
	}
	if (cal->nexceptions) {
		int y0, y1;
		unsigned m, d;
		civil_from_days(cal->exceptions[0].day, &y0, &m, &d);
		civil_from_days(cal->exceptions[cal->nexceptions - 1].day, &y1, &m, &d);
		if (y0 < cal->first_year || y1 > cal->last_year) {
			set_err(err, errlen, "an exception in %d lies outside the calendar's years %d-%d",
				y0 < cal->first_year ? y0 : y1, cal->first_year, cal->last_year);
			return false;
		}
	}
	return true;
}

/* Working status of every loaded date, from the inputs. */
static bool compiled_working(const struct calendar *cal, int64_t day)
{
	const struct cal_exception *e = find_exception(cal, day);
	return e ? e->kind == CAL_WORKDAY : weekday_from_days(day) < 5;
}

static bool build_tables(struct calendar *cal)
{
	struct cal_tables *tb = &cal->tables;
	int64_t day0 = days_from_civil(cal->first_year, 1, 1);
	size_t ndays = (size_t)(days_from_civil(cal->last_year + 1, 1, 1) - day0);
	size_t nwork = 0, nivmax = 0;
	sla_time a[DAY_PIECES_MAX], b[DAY_PIECES_MAX];

	for (size_t i = 0; i < ndays; i++)
		if (compiled_working(cal, day0 + (int64_t)i)) {
			nwork++;
			nivmax += day_office_pieces(cal, day0 + (int64_t)i, a, b);
		}
	size_t n64 = 2 * (ndays + 1) + 3 * nivmax + 1, n32 = (ndays + 1) + nwork;
	char *block = malloc(n64 * sizeof(sla_time) + n32 * sizeof(int32_t));
	if (!block)
		return false;
	tb->block = block;
	tb->day0 = day0;
	tb->ndays = ndays;
	tb->day_start = (sla_time *)(void *)block;
	tb->nine_am = tb->day_start + ndays + 1;
	tb->iv_open = tb->nine_am + ndays + 1;
	tb->iv_close = tb->iv_open + nivmax;
	tb->iv_cum = tb->iv_close + nivmax;
	tb->wcum = (int32_t *)(void *)(tb->iv_cum + nivmax + 1);
	tb->wday = tb->wcum + ndays + 1;

	size_t niv = 0;
	int32_t w = 0;
	sla_time cum = 0;
	for (size_t i = 0; i <= ndays; i++) {
		int64_t day = day0 + (int64_t)i;
		tb->day_start[i] = instant_of_local(cal, day * SLA_DAY);
		tb->nine_am[i] = instant_of_local(cal, day * SLA_DAY + NINE_AM * SLA_MINUTE);
		tb->wcum[i] = w;
		if (i == ndays || !compiled_working(cal, day))
			continue;
		tb->wday[w++] = (int32_t)i;
		size_t np = day_office_pieces(cal, day, a, b);
		for (size_t p = 0; p < np; p++) {
			if (niv > 0 && tb->iv_close[niv - 1] >= a[p]) {
				/* office hours up to 24:00 run into the next date's */
				tb->iv_close[niv - 1] = b[p];
			} else {
				tb->iv_cum[niv] = cum;
				tb->iv_open[niv] = a[p];
				tb->iv_close[niv] = b[p];
				niv++;
			}
			cum += b[p] - a[p];
		}
	}
	tb->iv_cum[niv] = cum;
	tb->niv = niv;
	tb->nwork = nwork;
	tb->off_lo = offset_index(cal, tb->day_start[0], 0, cal->noffsets);
	tb->off_hi = offset_index(cal, tb->day_start[ndays] - 1, 0, cal->noffsets) + 1;
	return true;
}

bool calendar_compile(struct calendar *cal, char *err, size_t errlen)
{
	tables_free(&cal->tables);
	if (!check_inputs(cal, err, errlen))
		return false;
	if (!cal->unloaded && !(cal->unloaded = calloc(1, sizeof(*cal->unloaded)))) {
		set_err(err, errlen, "out of memory");
		return false;
	}
	if (cal->first_year != 0 && !build_tables(cal)) {
		tables_free(&cal->tables);
		set_err(err, errlen, "out of memory");
		return false;
	}
	cal->tables.ready = true;
	return true;
}

bool calendar_set_add(struct calendar_set *set, struct calendar *cal)
{
	if (calendar_set_find(set, cal->id))
		return false;
	if (!cal->tables.ready && !calendar_compile(cal, NULL, 0))
		return false;
	struct calendar *n = realloc(set->cals, (set->ncals + 1) * sizeof(*n));
	if (!n)
		return false;
	set->cals = n;
	set->cals[set->ncals++] = *cal;
	memset(cal, 0, sizeof(*cal));
	return true;
}

const struct calendar *calendar_set_find(const struct calendar_set *set, const char *id)
{
	for (size_t i = 0; set && i < set->ncals; i++)
		if (strcmp(set->cals[i].id, id) == 0)
			return &set->cals[i];
	return NULL;
}

void calendar_set_free(struct calendar_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->ncals; i++)
		calendar_free(&set->cals[i]);
	free(set->cals);
	set->cals = NULL;
	set->ncals = 0;
}

/* ---- queries ---- */

int32_t calendar_utc_offset(const struct calendar *cal, sla_time t)
{
	return (int32_t)(offset_ms_at(cal, t) / 1000);
}

int64_t calendar_local_day(const struct calendar *cal, sla_time t, int *minute_of_day)
{
	sla_time local = t + offset_ms_at(cal, t);
	int64_t day = floor_div(local, SLA_DAY);
	if (minute_of_day)
		*minute_of_day = (int)((local - day * SLA_DAY) / SLA_MINUTE);
	return day;
}

sla_time calendar_instant(const struct calendar *cal, int64_t day, int minute)
{
	const struct cal_tables *tb = &cal->tables;
	if (tb->ndays && day >= tb->day0 && day <= tb->day0 + (int64_t)tb->ndays) {
		if (minute == 0)
			return tb->day_start[day - tb->day0];
		if (minute == NINE_AM)
			return tb->nine_am[day - tb->day0];
	}
	return instant_of_local(cal, day * SLA_DAY + (sla_time)minute * SLA_MINUTE);
}

bool calendar_is_working_day(const struct calendar *cal, int64_t day)
{
	const struct cal_tables *tb = &cal->tables;
	if (tb->ndays && day >= tb->day0 && day < tb->day0 + (int64_t)tb->ndays) {
		int64_t i = day - tb->day0;
		return tb->wcum[i + 1] != tb->wcum[i];
	}
	return working_day_general(cal, day);
}

int64_t calendar_nth_working_day_after(const struct calendar *cal, int64_t day, int n)
{
	const struct cal_tables *tb = &cal->tables;
	for (long guard = 0; n > 0 && guard < WALK_MAX_DAYS; guard++) {
		int64_t i1 = day + 1 - tb->day0; /* first date counted, as an index */
		if (tb->ndays && i1 >= 0 && i1 < (int64_t)tb->ndays) {
			int64_t k = (int64_t)tb->wcum[i1] + n - 1;
			if (k < (int64_t)tb->nwork)
				return tb->day0 + tb->wday[k];
			n -= (int)((int64_t)tb->nwork - tb->wcum[i1]);
			day = tb->day0 + (int64_t)tb->ndays - 1;
			continue;
		}
		day++;
		if (calendar_is_working_day(cal, day))
			n--;
	}
	return day;
}

sla_time calendar_office_hours_due(const struct calendar *cal, sla_time start, int minutes)
{
	int mod;
	int64_t day = calendar_local_day(cal, start, &mod);
	if (mod >= cal->office_open_min && mod < cal->office_close_min)
		return start + (sla_time)minutes * SLA_MINUTE;
	if (mod < cal->office_open_min)
		return calendar_instant(cal, day, NINE_AM);
	return calendar_instant(cal, day + 1, NINE_AM);
}

sla_time calendar_response_day_due(const struct calendar *cal, sla_time start)
{
	int mod;
	int64_t day = calendar_local_day(cal, start, &mod);
	if (mod < cal->office_open_min)
		return calendar_instant(cal, day, NINE_AM);
	if (mod < cal->office_close_min)
		return calendar_instant(cal, day + 1, 0);
	return calendar_instant(cal, day + 1, NINE_AM);
}

sla_time calendar_working_days_due(const struct calendar *cal, sla_time start, int n)
{
	int64_t day = calendar_local_day(cal, start, NULL);
	return calendar_instant(cal, calendar_nth_working_day_after(cal, day, n) + 1, 0);
}

/* The first interval that closes after t. */
static size_t interval_after(const struct cal_tables *tb, sla_time t)
{
	size_t lo = 0, hi = tb->niv;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tb->iv_close[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The first interval j >= k whose end reaches business time `target`
 * (target <= iv_cum[niv]). Deadlines are mostly a few intervals ahead. */
static size_t interval_reaching(const struct cal_tables *tb, size_t k, sla_time target)
{
	size_t lo = k, hi = tb->niv;
	for (int step = 0; step < 4 && lo < hi; step++, lo++)
		if (tb->iv_cum[lo + 1] >= target)
			return lo;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tb->iv_cum[mid + 1] < target)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Business time of the compiled intervals before t (t inside the span). */
static sla_time cum_before(const struct cal_tables *tb, sla_time t)
{
	size_t k = interval_after(tb, t);
	if (k == tb->niv)
		return tb->iv_cum[k];
	return tb->iv_cum[k] + (t > tb->iv_open[k] ? t - tb->iv_open[k] : 0);
}

static bool in_span(const struct cal_tables *tb, sla_time t)
{
	return tb->ndays && t >= tb->day_start[0] && t < tb->day_start[tb->ndays];
}

/* The instant where `left` ms of business time from t are used up (left ==
 * 0: the next opening). Alternates between the tables and day-by-day walks
 * outside them. */
static sla_time business_due(const struct calendar *cal, sla_time t, sla_time left)
{
	const struct cal_tables *tb = &cal->tables;
	sla_time a[DAY_PIECES_MAX], b[DAY_PIECES_MAX];
	int64_t day;
	long guard = 0;

again:
	if (in_span(tb, t)) {
		size_t k = interval_after(tb, t);
		if (k < tb->niv) {
			sla_time s = t > tb->iv_open[k] ? t : tb->iv_open[k];
			sla_time target = tb->iv_cum[k] + (s - tb->iv_open[k]) + left;
			if (target <= tb->iv_cum[tb->niv]) {
				size_t j = interval_reaching(tb, k, target);
				return tb->iv_close[j] - (tb->iv_cum[j + 1] - target);
			}
			left = target - tb->iv_cum[tb->niv];
		}
		t = tb->day_start[tb->ndays];
	}
	/* From the date before t's: a date's office hours may follow t when the
	 * clock was set back across midnight. */
	for (day = calendar_local_day(cal, t, NULL) - 1; guard < WALK_MAX_DAYS; guard++, day++) {
		if (tb->ndays && day >= tb->day0 && day < tb->day0 + (int64_t)tb->ndays) {
			sla_time ds = tb->day_start[day - tb->day0];
			if (t < ds)
				t = ds;
			if (in_span(tb, t))
				goto again;
		}
		size_t np = day_office_pieces(cal, day, a, b);
		int working = -1;
		for (size_t p = 0; p < np; p++) {
			if (b[p] <= t)
				continue;
			if (working < 0)
				working = calendar_is_working_day(cal, day);
			if (!working)
				break;
			sla_time s = a[p] > t ? a[p] : t;
			if (b[p] - s >= left)
				return s + left;
			left -= b[p] - s;
			t = b[p];
		}
	}
	return t;
}

sla_time calendar_business_minutes_due(const struct calendar *cal, sla_time start, int minutes)
{
	if (minutes <= 0)
		return start;
	return business_due(cal, start, (sla_time)minutes * SLA_MINUTE);
}

sla_time calendar_next_opening(const struct calendar *cal, sla_time t)
{
	return business_due(cal, t, 0);
}

/* Business time in [from, to) by walking dates. */
static sla_time between_general(const struct calendar *cal, sla_time from, sla_time to)
{
	sla_time a[DAY_PIECES_MAX], b[DAY_PIECES_MAX], sum = 0;
	int64_t last = calendar_local_day(cal, to, NULL) + 1;
	long guard = 0;
	for (int64_t day = calendar_local_day(cal, from, NULL) - 1; day <= last && guard < WALK_MAX_DAYS;
	     day++, guard++) {
		size_t np = day_office_pieces(cal, day, a, b);
		int working = -1;
		for (size_t p = 0; p < np; p++) {
			sla_time s = a[p] > from ? a[p] : from, e = b[p] < to ? b[p] : to;
			if (s >= e)
				continue;
			if (working < 0)
				working = calendar_is_working_day(cal, day);
			if (!working)
				break;
			sum += e - s;
		}
	}
	return sum;
}

sla_time calendar_business_time_between(const struct calendar *cal, sla_time from, sla_time to)
{
	const struct cal_tables *tb = &cal->tables;
	sla_time sum = 0;
	if (to <= from)
		return 0;
	if (!tb->ndays)
		return between_general(cal, from, to);
	sla_time s0 = tb->day_start[0], s1 = tb->day_start[tb->ndays];
	if (from < s0)
		sum += between_general(cal, from, to < s0 ? to : s0);
	if (to > s1)
		sum += between_general(cal, from > s1 ? from : s1, to);
	sla_time a = from < s0 ? s0 : from > s1 ? s1 : from;
	sla_time b = to < s0 ? s0 : to > s1 ? s1 : to;
	if (a < b)
		sum += cum_before(tb, b) - cum_before(tb, a);
	return sum;
}
