-- One engineer across tickets (rules.md section 5). Clock-ins are keyed by
-- ticket, so an engineer's ONE_OFF tickets may live on other partitions and
-- other slad instances. Each instance records the ONE_OFF implementer
-- clock-ins it applies in sla.engineer_clocks, and its partitions' processing
-- clocks in sla.partition_clocks, in its batch transaction. The
-- rules are evaluated up to the group's watermark, the slowest partition's
-- processing clock: by then every partition has delivered what happened
-- before it, so the verdict is the same however the partitions were spread
-- over instances or interleaved (sla.evaluate_pending, called by every
-- commit). Each engineer is evaluated under an advisory lock, and natural
-- keys make each violation exactly once.
CREATE TABLE IF NOT EXISTS sla.engineer_clocks (
	engineer_id text NOT NULL,
	ticket_id   text NOT NULL,
	event_id    text NOT NULL,
	partner_id  text,
	kind        text NOT NULL CHECK (kind IN ('ARRIVE', 'START', 'LEAVE')),
	at          timestamptz NOT NULL,
	local_day   date NOT NULL,  -- in the ticket's calendar
	evaluated   boolean NOT NULL DEFAULT false, -- the watermark has passed it and its engineer was evaluated
	PRIMARY KEY (ticket_id, event_id)
);
CREATE INDEX IF NOT EXISTS engineer_clocks_engineer_idx ON sla.engineer_clocks (engineer_id, at);
CREATE INDEX IF NOT EXISTS engineer_clocks_pending_idx ON sla.engineer_clocks (at) WHERE NOT evaluated;
GRANT UPDATE ON sla.engineer_clocks TO sla_writer;

-- Each partition's processing clock, written in the batch transaction that
-- moves its offset (so an instance that lost the partition cannot write it).
CREATE TABLE IF NOT EXISTS sla.partition_clocks (
	consumer_group text NOT NULL,
	topic          text NOT NULL,
	partition      integer NOT NULL,
	clock_at       timestamptz NOT NULL,
	updated_at     timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (consumer_group, topic, partition)
);
GRANT SELECT, INSERT, UPDATE ON sla.partition_clocks TO sla_writer;
GRANT SELECT ON sla.partition_clocks TO sla_reader;
GRANT SELECT, INSERT ON sla.engineer_clocks TO sla_writer;
GRANT SELECT ON sla.engineer_clocks TO sla_reader;

