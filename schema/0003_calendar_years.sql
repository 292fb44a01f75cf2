-- 0003_calendar_years.sql - the years a calendar covers (docs/calendars.md).
--
-- A date outside a calendar's loaded years is an error (calendar.md): slad
-- treats it as Monday-Friday and reports the year once. By default the
-- loaded years are the span of the calendar's exception years; a calendar
-- that has no exceptions in some year it must cover (a plain Monday-Friday
-- site calendar, say) names its years here. When set, every exception must
-- fall inside them.
--
-- Idempotent, like every migration.

ALTER TABLE sla.calendars ADD COLUMN IF NOT EXISTS first_year int;
ALTER TABLE sla.calendars ADD COLUMN IF NOT EXISTS last_year int;

DO $$
BEGIN
	ALTER TABLE sla.calendars ADD CONSTRAINT calendars_years_check CHECK (
		(first_year IS NULL AND last_year IS NULL)
		OR (first_year BETWEEN 1 AND 9999 AND last_year BETWEEN first_year AND 9999
		    AND last_year - first_year < 200));
EXCEPTION WHEN duplicate_object OR duplicate_table THEN
	NULL;
END
$$;

COMMENT ON COLUMN sla.calendars.first_year IS
	'first loaded year (NULL with last_year: the span of the exceptions'' years)';
COMMENT ON COLUMN sla.calendars.last_year IS
	'last loaded year (NULL with first_year: the span of the exceptions'' years)';
