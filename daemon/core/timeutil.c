/* timeutil.c - civil-date arithmetic and RFC 3339 parsing on ms instants. Pure. */
#include "slad/timeutil.h"

#include <stdio.h>
#include <string.h>

int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t yy = (int64_t)yoe + era * 400;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (*m <= 2));
}

unsigned weekday_from_days(int64_t z)
{
	/* 1970-01-01 was a Thursday (3 when Monday is 0). */
	int64_t w = (z + 3) % 7;
	return (unsigned)(w < 0 ? w + 7 : w);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

unsigned days_in_month(int y, unsigned m)
{
	static const unsigned dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

bool date_parse(const char *s, int64_t *days)
{
	int y, mo, d;
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	if (!digits(s, 4, &y) || !digits(s + 5, 2, &mo) || !digits(s + 8, 2, &d))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || (unsigned)d > days_in_month(y, (unsigned)mo))
		return false;
	*days = days_from_civil(y, (unsigned)mo, (unsigned)d);
	return true;
}

bool hhmm_parse(const char *s, int *minutes)
{
	int h, m;
	if (strlen(s) != 5 || s[2] != ':' || !digits(s, 2, &h) || !digits(s + 3, 2, &m))
		return false;
	if (h > 24 || m > 59 || (h == 24 && m != 0))
		return false;
	*minutes = h * 60 + m;
	return true;
}

bool rfc3339_parse(const char *s, sla_time *out)
{
	int64_t days;
	int h, mi, se, ms = 0, off = 0;
	char date[11];
	size_t n = strlen(s);
	if (n < 20)
		return false;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!date_parse(date, &days))
		return false;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return false;
	if (!digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return false;
	if (h > 23 || mi > 59 || se > 60)
		return false;
	const char *p = s + 19;
	if (*p == '.') {
		int scale = 100;
		p++;
		if (*p < '0' || *p > '9')
			return false;
		while (*p >= '0' && *p <= '9') {
			ms += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return false;
		off = (oh * 60 + om) * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p != '\0')
		return false;
	if (se == 60)
		se = 59; /* leap second: clamp, instants are POSIX time */
	*out = days * SLA_DAY + (sla_time)h * SLA_HOUR + (sla_time)mi * SLA_MINUTE + (sla_time)se * 1000 + ms -
	       (sla_time)off * SLA_MINUTE;
	return true;
}

void rfc3339_format(sla_time t, int offset_min, char *buf, size_t len)
{
	sla_time local = t + (sla_time)offset_min * SLA_MINUTE;
	int64_t days = floor_div(local, SLA_DAY);
	int64_t rem = local - days * SLA_DAY;
	int y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	int h = (int)(rem / SLA_HOUR), mi = (int)(rem % SLA_HOUR / SLA_MINUTE), s = (int)(rem % SLA_MINUTE / 1000),
	    ms = (int)(rem % 1000);
	int oa = offset_min < 0 ? -offset_min : offset_min;
	if (ms)
		snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d.%03d%c%02d:%02d", y, m, d, h, mi, s, ms,
			 offset_min < 0 ? '-' : '+', oa / 60, oa % 60);
	else
		snprintf(buf, len, "%04d-%02u-%02uT%02d:%02d:%02d%c%02d:%02d", y, m, d, h, mi, s,
			 offset_min < 0 ? '-' : '+', oa / 60, oa % 60);
}