-- The violations of one engineer's clock-ins, written idempotently. The
-- occurrence of such a violation is the offending clock-in's minute since the
-- epoch: stable whichever instance finds it first and however late the other
-- ticket's clock-ins arrive.
CREATE OR REPLACE FUNCTION sla.evaluate_engineer(p_engineer text, p_policy text, p_watermark timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	w record;
	vid bigint;
BEGIN
	CREATE TEMP TABLE IF NOT EXISTS slad_wanted (
		ticket_id text, rule_code text, occurrence integer, observed_at timestamptz,
		partner_id text, details jsonb, cause text) ON COMMIT DROP;
	TRUNCATE slad_wanted;

	-- OVERLAPPING_VISITS: a START while a visit on another ticket is started and
	-- not left; the violation belongs to the later start (ties: the larger event id).
	INSERT INTO slad_wanted
	SELECT DISTINCT ON (s.ticket_id, s.event_id)
	       s.ticket_id, 'OVERLAPPING_VISITS', floor(extract(epoch FROM s.at) / 60)::integer, s.at, s.partner_id,
	       jsonb_build_object('other_ticket', o.ticket_id,
	                          'other_start', to_char(o.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')), s.event_id
	  FROM sla.engineer_clocks s
	  JOIN sla.engineer_clocks o
	    ON o.engineer_id = s.engineer_id AND o.kind = 'START' AND o.ticket_id <> s.ticket_id
	   AND (o.at, o.event_id) < (s.at, s.event_id)
	   AND NOT EXISTS (SELECT 1 FROM sla.engineer_clocks l
	                    WHERE l.engineer_id = o.engineer_id AND l.ticket_id = o.ticket_id AND l.kind = 'LEAVE'
	                      AND l.at > o.at AND l.at <= s.at)
	 WHERE s.engineer_id = p_engineer AND s.kind = 'START' AND s.at <= p_watermark
	 ORDER BY s.ticket_id, s.event_id, o.at DESC;

	-- SAME_DAY_GAP: an ARRIVE on the same local date as, and less than 60 min
	-- after, a LEAVE on another ticket.
	INSERT INTO slad_wanted
	SELECT DISTINCT ON (a.ticket_id, a.event_id)
	       a.ticket_id, 'SAME_DAY_GAP', floor(extract(epoch FROM a.at) / 60)::integer, a.at, a.partner_id,
	       jsonb_build_object('other_ticket', l.ticket_id,
	                          'left_at', to_char(l.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
	                          'gap_minutes', round(extract(epoch FROM a.at - l.at) / 60)), a.event_id
	  FROM sla.engineer_clocks a
	  JOIN sla.engineer_clocks l
	    ON l.engineer_id = a.engineer_id AND l.kind = 'LEAVE' AND l.ticket_id <> a.ticket_id
	   AND l.local_day = a.local_day AND l.at <= a.at AND a.at - l.at < interval '60 minutes'
	 WHERE a.engineer_id = p_engineer AND a.kind = 'ARRIVE' AND a.at <= p_watermark
	 ORDER BY a.ticket_id, a.event_id, l.at DESC;

	FOR w IN SELECT * FROM slad_wanted ORDER BY ticket_id, rule_code, occurrence LOOP
		INSERT INTO sla.violations AS v (ticket_id, rule_code, occurrence, status, observed_at, detected_at,
		                                 engineer_id, partner_id, details, policy_version)
		VALUES (w.ticket_id, w.rule_code, w.occurrence, 'CONFIRMED', w.observed_at, now(), p_engineer,
		        w.partner_id, w.details, p_policy)
		ON CONFLICT (ticket_id, rule_code, occurrence) DO UPDATE
		   SET status = 'CONFIRMED', details = excluded.details, written_at = now()
		 WHERE v.status <> 'CONFIRMED' OR v.details IS DISTINCT FROM excluded.details
		RETURNING violation_id INTO vid;
		IF vid IS NOT NULL THEN
			INSERT INTO sla.violation_history (violation_id, status, changed_at, cause_event_id)
			VALUES (vid, 'CONFIRMED', w.observed_at, w.cause)
			ON CONFLICT DO NOTHING;
		END IF;
	END LOOP;

	-- A late LEAVE can clear an overlap: what is no longer wanted is retracted.
	FOR w IN SELECT v.violation_id, v.observed_at FROM sla.violations v
	          WHERE v.engineer_id = p_engineer AND v.rule_code IN ('OVERLAPPING_VISITS', 'SAME_DAY_GAP')
	            AND v.status <> 'RETRACTED' AND v.observed_at <= p_watermark
	            AND NOT EXISTS (SELECT 1 FROM slad_wanted x WHERE x.ticket_id = v.ticket_id
	                              AND x.rule_code = v.rule_code AND x.occurrence = v.occurrence) LOOP
		UPDATE sla.violations SET status = 'RETRACTED', written_at = now() WHERE violation_id = w.violation_id;
		INSERT INTO sla.violation_history (violation_id, status, changed_at, cause_event_id)
		VALUES (w.violation_id, 'RETRACTED', w.observed_at, NULL)
		ON CONFLICT DO NOTHING;
	END LOOP;
END;
$$;
GRANT EXECUTE ON FUNCTION sla.evaluate_engineer(text, text, timestamptz) TO sla_writer;

-- The group's watermark: the slowest processing clock over every partition
-- of the given topics, once each topic has a clock for partitions 0..n-1 with
-- the same n (the range assignor needs equal partition counts). Group '' (an
-- offline replay, in event-time order) has no watermark: everything counts.
CREATE OR REPLACE FUNCTION sla.group_watermark(p_group text, p_topics text[])
RETURNS timestamptz LANGUAGE sql STABLE AS $$
	SELECT CASE
	  WHEN p_group = '' THEN 'infinity'::timestamptz
	  WHEN (SELECT count(DISTINCT topic) FROM sla.partition_clocks
	         WHERE consumer_group = p_group AND topic = ANY (p_topics)) < cardinality(p_topics)
	    OR EXISTS (SELECT 1 FROM (SELECT topic, count(*) AS n, max(partition) AS m
	                                FROM sla.partition_clocks
	                               WHERE consumer_group = p_group AND topic = ANY (p_topics)
	                               GROUP BY topic) x
	                WHERE x.n <> x.m + 1
	                   OR x.n <> (SELECT max(partition) + 1 FROM sla.partition_clocks
	                               WHERE consumer_group = p_group AND topic = ANY (p_topics)))
	    THEN '-infinity'::timestamptz
	  ELSE (SELECT min(clock_at) FROM sla.partition_clocks WHERE consumer_group = p_group AND topic = ANY (p_topics))
	END
$$;

-- Evaluates every engineer with clock-ins at or before the watermark not yet
-- evaluated; engineers are locked in one order, so instances never deadlock.
CREATE OR REPLACE FUNCTION sla.evaluate_pending(p_group text, p_policy text, p_topics text[])
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
	w timestamptz := sla.group_watermark(p_group, p_topics);
	e text;
	n integer := 0;
BEGIN
	FOR e IN SELECT DISTINCT engineer_id FROM sla.engineer_clocks WHERE NOT evaluated AND at <= w ORDER BY 1 LOOP
		PERFORM pg_advisory_xact_lock(hashtext('slad.engineer:' || e));
		PERFORM sla.evaluate_engineer(e, p_policy, w);
		UPDATE sla.engineer_clocks SET evaluated = true WHERE engineer_id = e AND at <= w AND NOT evaluated;
		n := n + 1;
	END LOOP;
	RETURN n;
END;
$$;
GRANT EXECUTE ON FUNCTION sla.group_watermark(text, text[]) TO sla_writer;
GRANT EXECUTE ON FUNCTION sla.evaluate_pending(text, text, text[]) TO sla_writer;
