-- 0004_scoring.sql - partner assessment (../shared/spec/scoring.md): the
-- partners' core state, retractable qualification events, and the views a
-- service manager and the Grafana dashboard read (docs/scoring.md).
--
-- Idempotent; run by `slad migrate` inside its own transaction as the
-- schema owner (no BEGIN/COMMIT here).

-- The scoring core's serialized state per partner (partner_encode), reloaded
-- by the instance assigned the fsm.assessments partition.
CREATE TABLE IF NOT EXISTS sla.partner_state (
	partner_id text PRIMARY KEY,
	partition  integer NOT NULL,
	state      bytea NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS partner_state_partition_idx ON sla.partner_state (partition);

-- A qualification event withdrawn by a late event (a certificate replaced,
-- a key person replaced, before the due time): the row stays, marked.
ALTER TABLE sla.partner_events ADD COLUMN IF NOT EXISTS retracted_at timestamptz;
CREATE INDEX IF NOT EXISTS partner_events_at_idx ON sla.partner_events (at);

-- Views. Months and days are local to Asia/Shanghai, as in 0001.

-- The current score of every partner and quarter, with what a reader wants
-- beside it: the quarter's first day (for time axes), the 70-point pass line,
-- the 90-point quarterly performance target, satisfaction as a percentage of
-- its 25 points (target 95 %), the items at 0 (each forces DOWNGRADE) and
-- how often the quarter was computed.
CREATE OR REPLACE VIEW sla.v_partner_scores AS
SELECT s.partner_id,
       s.quarter,
       make_date(substr(s.quarter, 1, 4)::int, (substr(s.quarter, 6, 1)::int - 1) * 3 + 1, 1) AS quarter_start,
       s.major_projects,
       s.satisfaction,
       s.rep_office,
       s.ecr,
       s.training_online,
       s.training_offline,
       s.key_events,
       s.total,
       s.verdict,
       70::numeric AS pass_line,
       90::numeric AS performance_target,
       round(s.satisfaction / 25 * 100, 1) AS satisfaction_pct,
       concat_ws(',',
                 CASE WHEN s.major_projects = 0 THEN 'major_projects' END,
                 CASE WHEN s.satisfaction = 0 THEN 'satisfaction' END,
                 CASE WHEN s.rep_office = 0 THEN 'rep_office' END,
                 CASE WHEN s.ecr = 0 THEN 'ecr' END,
                 CASE WHEN s.training_online = 0 THEN 'training_online' END,
                 CASE WHEN s.training_offline = 0 THEN 'training_offline' END) AS zero_items,
       (SELECT count(*) FROM sla.partner_score_history h
         WHERE h.partner_id = s.partner_id AND h.quarter = s.quarter) AS computations,
       s.computed_at
FROM sla.partner_scores s;

-- Qualification events with their standing and whether they downgrade.
CREATE OR REPLACE VIEW sla.v_partner_events AS
SELECT e.partner_id,
       e.code,
       e.subject_id,
       e.at,
       (e.at AT TIME ZONE 'Asia/Shanghai')::date AS day,
       e.code <> 'CERT_EXPIRY_REMINDER' AS downgrade,
       CASE WHEN e.retracted_at IS NULL THEN 'ACTIVE' ELSE 'RETRACTED' END AS status,
       e.retracted_at,
       e.details
FROM sla.partner_events e;

-- Violations that stand, per local month, partner and rule (the monthly
-- "violation counts by code" of scoring.md).
CREATE OR REPLACE VIEW sla.v_violations_monthly AS
SELECT date_trunc('month', d.day)::date AS month,
       d.partner_id,
       d.rule_code,
       sum(d.count)::bigint AS count,
       sum(d.confirmed)::bigint AS confirmed,
       sum(d.provisional)::bigint AS provisional
FROM sla.v_violations_daily d
GROUP BY 1, 2, 3;

-- The monthly KPIs of scoring.md per partner: decided milestones, the met
-- rate, the timeliness of dispatch, FSIP response, spare-part confirmation
-- and return, reservation and closure (met / decided), the lateness rate of
-- ARRIVAL (breached / decided) and the violations that stand. Rates are
-- fractions (0..1, 4 places); null where nothing was decided.
CREATE OR REPLACE VIEW sla.v_kpi_partner_monthly AS
WITH m AS (
	SELECT k.partner_id,
	       k.month,
	       sum(k.total) AS total,
	       sum(k.met) AS met,
	       sum(k.breached) AS breached,
	       round(sum(k.met)::numeric / nullif(sum(k.total), 0), 4) AS met_rate,
	       round(sum(k.met) FILTER (WHERE k.milestone = 'DISPATCH')::numeric
	             / nullif(sum(k.total) FILTER (WHERE k.milestone = 'DISPATCH'), 0), 4) AS dispatch_rate,
	       round(sum(k.met) FILTER (WHERE k.milestone = 'RESPONSE')::numeric
	             / nullif(sum(k.total) FILTER (WHERE k.milestone = 'RESPONSE'), 0), 4) AS response_rate,
	       round(sum(k.met) FILTER (WHERE k.milestone = 'SPARE_CONFIRM')::numeric
	             / nullif(sum(k.total) FILTER (WHERE k.milestone = 'SPARE_CONFIRM'), 0), 4) AS spare_confirm_rate,
	       round(sum(k.met) FILTER (WHERE k.milestone = 'SPARE_RETURN')::numeric
	             / nullif(sum(k.total) FILTER (WHERE k.milestone = 'SPARE_RETURN'), 0), 4) AS spare_return_rate,
	       round(sum(k.met) FILTER (WHERE k.milestone = 'RESERVATION')::numeric
	             / nullif(sum(k.total) FILTER (WHERE k.milestone = 'RESERVATION'), 0), 4) AS reservation_rate,
	       round(sum(k.breached) FILTER (WHERE k.milestone = 'ARRIVAL')::numeric
	             / nullif(sum(k.total) FILTER (WHERE k.milestone = 'ARRIVAL'), 0), 4) AS arrival_late_rate,
	       round(sum(k.met) FILTER (WHERE k.milestone = 'CLOSURE')::numeric
	             / nullif(sum(k.total) FILTER (WHERE k.milestone = 'CLOSURE'), 0), 4) AS closure_rate
	FROM sla.v_kpi_monthly k
	GROUP BY 1, 2
), v AS (
	SELECT partner_id, month, sum(count)::bigint AS violations, sum(confirmed)::bigint AS confirmed_violations
	FROM sla.v_violations_monthly
	GROUP BY 1, 2
)
SELECT coalesce(m.partner_id, v.partner_id) AS partner_id,
       coalesce(m.month, v.month) AS month,
       coalesce(m.total, 0)::bigint AS total,
       coalesce(m.met, 0)::bigint AS met,
       coalesce(m.breached, 0)::bigint AS breached,
       m.met_rate,
       m.dispatch_rate,
       m.response_rate,
       m.spare_confirm_rate,
       m.spare_return_rate,
       m.reservation_rate,
       m.arrival_late_rate,
       m.closure_rate,
       coalesce(v.violations, 0) AS violations,
       coalesce(v.confirmed_violations, 0) AS confirmed_violations
FROM m
FULL JOIN v ON coalesce(m.partner_id, '') = coalesce(v.partner_id, '') AND m.month = v.month;

-- The targets of the seeds, shown next to the figures. Acceptance rejection
-- has no event source yet (no PO acceptance events): its actual is unknown.
CREATE OR REPLACE VIEW sla.v_kpi_targets AS
SELECT t.target, t.description, t.comparison, t.value, t.unit, t.source
FROM (VALUES
	('QUARTERLY_PERFORMANCE', 'quarterly performance: the partner score total', '>=', 90::numeric, 'points',
	 'sla.v_partner_scores.total'),
	('CUSTOMER_SATISFACTION', 'customer satisfaction: the satisfaction item of its 25 points', '>=', 95::numeric,
	 '%', 'sla.v_partner_scores.satisfaction_pct'),
	('ACCEPTANCE_REJECTION', 'monthly PO acceptance rejection rate', '<=', 3::numeric, '%', NULL),
	('PASS_LINE', 'quarterly assessment pass line (and no item at 0)', '>=', 70::numeric, 'points',
	 'sla.v_partner_scores.total')
) AS t (target, description, comparison, value, unit, source);

-- One row per partner, what a service manager looks at first: open breaches
-- now, the last 30 days' decided milestones, met rate and violations, the
-- latest quarterly score and verdict, and the qualification events of the
-- last 90 days (downgrades and reminders that stand).
CREATE OR REPLACE VIEW sla.v_partner_glance AS
WITH partners AS (
	SELECT partner_id FROM sla.tickets WHERE partner_id IS NOT NULL
	UNION
	SELECT partner_id FROM sla.partner_scores
	UNION
	SELECT partner_id FROM sla.partner_events
), ob AS (
	SELECT partner_id, count(*) AS open_breaches, max(minutes_overdue) AS max_minutes_overdue
	FROM sla.v_open_breaches
	GROUP BY 1
), k AS (
	SELECT partner_id,
	       count(*) AS decided,
	       count(*) FILTER (WHERE status = 'MET') AS met
	FROM sla.milestones
	WHERE status IN ('MET', 'BREACHED') AND due_at >= now() - interval '30 days' AND due_at < now()
	GROUP BY 1
), v AS (
	SELECT partner_id, count(*) AS violations
	FROM sla.violations
	WHERE status <> 'RETRACTED'
	  AND CASE WHEN milestone IS NOT NULL THEN coalesce(due_at, observed_at, detected_at)
	           ELSE coalesce(observed_at, due_at, detected_at) END >= now() - interval '30 days'
	GROUP BY 1
), s AS (
	SELECT DISTINCT ON (partner_id) partner_id, quarter, total, verdict
	FROM sla.partner_scores
	ORDER BY partner_id, quarter DESC
), e AS (
	SELECT partner_id,
	       count(*) FILTER (WHERE code <> 'CERT_EXPIRY_REMINDER') AS downgrade_events_90d,
	       count(*) FILTER (WHERE code = 'CERT_EXPIRY_REMINDER') AS reminders_90d
	FROM sla.partner_events
	WHERE retracted_at IS NULL AND at >= now() - interval '90 days' AND at <= now()
	GROUP BY 1
)
SELECT p.partner_id,
       coalesce(ob.open_breaches, 0) AS open_breaches,
       ob.max_minutes_overdue,
       coalesce(k.decided, 0) AS decided_30d,
       round(k.met::numeric / nullif(k.decided, 0), 4) AS met_rate_30d,
       coalesce(v.violations, 0) AS violations_30d,
       s.quarter AS last_quarter,
       s.total AS last_total,
       s.verdict AS last_verdict,
       coalesce(e.downgrade_events_90d, 0) AS downgrade_events_90d,
       coalesce(e.reminders_90d, 0) AS reminders_90d
FROM partners p
LEFT JOIN ob ON ob.partner_id = p.partner_id
LEFT JOIN k ON k.partner_id = p.partner_id
LEFT JOIN v ON v.partner_id = p.partner_id
LEFT JOIN s ON s.partner_id = p.partner_id
LEFT JOIN e ON e.partner_id = p.partner_id;

-- Grants: the views and tables above follow 0001's default privileges when
-- the owner runs this file; granted explicitly too, in case a DBA created
-- the schema under another role. sla_reader reads, and nothing else.
GRANT SELECT, INSERT, UPDATE ON sla.partner_state TO sla_writer;
GRANT SELECT ON ALL TABLES IN SCHEMA sla TO sla_reader;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA sla FROM sla_reader;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA sla FROM PUBLIC;
REVOKE CREATE ON SCHEMA sla FROM PUBLIC, sla_reader;
