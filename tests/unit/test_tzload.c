/* test_tzload.c - tcase "tzload" of suite "calendar": TZif files and POSIX TZ strings into offset tables. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar_fixture.h"
#include "evbuild.h"
#include "slad/tzload.h"
#include "table.h"

static const char *const zones[] = {"Asia/Shanghai", "Europe/Berlin", "America/Santiago", "Africa/Cairo",
				    "Test/Berlin_slim"};

static int32_t offset_at(const struct cal_offset *v, size_t n, sla_time t)
{
	size_t lo = 0, hi = n;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].from <= t)
			lo = mid;
		else
			hi = mid;
	}
	return v[lo].utc_offset_s;
}

static bool has_entry(const struct cal_offset *v, size_t n, const char *from, int32_t off)
{
	sla_time t = T(from);
	for (size_t i = 0; i < n; i++)
		if (v[i].from == t)
			return v[i].utc_offset_s == off;
	return false;
}

static void load(const char *zone, struct cal_offset **v, size_t *n)
{
	char err[512];
	ck_assert_msg(tzload_zone(calfix_zoneinfo_dir(), zone, v, n, err, sizeof(err)), "%s: %s", zone, err);
	ck_assert_int_gt(*n, 0);
	ck_assert((*v)[0].from == INT64_MIN);
	for (size_t i = 1; i < *n; i++) {
		ck_assert_msg((*v)[i - 1].from < (*v)[i].from, "%s: entry %zu out of order", zone, i);
		ck_assert_msg((*v)[i - 1].utc_offset_s != (*v)[i].utc_offset_s, "%s: entry %zu changes nothing", zone, i);
	}
}

START_TEST(zone_files)
{
	struct cal_offset *v;
	size_t n;

	load("Europe/Berlin", &v, &n);
	ck_assert(has_entry(v, n, "2025-03-30T01:00:00Z", 7200));
	ck_assert(has_entry(v, n, "2025-10-26T01:00:00Z", 3600));
	/* after the file's last listed transition (2037) the footer rule goes on */
	ck_assert(has_entry(v, n, "2040-03-25T01:00:00Z", 7200));
	ck_assert(has_entry(v, n, "2199-10-27T01:00:00Z", 3600));
	ck_assert_int_lt(v[n - 1].from, T("2201-01-01T00:00:00Z"));
	/* local mean time before 1893 */
	ck_assert_int_eq(offset_at(v, n, T("1850-01-01T00:00:00Z")), 53 * 60 + 28);
	free(v);

	load("Asia/Shanghai", &v, &n);
	ck_assert_int_eq(offset_at(v, n, T("2025-06-01T00:00:00Z")), 8 * 3600);
	ck_assert_int_eq(offset_at(v, n, T("2199-06-01T00:00:00Z")), 8 * 3600);
	ck_assert_int_eq(offset_at(v, n, T("1990-07-01T00:00:00Z")), 9 * 3600); /* daylight saving 1986-1991 */
	ck_assert_int_eq(offset_at(v, n, T("1900-01-01T00:00:00Z")), 8 * 3600 + 5 * 60 + 43);
	free(v);

	load("America/Santiago", &v, &n);
	ck_assert(has_entry(v, n, "2025-04-06T03:00:00Z", -4 * 3600));
	ck_assert(has_entry(v, n, "2025-09-07T04:00:00Z", -3 * 3600));
	free(v);

	load("Africa/Cairo", &v, &n);
	ck_assert(has_entry(v, n, "2025-04-24T22:00:00Z", 3 * 3600));
	ck_assert(has_entry(v, n, "2025-10-30T21:00:00Z", 2 * 3600));
	free(v);

	/* a slim file: everything after 1981 from the footer */
	struct cal_offset *fat;
	size_t nfat;
	load("Test/Berlin_slim", &v, &n);
	load("Europe/Berlin", &fat, &nfat);
	ck_assert(has_entry(v, n, "2025-03-30T01:00:00Z", 7200));
	size_t i = 0, j = 0;
	while (i < n && v[i].from < T("1997-01-01T00:00:00Z"))
		i++;
	while (j < nfat && fat[j].from < T("1997-01-01T00:00:00Z"))
		j++;
	ck_assert_uint_eq(n - i, nfat - j);
	for (; i < n; i++, j++) {
		ck_assert_int_eq(v[i].from, fat[j].from);
		ck_assert_int_eq(v[i].utc_offset_s, fat[j].utc_offset_s);
	}
	free(v);
	free(fat);
}
END_TEST

