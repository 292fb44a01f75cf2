-- Escalations are published to the output topic (fsm.escalations) from this
-- table, as an outbox: published_at is set once the broker acknowledged the
-- message, and rows still NULL are published again (at least once).
ALTER TABLE sla.escalations ADD COLUMN IF NOT EXISTS published_at timestamptz;
CREATE INDEX IF NOT EXISTS escalations_unpublished_idx ON sla.escalations (at) WHERE published_at IS NULL;
