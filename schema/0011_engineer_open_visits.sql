-- One engineer across tickets without reading the engineer's whole history
-- (issue 12). 0008's OVERLAPPING_VISITS joined every START to every earlier
-- START of the engineer and looked for a LEAVE between them, and SAME_DAY_GAP
-- compared every ARRIVE with every earlier LEAVE: both grew with the
-- engineer's history, so the evaluation grew faster than the input
-- (evaluate_pending: 0.9 s of server time at 300,000 events, 5.0 s at 1 M).
--
-- Each START row now carries left_at: the first LEAVE of the same engineer
-- on the same ticket after it ('infinity' while there is none). A visit o is
-- open at instant t exactly when o.at < t and o.left_at > t, which is 0008's
-- "no LEAVE in (o.at, t]", and the index below finds the visits still open
-- at t without touching the closed ones. A trigger keeps left_at right for
-- the tickets every insert touches, whichever comes first, the START or its
-- LEAVE, and however late. SAME_DAY_GAP reads the LEAVEs of the 60 minutes
-- before the ARRIVE as an index range. The verdicts are 0008's.
ALTER TABLE sla.engineer_clocks ADD COLUMN IF NOT EXISTS left_at timestamptz NOT NULL DEFAULT 'infinity';

-- left_at of the START rows of the given tickets, where it changed.
CREATE OR REPLACE FUNCTION sla.engineer_clocks_left(p_tickets text[])
RETURNS void LANGUAGE sql AS $$
	UPDATE sla.engineer_clocks s SET left_at = x.left_at
	  FROM (SELECT o.ticket_id, o.event_id,
	               coalesce((SELECT min(l.at) FROM sla.engineer_clocks l
	                          WHERE l.ticket_id = o.ticket_id AND l.engineer_id = o.engineer_id
	                            AND l.kind = 'LEAVE' AND l.at > o.at), 'infinity') AS left_at
	          FROM sla.engineer_clocks o
	         WHERE o.ticket_id = ANY (p_tickets) AND o.kind = 'START') x
	 WHERE s.ticket_id = x.ticket_id AND s.event_id = x.event_id AND s.left_at <> x.left_at
$$;

CREATE OR REPLACE FUNCTION sla.engineer_clocks_added()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sla.engineer_clocks_left(ARRAY(SELECT DISTINCT ticket_id FROM added));
	RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS engineer_clocks_added ON sla.engineer_clocks;
CREATE TRIGGER engineer_clocks_added AFTER INSERT ON sla.engineer_clocks
	REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION sla.engineer_clocks_added();

-- Rows written before this migration.
SELECT sla.engineer_clocks_left(ARRAY(SELECT DISTINCT ticket_id FROM sla.engineer_clocks WHERE kind = 'START'));

-- The visits of an engineer still open at an instant: left_at after it.
CREATE INDEX IF NOT EXISTS engineer_clocks_open_idx ON sla.engineer_clocks (engineer_id, left_at) WHERE kind = 'START';

CREATE OR REPLACE FUNCTION sla.evaluate_engineer(p_engineer text, p_policy text, p_watermark timestamptz,
                                                 p_from timestamptz)
