-- One engineer across tickets, incrementally (issue 12). 0006 re-evaluated
-- an engineer's whole history whenever one of the engineer's clock-ins was
-- pending, in a temporary table created by every transaction: the cost grew
-- with the history (6.7 s of a 33 s replay of 312,000 events).
--
-- A verdict depends only on clock-ins at or before its own: OVERLAPPING_VISITS
-- of a START s reads earlier STARTs and the LEAVEs between them and s;
-- SAME_DAY_GAP of an ARRIVE a reads the LEAVEs before a. So the clock-ins
-- pending for an engineer, the earliest at p_from, can change only the
-- verdicts of clock-ins in [p_from, watermark]: those are re-derived, and
-- only violations observed in that range may be retracted. One statement,
-- no temporary table. Results are those of 0006's function (which stays, for
-- p_from = -infinity).
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
		    AND (o.at, o.event_id) < (s.at, s.event_id)
		    AND NOT EXISTS (SELECT 1 FROM sla.engineer_clocks l
		                     WHERE l.engineer_id = o.engineer_id AND l.ticket_id = o.ticket_id AND l.kind = 'LEAVE'
		                       AND l.at > o.at AND l.at <= s.at)
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
		    AND l.local_day = a.local_day AND l.at <= a.at AND a.at - l.at < interval '60 minutes'
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
GRANT EXECUTE ON FUNCTION sla.evaluate_engineer(text, text, timestamptz, timestamptz) TO sla_writer;

-- The retraction above reads an engineer's violations of these two rules.
CREATE INDEX IF NOT EXISTS violations_engineer_rules_idx ON sla.violations (engineer_id, observed_at)
	WHERE rule_code IN ('OVERLAPPING_VISITS', 'SAME_DAY_GAP');

-- Every engineer with clock-ins at or before the watermark not yet evaluated,
-- from the earliest of them; engineers are locked in one order, so instances
-- never deadlock.
CREATE OR REPLACE FUNCTION sla.evaluate_pending(p_group text, p_policy text, p_topics text[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	w timestamptz := sla.group_watermark(p_group, p_topics);
	e text;
	f timestamptz;
	n integer := 0;
BEGIN
	FOR e IN SELECT DISTINCT engineer_id FROM sla.engineer_clocks WHERE NOT evaluated AND at <= w ORDER BY 1 LOOP
		PERFORM pg_advisory_xact_lock(hashtext('slad.engineer:' || e));
		-- Read under the lock: what another instance committed meanwhile counts too.
		SELECT min(at) INTO f FROM sla.engineer_clocks WHERE engineer_id = e AND NOT evaluated AND at <= w;
		CONTINUE WHEN f IS NULL;
		PERFORM sla.evaluate_engineer(e, p_policy, w, f);
		UPDATE sla.engineer_clocks SET evaluated = true
		 WHERE engineer_id = e AND at <= w AND at >= f AND NOT evaluated;
		n := n + 1;
	END LOOP;
	RETURN n;
END;
$$;
