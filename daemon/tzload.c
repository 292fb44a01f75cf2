/* tzload.c - reads TZif files of the system time-zone database into UTC offset tables. */
#include "slad/tzload.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slad/arrays.h"
#include "slad/pgarr.h" /* pg_set_err: the shell's one-line error text */
#include "slad/timeutil.h"

/* Offsets this far from UTC are not real zones (the widest is +14:00). */
#define TZ_MAX_OFFSET_S (26 * 3600)
#define TZ_MAX_NAME 255

struct offs {
	struct cal_offset *v;
	size_t n, cap;
};

static bool offs_push(struct offs *o, sla_time from, int32_t offset_s)
{
	if (!array_grow_from((void **)&o->v, &o->cap, o->n + 1, sizeof(*o->v), 64))
		return false;
	o->v[o->n].from = from;
	o->v[o->n].utc_offset_s = offset_s;
	o->n++;
	return true;
}

/* Entries arrive sorted; at one instant the last wins, and an entry that
 * does not change the offset is dropped. */
static void offs_normalize(struct offs *o)
{
	size_t w = 0;

	for (size_t r = 0; r < o->n; r++) {
		if (w > 0 && o->v[w - 1].from == o->v[r].from) {
			o->v[w - 1].utc_offset_s = o->v[r].utc_offset_s;
			if (w > 1 && o->v[w - 2].utc_offset_s == o->v[w - 1].utc_offset_s)
				w--;
			continue;
		}
		if (w > 0 && o->v[w - 1].utc_offset_s == o->v[r].utc_offset_s)
			continue;
		o->v[w++] = o->v[r];
	}
	o->n = w;
}

/* ---- POSIX TZ strings (RFC 8536 section 3.3) ---- */

enum rule_kind { RULE_JULIAN1 = 'J', RULE_DAY0 = 'n', RULE_MONTH = 'M' };

struct posix_rule {
	enum rule_kind kind;
	int a, b, c; /* J: a = 1..365; n: a = 0..365; M: month a, week b, weekday c (0 = Sunday) */
	int32_t time_s;
};

struct posix_tz {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct posix_rule start, end;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static const char *parse_name(const char *p)
{
	const char *s;

	if (*p == '<') {
		s = ++p;
		while (*p && *p != '>') {
			if (!is_alpha(*p) && !is_digit(*p) && *p != '+' && *p != '-')
				return NULL;
			p++;
		}
		return *p == '>' && p - s >= 3 ? p + 1 : NULL;
	}
	s = p;
	while (is_alpha(*p))
		p++;
	return p - s >= 3 ? p : NULL;
}

static const char *parse_number(const char *p, int max, int *out)
{
	int v = 0;

	if (!is_digit(*p))
		return NULL;
	while (is_digit(*p)) {
		v = v * 10 + (*p++ - '0');
		if (v > max)
			return NULL;
	}
	*out = v;
	return p;
}

/* [+-]hh[:mm[:ss]] as seconds. */
static const char *parse_hms(const char *p, int max_hours, int32_t *secs)
{
	int sign = 1, h = 0, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if ((p = parse_number(p, max_hours, &h)) == NULL)
		return NULL;
	if (*p == ':') {
		if ((p = parse_number(p + 1, 59, &m)) == NULL)
			return NULL;
		if (*p == ':' && (p = parse_number(p + 1, 59, &s)) == NULL)
			return NULL;
	}
	*secs = (int32_t)sign * (h * 3600 + m * 60 + s);
	return p;
}

static const char *parse_rule(const char *p, struct posix_rule *r)
{
	if (*p == 'J') {
		r->kind = RULE_JULIAN1;
		if ((p = parse_number(p + 1, 365, &r->a)) == NULL || r->a < 1)
			return NULL;
	} else if (*p == 'M') {
		r->kind = RULE_MONTH;
		if ((p = parse_number(p + 1, 12, &r->a)) == NULL || r->a < 1 || *p != '.')
			return NULL;
		if ((p = parse_number(p + 1, 5, &r->b)) == NULL || r->b < 1 || *p != '.')
			return NULL;
		if ((p = parse_number(p + 1, 6, &r->c)) == NULL)
			return NULL;
	} else {
		r->kind = RULE_DAY0;
		if ((p = parse_number(p, 365, &r->a)) == NULL)
			return NULL;
	}
	r->time_s = 2 * 3600;
	if (*p == '/')
		p = parse_hms(p + 1, 167, &r->time_s);
	return p;
}

static bool parse_posix(const char *p, struct posix_tz *tz)
{
	int32_t v;

	memset(tz, 0, sizeof(*tz));
	if ((p = parse_name(p)) == NULL || (p = parse_hms(p, 24, &v)) == NULL)
		return false;
	tz->std_off = -v;
	if (*p == '\0')
		return true;
	if ((p = parse_name(p)) == NULL)
		return false;
	tz->has_dst = true;
	tz->dst_off = tz->std_off + 3600;
	if (*p && *p != ',') {
		if ((p = parse_hms(p, 24, &v)) == NULL)
			return false;
		tz->dst_off = -v;
	}
	if (*p == '\0') {
		/* POSIX leaves the rule to the implementation; tzcode uses the US one. */
		tz->start = (struct posix_rule){RULE_MONTH, 3, 2, 0, 2 * 3600};
		tz->end = (struct posix_rule){RULE_MONTH, 11, 1, 0, 2 * 3600};
		return true;
	}
	if (*p != ',' || (p = parse_rule(p + 1, &tz->start)) == NULL)
		return false;
	if (*p != ',' || (p = parse_rule(p + 1, &tz->end)) == NULL)
		return false;
	return *p == '\0';
}

static bool is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days since the epoch of the date a rule names in year y. */
static int64_t rule_day(int y, const struct posix_rule *r)
{
	int64_t jan1 = days_from_civil(y, 1, 1);

	switch (r->kind) {
	case RULE_JULIAN1: return jan1 + r->a - 1 + (is_leap(y) && r->a >= 60 ? 1 : 0);
	case RULE_DAY0: return jan1 + r->a;
	case RULE_MONTH:
	default: {
		int64_t first = days_from_civil(y, (unsigned)r->a, 1);
		int64_t next = r->a == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, (unsigned)r->a + 1, 1);
		int sunday_based = (int)((weekday_from_days(first) + 1) % 7);
		int64_t day = first + (r->c - sunday_based + 7) % 7 + 7 * (r->b - 1);
		while (day >= next)
			day -= 7;
		return day;
	}
	}
}

