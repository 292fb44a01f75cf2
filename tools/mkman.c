/* mkman.c - makes slad.conf(5) from the configuration table: fills the markers of docs/man/slad.conf.5.in. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "slad/config.h"

/* A template line that is exactly one of these is replaced by what the table says. */
#define MARK_KEYS ".\\\" mkman:keys"
#define MARK_ENVIRONMENT ".\\\" mkman:environment"
#define MARK_RESERVED ".\\\" mkman:kafka-reserved"
#define MARK_PREFIX ".\\\" mkman:"

static void usage(FILE *f)
{
	fprintf(f, "usage: mkman TEMPLATE OUTPUT   fill the mkman markers of a man page template\n"
		   "       mkman --keys            the configuration table, one key a line, tab-separated:\n"
		   "                               name type default min max reload secret env values\n");
}

/* Text on a line of its own: roff's escape character, and a control character
 * at the start of the line, must not reach the formatter; '-' is a hyphen
 * unless written \-, and key names, options and paths need the minus sign. */
static void put_text(FILE *out, const char *s)
{
	if (*s == '.' || *s == '\'')
		fputs("\\&", out);
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '\\': fputs("\\e", out); break;
		case '-': fputs("\\-", out); break;
		default: fputc(*p, out); break;
		}
	}
}

/* A macro argument: quoted, so that spaces stay inside it. */
static void put_arg(FILE *out, const char *s)
{
	fputc('"', out);
	for (const char *p = s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\(dq", out); break;
		case '\\': fputs("\\e", out); break;
		case '-': fputs("\\-", out); break;
		default: fputc(*p, out); break;
		}
	}
	fputc('"', out);
}

/* ".BR word punct": word in bold, punctuation right after it in roman. */
static void put_bold(FILE *out, const char *word, const char *punct)
{
	fputs(".BR ", out);
	put_arg(out, word);
	if (punct && *punct) {
		fputc(' ', out);
		put_arg(out, punct);
	}
	fputc('\n', out);
}

/* A tagged paragraph whose tag is name in bold: ".TP" (with an indent, if
 * any) and ".B name"; the paragraph's text follows. */
static void put_tagged(FILE *out, const char *tp, const char *name)
{
	fprintf(out, "%s\n.B ", tp);
	put_arg(out, name);
	fputc('\n', out);
}

static void write_keys(FILE *out)
{
	struct config_key_info k;
	for (size_t i = 0; config_describe_key(i, &k); i++) {
		put_tagged(out, ".TP", k.name);
		if (k.min[0])
			fprintf(out, ".I %s\n", k.type);
		else
			fprintf(out, ".IR %s %s\n", k.type, k.allowed ? "," : ";");
		if (k.allowed) {
			fputs("one of\n", out);
			for (size_t j = 0; k.allowed[j]; j++)
				put_bold(out, k.allowed[j], k.allowed[j + 1] ? "," : ";");
		} else if (k.min[0]) {
			fputs("from ", out);
			put_text(out, k.min);
			fputs(" to ", out);
			put_text(out, k.max);
			fputs(";\n", out);
		}
		if (k.def[0]) {
			fputs("default\n", out);
			put_bold(out, k.def, ";");
		} else {
			fputs("default empty;\n", out);
		}
		fputs(k.reloadable ? "applied on SIGHUP.\n"
				   : "needs a restart (on SIGHUP a change is logged and the old value kept).\n",
		      out);
		if (k.secret)
			fputs("Its secrets (the password) are never printed: check\\-config and the log show ***.\n", out);
		fputs("Environment:\n", out);
		put_bold(out, k.env, ".");
		fputs(".IP\n", out);
		put_text(out, k.doc);
		fputc('\n', out);
	}
}

static void write_environment(FILE *out)
{
	struct config_key_info k;
	/* A compact two-column list: the usual space before the first entry only. */
	for (size_t i = 0; config_describe_key(i, &k); i++) {
		put_tagged(out, ".TP 32", k.env);
		put_text(out, k.name);
		fputs(i == 0 ? "\n.PD 0\n" : "\n", out);
	}
	fputs(".PD\n", out);
}

static void write_reserved(FILE *out)
{
	const char *name, *why;
	for (size_t i = 0; (name = config_kafka_reserved(i, &why)) != NULL; i++) {
		put_tagged(out, ".TP", name);
		put_text(out, why);
		fputs(".\n", out);
	}
}

static bool fill_template(const char *template_path, const char *out_path)
{
	char line[4096], tmp[4096];
	unsigned long lineno = 0;
	int closed;
	bool ok = false;
	FILE *in = NULL, *out = NULL;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", out_path) >= sizeof(tmp)) {
		fprintf(stderr, "mkman: %s: name too long\n", out_path);
		return false;
	}
	in = fopen(template_path, "r");
	if (!in) {
		fprintf(stderr, "mkman: %s: %m\n", template_path);
		goto fail;
	}
	out = fopen(tmp, "w");
	if (!out) {
		fprintf(stderr, "mkman: %s: %m\n", tmp);
		goto fail;
	}
	while (fgets(line, sizeof(line), in)) {
		lineno++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(in)) {
			fprintf(stderr, "mkman: %s:%lu: line too long\n", template_path, lineno);
			goto fail;
		}
		if (strcmp(line, MARK_KEYS) == 0)
			write_keys(out);
		else if (strcmp(line, MARK_ENVIRONMENT) == 0)
			write_environment(out);
		else if (strcmp(line, MARK_RESERVED) == 0)
			write_reserved(out);
		else if (strncmp(line, MARK_PREFIX, strlen(MARK_PREFIX)) == 0) {
			fprintf(stderr, "mkman: %s:%lu: unknown marker %s\n", template_path, lineno, line);
			goto fail;
		} else
			fprintf(out, "%s\n", line);
	}
	if (ferror(in)) {
		fprintf(stderr, "mkman: %s: read error\n", template_path);
		goto fail;
	}
	closed = fclose(out);
	out = NULL;
	if (closed != 0) {
		fprintf(stderr, "mkman: %s: %m\n", tmp);
		goto fail;
	}
	if (rename(tmp, out_path) != 0) {
		fprintf(stderr, "mkman: %s: %m\n", out_path);
		goto fail;
	}
	ok = true;
fail:
	if (out)
		fclose(out);
	if (!ok)
		remove(tmp);
	if (in)
		fclose(in);
	return ok;
}

/* mkman --keys: the table as data, for the tests and the docs. */
static void write_key_list(FILE *out)
{
	struct config_key_info k;
	for (size_t i = 0; config_describe_key(i, &k); i++) {
		fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t", k.name, k.type, k.def, k.min, k.max,
			k.reloadable ? "yes" : "no", k.secret ? "yes" : "no", k.env);
		for (size_t j = 0; k.allowed && k.allowed[j]; j++)
			fprintf(out, "%s%s", j ? " " : "", k.allowed[j]);
		fputc('\n', out);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--keys") == 0) {
		write_key_list(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		usage(stdout);
		return 0;
	}
	if (argc != 3) {
		usage(stderr);
		return 2;
	}
	return fill_template(argv[1], argv[2]) ? 0 : 1;
}