/* Our reading of every zone file agrees with glibc's, 1950-2150. */
START_TEST(zone_files_match_glibc)
{
	for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
		struct cal_offset *v;
		size_t n, checked = 0;
		load(zones[z], &v, &n);
		calfix_glibc_zone(zones[z]);
		/* an odd step, to land at many times of day */
		for (int64_t t = T("1950-01-01T00:00:00Z") / 1000; t < T("2150-01-01T00:00:00Z") / 1000;
		     t += 7 * 3600 + 13 * 60 + 7) {
			long want = calfix_glibc_offset(t);
			int32_t got = offset_at(v, n, t * 1000);
			if (got != want) {
				calfix_glibc_restore();
				ck_abort_msg("%s at %lld: offset %d, glibc %ld", zones[z], (long long)t, got, want);
			}
			checked++;
		}
		calfix_glibc_restore();
		ck_assert_uint_gt(checked, 200000);
		free(v);
	}
}
END_TEST

static void posix(const char *tz, int y0, int y1, struct cal_offset **v, size_t *n)
{
	char err[256];
	ck_assert_msg(tzload_posix(tz, y0, y1, v, n, err, sizeof(err)), "%s: %s", tz, err);
}

START_TEST(posix_strings)
{
	struct cal_offset *v;
	size_t n;
	char err[256];

	posix("CET-1CEST,M3.5.0,M10.5.0/3", 2025, 2025, &v, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0].utc_offset_s, 3600);
	ck_assert(has_entry(v, n, "2025-03-30T01:00:00Z", 7200));
	ck_assert(has_entry(v, n, "2025-10-26T01:00:00Z", 3600));
	free(v);

	/* southern hemisphere: the year starts in daylight saving; 24:00 */
	posix("<-04>4<-03>,M9.1.6/24,M4.1.6/24", 2025, 2025, &v, &n);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(v[0].utc_offset_s, -3 * 3600);
	ck_assert(has_entry(v, n, "2025-04-06T03:00:00Z", -4 * 3600));
	ck_assert(has_entry(v, n, "2025-09-07T04:00:00Z", -3 * 3600));
	free(v);

	posix("EET-2EEST,M4.5.5/0,M10.5.4/24", 2025, 2025, &v, &n);
	ck_assert(has_entry(v, n, "2025-04-24T22:00:00Z", 3 * 3600));
	ck_assert(has_entry(v, n, "2025-10-30T21:00:00Z", 2 * 3600));
	free(v);

	posix("AEST-10AEDT,M10.1.0,M4.1.0/3", 2025, 2025, &v, &n);
	ck_assert_int_eq(v[0].utc_offset_s, 11 * 3600);
	ck_assert(has_entry(v, n, "2025-04-05T16:00:00Z", 10 * 3600));
	ck_assert(has_entry(v, n, "2025-10-04T16:00:00Z", 11 * 3600));
	free(v);

	/* negative transition time (America/Nuuk) */
	posix("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", 2025, 2025, &v, &n);
	ck_assert(has_entry(v, n, "2025-03-30T01:00:00Z", -3600));
	ck_assert(has_entry(v, n, "2025-10-26T01:00:00Z", -7200));
	free(v);

	/* Jn never counts 29 February; n does */
	posix("XXX3YYY,J60/2,J300/2", 2024, 2024, &v, &n);
	ck_assert(has_entry(v, n, "2024-03-01T05:00:00Z", -2 * 3600));
	free(v);
	posix("XXX3YYY,59/2,299/2", 2024, 2024, &v, &n);
	ck_assert(has_entry(v, n, "2024-02-29T05:00:00Z", -2 * 3600));
	free(v);

	/* fixed offsets, with minutes; no rule: the US one */
	posix("<+0330>-3:30", 2025, 2030, &v, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(v[0].utc_offset_s, 3 * 3600 + 1800);
	free(v);
	posix("EST5EDT", 2025, 2025, &v, &n);
	ck_assert(has_entry(v, n, "2025-03-09T07:00:00Z", -4 * 3600));
	ck_assert(has_entry(v, n, "2025-11-02T06:00:00Z", -5 * 3600));
	free(v);

	/* daylight saving all year */
	posix("EST5EDT4,0/0,J365/25", 2025, 2026, &v, &n);
	ck_assert_int_eq(offset_at(v, n, T("2025-06-01T00:00:00Z")), -4 * 3600);
	ck_assert_int_eq(offset_at(v, n, T("2026-01-01T12:00:00Z")), -4 * 3600);
	ck_assert_int_eq(offset_at(v, n, T("2026-12-31T12:00:00Z")), -4 * 3600);
	free(v);

	static const char *const bad[] = {"",
					  "C",
					  "CET",
					  "CET-1CEST,M3.5.0",
					  "CET-1CEST,M13.5.0,M10.5.0",
					  "CET-1CEST,M3.5.0,M10.5.0/3x",
					  "CET-1CEST,M3.6.0,M10.5.0",
					  "CET-1CEST,J0,J300",
					  "<+03",
					  "<+03>",
					  "UTC99",
					  "CET-1:60"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = (struct cal_offset *)&n; /* must come back NULL */
		ck_assert_msg(!tzload_posix(bad[i], 2025, 2025, &v, &n, err, sizeof(err)), "accepted \"%s\"", bad[i]);
		ck_assert_ptr_null(v);
		ck_assert_ptr_nonnull(strstr(err, "POSIX"));
	}
	ck_assert(!tzload_posix("UTC0", 2026, 2025, &v, &n, err, sizeof(err)));
}
END_TEST