/* The two transitions of year y, in time order. */
static void year_transitions(const struct posix_tz *tz, int y, struct cal_offset out[2])
{
	sla_time start = (rule_day(y, &tz->start) * 86400 + tz->start.time_s - tz->std_off) * 1000;
	sla_time end = (rule_day(y, &tz->end) * 86400 + tz->end.time_s - tz->dst_off) * 1000;

	out[0] = (struct cal_offset){start, tz->dst_off};
	out[1] = (struct cal_offset){end, tz->std_off};
	if (end < start) {
		struct cal_offset x = out[0];
		out[0] = out[1];
		out[1] = x;
	}
}

static bool offset_plausible(int32_t s)
{
	return s > -TZ_MAX_OFFSET_S && s < TZ_MAX_OFFSET_S;
}

/* Appends the transitions of years first..last that come after `after`. */
static bool expand_posix(const struct posix_tz *tz, int first, int last, sla_time after, struct offs *o)
{
	for (int y = first; y <= last; y++) {
		struct cal_offset tr[2];
		year_transitions(tz, y, tr);
		for (int i = 0; i < 2; i++)
			if (tr[i].from > after && !offs_push(o, tr[i].from, tr[i].utc_offset_s))
				return false;
	}
	return true;
}

bool tzload_posix(const char *tzstr, int first_year, int last_year, struct cal_offset **out, size_t *n,
		  char *err, size_t errlen)
{
	struct posix_tz tz;
	struct offs o = {0};

	*out = NULL;
	*n = 0;
	if (!parse_posix(tzstr, &tz) || !offset_plausible(tz.std_off) || !offset_plausible(tz.dst_off)) {
		pg_set_err(err, errlen, "bad POSIX TZ string \"%.60s\"", tzstr);
		return false;
	}
	if (first_year > last_year || first_year < 1 || last_year > 9999) {
		pg_set_err(err, errlen, "bad year range %d..%d", first_year, last_year);
		return false;
	}
	int32_t initial = tz.std_off;
	if (tz.has_dst) {
		struct cal_offset tr[2];
		year_transitions(&tz, first_year, tr);
		initial = tr[0].utc_offset_s == tz.dst_off ? tz.std_off : tz.dst_off;
	}
	if (!offs_push(&o, INT64_MIN, initial) ||
	    (tz.has_dst && !expand_posix(&tz, first_year, last_year, INT64_MIN, &o))) {
		free(o.v);
		pg_set_err(err, errlen, "out of memory");
		return false;
	}
	offs_normalize(&o);
	*out = o.v;
	*n = o.n;
	return true;
}

