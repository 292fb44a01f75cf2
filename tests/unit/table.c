/* table.c - reading the table-driven case files under tests/unit/cases. */
#include "table.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SLAD_TEST_CASES_DIR
#define SLAD_TEST_CASES_DIR "cases"
#endif

const char *test_cases_dir = SLAD_TEST_CASES_DIR;

char *read_file(const char *path, long *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto fail;
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto fail;
	buf[n] = '\0';
	fclose(f);
	if (len)
		*len = n;
	return buf;
fail:
	free(buf);
	fclose(f);
	return NULL;
}

void table_load(struct table *t, const char *name)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s/%s", test_cases_dir, name);
	t->buf = read_file(t->path, NULL);
	ck_assert_msg(t->buf != NULL, "cannot read case file %s", t->path);

	int cap = 0, lineno = 0;
	for (char *line = t->buf, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\r' || line[n - 1] == ' '))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (t->nrows == cap) {
			cap = cap ? cap * 2 : 32;
			t->rows = realloc(t->rows, (size_t)cap * sizeof(*t->rows));
			ck_assert_ptr_nonnull(t->rows);
		}
		struct table_row *r = &t->rows[t->nrows++];
		memset(r, 0, sizeof(*r));
		r->lineno = lineno;
		for (char *p = line; *p && r->nf < TABLE_MAX_FIELDS;) {
			r->f[r->nf++] = p;
			p += strcspn(p, "\t");
			if (*p) {
				*p++ = '\0';
				p += strspn(p, "\t");
			}
		}
	}
}

void table_free(struct table *t)
{
	free(t->buf);
	free(t->rows);
	memset(t, 0, sizeof(*t));
}