RETURNS void LANGUAGE sql AS $$
	WITH wanted_all AS (
		(SELECT DISTINCT ON (s.ticket_id, s.event_id)
		        s.ticket_id, 'OVERLAPPING_VISITS'::text AS rule_code,
		        floor(extract(epoch FROM s.at) / 60)::integer AS occurrence, s.at AS observed_at, s.partner_id,
		        jsonb_build_object('other_ticket', o.ticket_id,
		                           'other_start', to_char(o.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')) AS details,
		        s.event_id AS cause
		   FROM sla.engineer_clocks s
		   JOIN sla.engineer_clocks o
		     ON o.engineer_id = s.engineer_id AND o.kind = 'START' AND o.ticket_id <> s.ticket_id
		    AND o.left_at > s.at AND (o.at, o.event_id) < (s.at, s.event_id)
		  WHERE s.engineer_id = p_engineer AND s.kind = 'START' AND s.at <= p_watermark AND s.at >= p_from
		  ORDER BY s.ticket_id, s.event_id, o.at DESC)
		UNION ALL
		(SELECT DISTINCT ON (a.ticket_id, a.event_id)
		        a.ticket_id, 'SAME_DAY_GAP', floor(extract(epoch FROM a.at) / 60)::integer, a.at, a.partner_id,
		        jsonb_build_object('other_ticket', l.ticket_id,
		                           'left_at', to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
		                           'gap_minutes', round(extract(epoch FROM a.at - l.at) / 60)),
		        a.event_id
		   FROM sla.engineer_clocks a
		   JOIN sla.engineer_clocks l
		     ON l.engineer_id = a.engineer_id AND l.kind = 'LEAVE' AND l.ticket_id <> a.ticket_id
		    AND l.local_day = a.local_day AND l.at <= a.at AND l.at > a.at - interval '60 minutes'
		  WHERE a.engineer_id = p_engineer AND a.kind = 'ARRIVE' AND a.at <= p_watermark AND a.at >= p_from
		  ORDER BY a.ticket_id, a.event_id, l.at DESC)
	),
	-- Two clock-ins of one ticket in one minute share an occurrence: the later one's verdict.
	wanted AS (
		SELECT DISTINCT ON (ticket_id, rule_code, occurrence) *
		  FROM wanted_all
		 ORDER BY ticket_id, rule_code, occurrence, observed_at DESC, cause DESC
	),
	upserted AS (
		INSERT INTO sla.violations AS v (ticket_id, rule_code, occurrence, status, observed_at, detected_at,
		                                 engineer_id, partner_id, details, policy_version)
		SELECT w.ticket_id, w.rule_code, w.occurrence, 'CONFIRMED', w.observed_at, now(), p_engineer,
		       w.partner_id, w.details, p_policy
		  FROM wanted w
		ON CONFLICT (ticket_id, rule_code, occurrence) DO UPDATE
		   SET status = 'CONFIRMED', details = excluded.details, written_at = now()
		 WHERE v.status <> 'CONFIRMED' OR v.details IS DISTINCT FROM excluded.details
		RETURNING v.violation_id, v.ticket_id, v.rule_code, v.occurrence
	),
	confirmed AS (
		INSERT INTO sla.violation_history (violation_id, status, changed_at, cause_event_id)
		SELECT u.violation_id, 'CONFIRMED', w.observed_at, w.cause
		  FROM upserted u JOIN wanted w USING (ticket_id, rule_code, occurrence)
		ON CONFLICT DO NOTHING
	),
	-- A late LEAVE can clear an overlap: what is no longer wanted is retracted.
	retracted AS (
		UPDATE sla.violations v SET status = 'RETRACTED', written_at = now()
		 WHERE v.engineer_id = p_engineer AND v.rule_code IN ('OVERLAPPING_VISITS', 'SAME_DAY_GAP')
		   AND v.status <> 'RETRACTED' AND v.observed_at <= p_watermark AND v.observed_at >= p_from
		   AND NOT EXISTS (SELECT 1 FROM wanted x WHERE x.ticket_id = v.ticket_id
		                     AND x.rule_code = v.rule_code AND x.occurrence = v.occurrence)
		RETURNING v.violation_id, v.observed_at
	)
	INSERT INTO sla.violation_history (violation_id, status, changed_at, cause_event_id)
	SELECT r.violation_id, 'RETRACTED', r.observed_at, NULL FROM retracted r
	ON CONFLICT DO NOTHING;
$$;
GRANT EXECUTE ON FUNCTION sla.engineer_clocks_left(text[]) TO sla_writer;
GRANT EXECUTE ON FUNCTION sla.engineer_clocks_added() TO sla_writer;
GRANT EXECUTE ON FUNCTION sla.evaluate_engineer(text, text, timestamptz, timestamptz) TO sla_writer;