/* ---- TZif ---- */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzif_header {
	char version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static bool read_header(const unsigned char *p, size_t avail, struct tzif_header *h)
{
	if (avail < 44 || memcmp(p, "TZif", 4) != 0)
		return false;
	h->version = (char)p[4];
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	/* Bounds that keep the size arithmetic below far from overflow. */
	return h->timecnt <= 1000000 && h->typecnt <= 256 && h->charcnt <= 65536 && h->leapcnt <= 100000 &&
	       h->isutcnt <= 256 && h->isstdcnt <= 256;
}

static size_t data_size(const struct tzif_header *h, size_t time_size)
{
	return h->timecnt * time_size + h->timecnt + h->typecnt * 6 + h->charcnt + h->leapcnt * (time_size + 4) +
	       h->isstdcnt + h->isutcnt;
}

/* The TZif data block in use (version 2+: the second, 64-bit one) and its footer. */
struct tzif {
	struct tzif_header h;
	size_t tsize; /* 4 or 8 bytes a transition time */
	const unsigned char *times, *idx, *types;
	char footer[128]; /* the TZ string for the times after the last transition; "" when none */
};

enum tzif_result { TZIF_OK, TZIF_BAD, TZIF_NOMEM, TZIF_REPORTED /* err says why */ };

/* Footer: "\n" TZ string "\n", right after the data block (f, flen). */
static bool read_footer(const unsigned char *f, size_t flen, char *footer, size_t size)
{
	if (flen < 2 || f[0] != '\n')
		return true;
	const unsigned char *nl = memchr(f + 1, '\n', flen - 1);
	if (nl == NULL || (size_t)(nl - f - 1) >= size)
		return false;
	memcpy(footer, f + 1, (size_t)(nl - f - 1));
	footer[nl - f - 1] = '\0';
	return true;
}

static enum tzif_result tzif_read(const unsigned char *buf, size_t len, struct tzif *z)
{
	const unsigned char *p = buf;
	size_t avail = len;
	z->tsize = 4;
	z->footer[0] = '\0';
	if (!read_header(p, avail, &z->h))
		return TZIF_BAD;
	if (z->h.version >= '2') {
		size_t skip = 44 + data_size(&z->h, 4);
		if (skip > avail)
			return TZIF_BAD;
		p += skip;
		avail -= skip;
		if (!read_header(p, avail, &z->h))
			return TZIF_BAD;
		z->tsize = 8;
	}
	p += 44;
	avail -= 44;
	if (data_size(&z->h, z->tsize) > avail || z->h.typecnt == 0)
		return TZIF_BAD;
	if (z->h.leapcnt != 0)
		return TZIF_REPORTED;
	z->times = p;
	z->idx = z->times + z->h.timecnt * z->tsize;
	z->types = z->idx + z->h.timecnt;
	for (uint32_t i = 0; i < z->h.typecnt; i++)
		if (!offset_plausible((int32_t)be32(z->types + 6 * i)))
			return TZIF_BAD;
	if (z->tsize == 8 && !read_footer(p + data_size(&z->h, z->tsize), avail - data_size(&z->h, z->tsize),
					  z->footer, sizeof(z->footer)))
		return TZIF_BAD;
	return TZIF_OK;
}

static enum tzif_result push_transitions(const struct tzif *z, struct offs *o)
{
	/* RFC 8536 3.2: before the first transition, time type 0 applies. */
	if (!offs_push(o, INT64_MIN, (int32_t)be32(z->types)))
		return TZIF_NOMEM;
	int64_t prev = INT64_MIN;
	for (uint32_t i = 0; i < z->h.timecnt; i++) {
		int64_t t = z->tsize == 8 ? be64(z->times + 8 * i) : (int64_t)(int32_t)be32(z->times + 4 * i);
		unsigned type = z->idx[i];
		int32_t off;
		if (type >= z->h.typecnt || (i > 0 && t <= prev))
			return TZIF_BAD;
		prev = t;
		off = (int32_t)be32(z->types + 6 * type);
		if (t < INT64_MIN / 1000 + 1) {
			/* "Big bang" markers: before anything an sla_time can hold. */
			o->v[0].utc_offset_s = off;
			continue;
		}
		if (t > INT64_MAX / 1000 - 1)
			break;
		if (!offs_push(o, t * 1000, off))
			return TZIF_NOMEM;
	}
	return TZIF_OK;
}

/* The footer's rule, from the year of the last transition to TZLOAD_LAST_YEAR. */
static enum tzif_result push_footer(const char *footer, struct offs *o, char *err, size_t errlen)
{
	struct posix_tz tz;
	int y0 = 1900, y;
	unsigned m, d;
	if (!parse_posix(footer, &tz) || !offset_plausible(tz.std_off) || !offset_plausible(tz.dst_off)) {
		pg_set_err(err, errlen, "bad TZ string \"%.60s\" in the zone file", footer);
		return TZIF_REPORTED;
	}
	if (o->n > 1) {
		civil_from_days(floor_div(o->v[o->n - 1].from, SLA_DAY), &y, &m, &d);
		y0 = y;
	} else if (!tz.has_dst) {
		o->v[0].utc_offset_s = tz.std_off;
	}
	if (tz.has_dst && y0 <= TZLOAD_LAST_YEAR &&
	    !expand_posix(&tz, y0, TZLOAD_LAST_YEAR, o->n > 1 ? o->v[o->n - 1].from : INT64_MIN, o))
		return TZIF_NOMEM;
	return TZIF_OK;
}

bool tzload_parse(const unsigned char *buf, size_t len, struct cal_offset **out, size_t *n, char *err,
		  size_t errlen)
{
	struct tzif z;
	struct offs o = {0};

	*out = NULL;
	*n = 0;
	enum tzif_result r = tzif_read(buf, len, &z);
	if (r == TZIF_REPORTED) {
		pg_set_err(err, errlen, "zone files with leap seconds (right/...) are not supported");
		return false;
	}
	if (r == TZIF_OK)
		r = push_transitions(&z, &o);
	if (r == TZIF_OK && z.footer[0])
		r = push_footer(z.footer, &o, err, errlen);
	if (r == TZIF_OK) {
		offs_normalize(&o);
		*out = o.v;
		*n = o.n;
		return true;
	}
	free(o.v);
	if (r == TZIF_BAD)
		pg_set_err(err, errlen, "not a valid TZif file");
	else if (r == TZIF_NOMEM)
		pg_set_err(err, errlen, "out of memory");
	return false;
}

/* Zone names are relative paths of letters, digits and ._+- with no ".." part. */
static bool zone_name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > TZ_MAX_NAME || name[0] == '/' || name[len - 1] == '/')
		return false;
	for (const char *p = name; *p; p++)
		if (!is_alpha(*p) && !is_digit(*p) && strchr("._+-/", *p) == NULL)
			return false;
	for (const char *p = name; p; p = strchr(p, '/')) {
		if (*p == '/')
			p++;
		if (p[0] == '.' && (p[1] == '/' || p[1] == '\0' || (p[1] == '.' && (p[2] == '/' || p[2] == '\0'))))
			return false;
	}
	return true;
}

