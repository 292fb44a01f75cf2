/* mkseeds.c - writes fuzz inputs from JSON Lines and raw messages (a helper
 * of fuzz/run.sh and of whoever adds a regression; built with SLAD_FUZZ).
 *
 *   fuzz_mkseeds events OUT FILE...   one fuzz_events input: every line of
 *                                     each FILE.jsonl, then each FILE.bin as
 *                                     one raw message, length-prefixed
 *   fuzz_mkseeds state OUTDIR FILE.jsonl
 *                                     applies the events and writes the saved
 *                                     state of every ticket and partner they
 *                                     touch as fuzz_state inputs
 *   fuzz_mkseeds corrupt OUTDIR FILE.jsonl
 *                                     the first ticket's state with one value
 *                                     out of range, one file per value */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "slad/core.h"
#include "slad/jsonl.h"
#include "slad/scoring.h"

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), k = strlen(tail);
	return n >= k && strcmp(s + n - k, tail) == 0;
}

static bool put_message(FILE *out, const uint8_t *buf, size_t len)
{
	if (len > 0xffff)
		return false;
	uint8_t pre[2] = {(uint8_t)(len & 0xff), (uint8_t)(len >> 8)};
	return fwrite(pre, 1, 2, out) == 2 && fwrite(buf, 1, len, out) == len;
}

/* Calls fn for every event line of path; false on a line that does not parse. */
static bool each_event(const char *path, bool (*fn)(const struct jsonl_event *ev, void *arg), void *arg)
{
	FILE *in = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	long lineno = 0;
	bool ok = in != NULL;
	while (ok && getline(&line, &cap, in) != -1) {
		struct jsonl_event ev;
		char err[512];
		lineno++;
		if (line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (!jsonl_parse_event(line, &ev, err, sizeof(err))) {
			fprintf(stderr, "fuzz_mkseeds: %s:%ld: %s\n", path, lineno, err);
			ok = false;
			break;
		}
		ok = fn(&ev, arg);
		jsonl_event_clear(&ev);
	}
	free(line);
	if (in)
		fclose(in);
	else
		fprintf(stderr, "fuzz_mkseeds: cannot open %s\n", path);
	return ok;
}

static bool write_event(const struct jsonl_event *ev, void *arg)
{
	return put_message(arg, ev->payload, ev->len);
}

static int cmd_events(const char *outpath, int n, char **files)
{
	FILE *out = fopen(outpath, "wb");
	bool ok = out != NULL;
	for (int i = 0; ok && i < n; i++) {
		if (ends_with(files[i], ".jsonl")) {
			ok = each_event(files[i], write_event, out);
		} else {
			FILE *in = fopen(files[i], "rb");
			uint8_t buf[70000];
			size_t len = in ? fread(buf, 1, sizeof(buf), in) : 0;
			ok = in != NULL && put_message(out, buf, len);
			if (in)
				fclose(in);
		}
	}
	if (out && fclose(out) != 0)
		ok = false;
	return ok ? 0 : 1;
}

struct state_run {
	struct sla_core *core;
	struct partners *ps;
	struct sla_out out;
	struct partners_out pout;
	char (*tickets)[SLA_ID_MAX + 1];
	char (*partners)[SLA_ID_MAX + 1];
	size_t ntickets, npartners;
	int64_t offset;
};

static bool remember(char (**ids)[SLA_ID_MAX + 1], size_t *n, const char *id)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*ids)[i], id) == 0)
			return true;
	char(*grown)[SLA_ID_MAX + 1] = realloc(*ids, (*n + 1) * sizeof(**ids));
	if (!grown)
		return false;
	*ids = grown;
	snprintf((*ids)[(*n)++], SLA_ID_MAX + 1, "%s", id);
	return true;
}

static bool apply_event(const struct jsonl_event *ev, void *arg)
{
	struct state_run *r = arg;
	struct sla_origin o = {topic_default_name(ev->topic), 0, r->offset++, ev->payload, ev->len, 0};
	if (ev->topic == TOPIC_ASSESSMENTS) {
		Slad__V1__Event *e = NULL;
		char detail[256];
		if (event_decode(ev->payload, ev->len, &e, detail, sizeof(detail)) == SV_APPLIED)
			(void)partners_apply(r->ps, e, ev->occurred_at, &r->pout, detail, sizeof(detail));
		if (e)
			sla_event_free(e);
		partners_out_clear(&r->pout);
		return remember(&r->partners, &r->npartners, ev->key);
	}
	(void)core_apply_raw(r->core, &o, ev->occurred_at, &r->out);
	core_out_clear(&r->out);
	return remember(&r->tickets, &r->ntickets, ev->key);
}

