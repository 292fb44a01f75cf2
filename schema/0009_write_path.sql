-- The write path (issue 12): every index and foreign key is kept only for a
-- query that needs it (docs/storage.md, "Indexes and foreign keys").
--
-- The foreign keys from the results tables to sla.tickets and from
-- violation_history to violations serve no query: the store writes a
-- ticket's row in the same transaction as its milestones, violations and
-- escalations, from one core state, so they could only ever hold. Each cost
-- a lookup per written row (215,000 for 312,000 events).
ALTER TABLE sla.milestones DROP CONSTRAINT IF EXISTS milestones_ticket_id_fkey;
ALTER TABLE sla.violations DROP CONSTRAINT IF EXISTS violations_ticket_id_fkey;
ALTER TABLE sla.escalations DROP CONSTRAINT IF EXISTS escalations_ticket_id_fkey;
ALTER TABLE sla.violation_history DROP CONSTRAINT IF EXISTS violation_history_violation_id_fkey;

-- `slactl ticket` reads one ticket's events (WHERE ticket_id = $1): the
-- primary key (ticket_id, event_id) finds them, and sorting a ticket's few
-- dozen events by time costs nothing. The second index doubled the index
-- work of the largest table.
DROP INDEX IF EXISTS sla.ticket_events_time_idx;

-- No query filters violations by rule_code alone: `slactl report` and the
-- dashboards aggregate v_violations_daily over a range of days.
DROP INDEX IF EXISTS sla.violations_code_idx;


-- The escalation outbox reads unpublished rows by time through
-- escalations_unpublished_idx (0007); nothing reads all escalations by time.
DROP INDEX IF EXISTS sla.escalations_at_idx;
