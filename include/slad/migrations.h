/* migrations.h - the schema migrations of schema/, compiled in. */
#ifndef SLAD_MIGRATIONS_H
#define SLAD_MIGRATIONS_H

struct migration {
	const char *name; /* file name, e.g. "0001_init.sql"; NULL ends the list */
	const char *sql;
};

extern const struct migration migrations[];

#endif
