/* table.h - data files of table-driven cases: one case a line, fields split at tabs. */
#ifndef SLAD_TEST_TABLE_H
#define SLAD_TEST_TABLE_H

#include <stdbool.h>

#define TABLE_MAX_FIELDS 8

struct table_row {
	int lineno;
	int nf;
	char *f[TABLE_MAX_FIELDS];
};

struct table {
	char path[512];
	char *buf;
	struct table_row *rows;
	int nrows;
};

/* Where the case files live: set by the runner (argument or build default). */
extern const char *test_cases_dir;

/* Loads `test_cases_dir/name`. Blank lines and lines starting with '#' are
 * skipped; fields are separated by one or more tabs. Aborts the test when
 * the file cannot be read. */
void table_load(struct table *t, const char *name);
void table_free(struct table *t);

/* Reads a whole file into a NUL-terminated buffer (free it); NULL on error. */
char *read_file(const char *path, long *len);

#endif