bool tzload_zone(const char *dir, const char *name, struct cal_offset **out, size_t *n, char *err, size_t errlen)
{
	char path[4096];
	unsigned char *buf = NULL;
	FILE *f = NULL;
	size_t len;
	bool ok = false;

	*out = NULL;
	*n = 0;
	if (dir == NULL || dir[0] == '\0') {
		const char *env = getenv("TZDIR");
		dir = env && env[0] ? env : TZLOAD_DEFAULT_DIR;
	}
	if (!zone_name_ok(name)) {
		pg_set_err(err, errlen, "\"%.64s\" is not a time zone name", name);
		return false;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path)) {
		pg_set_err(err, errlen, "time zone path too long");
		return false;
	}
	f = fopen(path, "rb");
	if (f == NULL) {
		pg_set_err(err, errlen, "time zone %s: %s: %s", name, path, strerror(errno));
		return false;
	}
	buf = malloc(TZLOAD_MAX_FILE + 1);
	if (buf == NULL) {
		pg_set_err(err, errlen, "out of memory");
		goto done;
	}
	len = fread(buf, 1, TZLOAD_MAX_FILE + 1, f);
	if (ferror(f) || len > TZLOAD_MAX_FILE) {
		pg_set_err(err, errlen, "time zone %s: %s: %s", name, path, ferror(f) ? "read error" : "file too large");
		goto done;
	}
	if (!tzload_parse(buf, len, out, n, err, errlen)) {
		char why[128];
		snprintf(why, sizeof(why), "%s", err ? err : "");
		pg_set_err(err, errlen, "time zone %s: %s: %s", name, path, why);
		goto done;
	}
	ok = true;
done:
	free(buf);
	fclose(f);
	return ok;
}
