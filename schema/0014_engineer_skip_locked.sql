-- Evaluating an engineer no longer waits for another transaction's clock-ins.
--
-- A transaction that inserts clock-ins also updates, through the trigger of
-- 0011, left_at of the START rows of its own tickets, and holds those rows
-- until it commits. 0008's sla.evaluate_pending, under an engineer's advisory
-- lock, marked every pending clock-in of the engineer evaluated, and so waited
-- for such a row of another transaction; if that transaction then asked for
-- the same engineer's lock, PostgreSQL found a deadlock and rolled one of them
-- back. Two slad instances could meet it; one slad with batch.writers above 1
-- (a transaction per share of its partitions, committed side by side) met it
-- at once under load.
--
-- Now the clock-ins another transaction holds are left pending (FOR UPDATE
-- SKIP LOCKED): they are being changed, so their verdicts are not final
-- anyway, and the next evaluation of the engineer starts from the earliest
-- pending clock-in, as it does for a late one. Nothing here waits for a row,
-- so the advisory locks, taken in one order, are the only wait left.
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
		UPDATE sla.engineer_clocks c SET evaluated = true
		  FROM (SELECT ticket_id, event_id FROM sla.engineer_clocks
		         WHERE engineer_id = e AND at <= w AND at >= f AND NOT evaluated
		           FOR UPDATE SKIP LOCKED) x
		 WHERE c.ticket_id = x.ticket_id AND c.event_id = x.event_id;
		n := n + 1;
	END LOOP;
	RETURN n;
END;
$$;
