/* reload.c - SIGHUP: the configuration, the policies and the calendars parsed
 * anew and swapped in together, or not at all; the policies' loading. */
#include "daemon_internal.h"

struct sla_policy *daemon_policy_load(const struct config *cfg, bool *from_file, char *err, size_t errlen)
{
	struct sla_policy *pol;
	/* Without a policies file the built-in defaults apply (interfaces.md). */
	bool file = access(cfg->policies, F_OK) == 0 || errno != ENOENT;
	if (from_file)
		*from_file = file;
	pol = file ? policy_load_file(cfg->policies, err, errlen) : policy_copy_defaults();
	if (!pol) {
		if (!file)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pol->lateness_allowed = cfg->lateness_allowed;
	pol->archive_after = cfg->archive_after;
	policy_finalize(pol);
	return pol;
}

static void restart_needed(const char *key, void *arg)
{
	(void)arg;
	log_warn("reload: %s changed; it takes effect after a restart", key);
}

/* One line per problem in err: joined for the log. */
static void one_line(char *msg)
{
	for (char *p = msg; *p; p++)
		if (*p == '\n')
			*p = ';';
}

/* Parses the configuration, the policies and the calendars anew; only when
 * all three are good does it swap them in, at once. Open milestones keep the
 * deadlines they were armed with; new ones use the new policy. */
bool reload_config(struct daemon *d)
{
	char err[2048];
	struct config fresh;
	struct sla_policy *pol = NULL;
	struct calendar_set cals = {0};
	bool ok = false;

	bool loaded = config_load(&fresh, d->config_path, err, sizeof(err));
	if (!loaded) {
		config_redact(&fresh, err);
		one_line(redacted(d, err));
		log_error("reload failed, the old configuration, policies and calendars stay: %s", err);
		goto done;
	}
	pol = daemon_policy_load(&fresh, NULL, err, sizeof(err));
	if (!pol) {
		log_error("reload failed, the old configuration, policies and calendars stay: policies: %s", err);
		goto done;
	}
	if (d->degraded || !store_load_calendars(daemon_store(d), &cals, err, sizeof(err))) {
		log_error("reload failed, the old configuration, policies and calendars stay: calendars: %s",
			  d->degraded ? "PostgreSQL is unreachable" : redacted(d, err));
		goto done;
	}
	/* What the old policy produced is committed under its version. */
	(void)batch_flush_wait(d);
	config_reload(d->cfg, &fresh, restart_needed, NULL);
	if (!log_level_parse(d->cfg->log_level, &log_min_level))
		log_warn("reload: log.level %s not understood", d->cfg->log_level);
	enum log_format fmt;
	if (log_format_parse(d->cfg->log_format, &fmt))
		log_set_format(fmt); /* from the next line on: "reloaded: ..." already comes out in the new format */
	else
		log_warn("reload: log.format %s not understood", d->cfg->log_format);
	policy_free(d->pol); /* the cores move to the new one below; milestones keep their due times */
	d->pol = pol;
	pol = NULL;
	calendar_set_free(&d->cals);
	d->cals = cals;
	memset(&cals, 0, sizeof(cals));
	for (int p = 0; p < d->nparts; p++) {
		if (d->parts[p].eng.tickets)
			core_set_config(d->parts[p].eng.tickets, d->pol, &d->cals);
		if (d->parts[p].pf_core)
			core_set_config(d->parts[p].pf_core, d->pol, &d->cals);
	}
	log_info("reloaded: policy %s, %zu calendars, log.level %s", d->pol->version, d->cals.ncals, d->cfg->log_level);
	ok = true;
done:
	policy_free(pol);
	calendar_set_free(&cals);
	config_free(&fresh);
	return ok;
}