static bool write_file(const char *dir, const char *kind, size_t i, uint8_t tag, const uint8_t *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s-%03zu", dir, kind, i);
	FILE *out = fopen(path, "wb");
	bool ok = out && fwrite(&tag, 1, 1, out) == 1 && fwrite(buf, 1, len, out) == len;
	if (out && fclose(out) != 0)
		ok = false;
	return ok;
}

static int cmd_state(const char *dir, const char *jsonl)
{
	struct state_run r = {0};
	bool ok;
	r.core = core_new(policy_defaults(), fuzz_calendars());
	r.ps = partners_new(0);
	core_out_init(&r.out);
	partners_out_init(&r.pout);
	ok = r.core && r.ps && each_event(jsonl, apply_event, &r);
	for (size_t i = 0; ok && i < r.ntickets; i++) {
		const struct sla_ticket *t = core_find(r.core, r.tickets[i]);
		uint8_t *buf = NULL;
		size_t len = 0;
		if (t && ticket_encode(t, &buf, &len))
			ok = write_file(dir, "ticket", i, 0, buf, len);
		free(buf);
	}
	for (size_t i = 0; ok && i < r.npartners; i++) {
		const struct partner *p = partners_find(r.ps, r.partners[i]);
		uint8_t *buf = NULL;
		size_t len = 0;
		if (p && partner_encode(p, &buf, &len))
			ok = write_file(dir, "partner", i, 1, buf, len);
		free(buf);
	}
	core_out_free(&r.out);
	partners_out_free(&r.pout);
	core_free(r.core);
	partners_free(r.ps);
	free(r.tickets);
	free(r.partners);
	return ok ? 0 : 1;
}

/* The saved state of the first ticket of FILE.jsonl with one value no event
 * could produce (what a corrupt row holds): fuzz_state regressions. */
static int cmd_corrupt(const char *dir, const char *jsonl)
{
	struct state_run r = {0};
	bool ok;
	r.core = core_new(policy_defaults(), fuzz_calendars());
	r.ps = partners_new(0);
	core_out_init(&r.out);
	partners_out_init(&r.pout);
	ok = r.core && r.ps && each_event(jsonl, apply_event, &r) && r.ntickets > 0;
	const struct sla_ticket *t = ok ? core_find(r.core, r.tickets[0]) : NULL;
	for (int i = 0; t && ok && i < 6; i++) {
		/* shallow, its id included (allocated with it, up to its NUL and at
		 * least sizeof), and its more copied after it: ticket_encode only reads */
		size_t size = offsetof(struct sla_ticket, ticket_id) + strlen(t->ticket_id) + 1;
		size = size > sizeof(*t) ? size : sizeof(*t);
		size_t at = (size + 15) / 16 * 16;
		struct sla_ticket *copy = malloc(at + sizeof(struct sla_ticket_more));
		if (!copy) {
			ok = false;
			break;
		}
		memcpy(copy, t, size);
		copy->more = (struct sla_ticket_more *)(void *)((char *)copy + at);
		*copy->more = *ticket_more(t);
		static const char *const names[] = {"att_next_day_max", "service_end_max", "created_min",
						    "last_assigned_max", "service_start_min", "required_arrival_max"};
		switch (i) {
		case 0: copy->more->att_next_day = INT64_MAX; break;
		case 1: copy->more->service_end_at = INT64_MAX; break;
		case 2: copy->created_at = INT64_MIN + 1; break;
		case 3: copy->last_assigned_at = INT64_MAX; break;
		case 4: copy->more->service_start_at = INT64_MIN + 1; break;
		default: copy->required_arrival_at = INT64_MAX; break;
		}
		uint8_t *buf = NULL;
		size_t len = 0;
		char name[64];
		snprintf(name, sizeof(name), "corrupt-%s", names[i]);
		ok = ticket_encode(copy, &buf, &len) && write_file(dir, name, 0, 0, buf, len);
		free(copy);
		free(buf);
	}
	core_out_free(&r.out);
	partners_out_free(&r.pout);
	core_free(r.core);
	partners_free(r.ps);
	free(r.tickets);
	free(r.partners);
	return ok && t ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "corrupt") == 0)
		return cmd_corrupt(argv[2], argv[3]);
	if (argc >= 4 && strcmp(argv[1], "events") == 0)
		return cmd_events(argv[2], argc - 3, argv + 3);
	if (argc == 4 && strcmp(argv[1], "state") == 0)
		return cmd_state(argv[2], argv[3]);
	fprintf(stderr, "usage: fuzz_mkseeds events OUT FILE.jsonl|FILE.bin...\n"
			"       fuzz_mkseeds state OUTDIR FILE.jsonl\n"
			"       fuzz_mkseeds corrupt OUTDIR FILE.jsonl\n");
	return 2;
}