START_TEST(bad_zones_and_files)
{
	struct cal_offset *v;
	size_t n;
	char err[512], path[700];

	ck_assert(!tzload_zone(calfix_zoneinfo_dir(), "No/Such_Zone", &v, &n, err, sizeof(err)));
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(strstr(err, "No/Such_Zone"));
	static const char *const names[] = {"", "/etc/passwd", "../cases/calendar_defs.tsv", "Europe/../Europe/Berlin",
					    "Europe/Berlin/", "Europe/Ber lin", "./Europe/Berlin", "Europe/.."};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ck_assert_msg(!tzload_zone(calfix_zoneinfo_dir(), names[i], &v, &n, err, sizeof(err)), "accepted \"%s\"",
			      names[i]);
		ck_assert_ptr_nonnull(strstr(err, "time zone"));
	}
	/* not TZif */
	ck_assert(!tzload_zone(calfix_zoneinfo_dir(), "Test/Berlin_slim.zi", &v, &n, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "TZif"));

	/* every truncation of a real file fails cleanly or parses what is there */
	long len;
	calfix_zone_path("America/Santiago", path, sizeof(path));
	unsigned char *buf = (unsigned char *)read_file(path, &len);
	ck_assert_ptr_nonnull(buf);
	for (long cut = 0; cut < len; cut++) {
		if (tzload_parse(buf, (size_t)cut, &v, &n, err, sizeof(err))) {
			ck_assert_int_gt(n, 0);
			free(v);
		} else {
			ck_assert_ptr_null(v);
		}
	}
	/* the version 1 part alone (32-bit times) */
	unsigned char *v1 = malloc((size_t)len);
	ck_assert_ptr_nonnull(v1);
	memcpy(v1, buf, (size_t)len);
	v1[4] = 0;
	struct cal_offset *full;
	size_t nfull;
	ck_assert(tzload_parse(buf, (size_t)len, &full, &nfull, err, sizeof(err)));
	ck_assert(tzload_parse(v1, (size_t)len, &v, &n, err, sizeof(err)));
	for (sla_time t = T("1980-01-01T00:00:00Z"); t < T("2037-01-01T00:00:00Z"); t += 5 * SLA_HOUR + 7 * SLA_MINUTE)
		if (offset_at(v, n, t) != offset_at(full, nfull, t))
			ck_abort_msg("version 1 data differ at %lld", (long long)t);
	free(v);
	free(full);
	/* leap-second files are refused */
	v1[4] = '2';
	v1[31] = 1; /* leapcnt of the first header */
	ck_assert(!tzload_parse(v1, (size_t)len, &v, &n, err, sizeof(err)));
	free(v1);
	/* every single-byte corruption fails cleanly or parses */
	for (long i = 0; i < len; i++) {
		unsigned char keep = buf[i];
		buf[i] ^= 0xa5;
		if (tzload_parse(buf, (size_t)len, &v, &n, err, sizeof(err)))
			free(v);
		buf[i] = keep;
	}
	free(buf);
}
END_TEST

TCase *calendar_tzload_tcase(void)
{
	TCase *tc = tcase_create("tzload");
	tcase_add_test(tc, zone_files);
	tcase_add_test(tc, zone_files_match_glibc);
	tcase_add_test(tc, posix_strings);
	tcase_add_test(tc, bad_zones_and_files);
	return tc;
}
