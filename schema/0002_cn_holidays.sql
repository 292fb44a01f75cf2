-- 0002_cn_holidays.sql - the PRC public holidays and adjusted working days of
-- 2024-2026 for calendar CN (State Council notices 国办发明电〔2023〕7号,
-- 〔2024〕12号, 〔2025〕7号). Every day of a holiday block is a HOLIDAY, its
-- weekend days included (harmless: they are not working days anyway).
-- Idempotent: existing rows (possibly edited by an operator) are kept.

INSERT INTO sla.calendar_exceptions (calendar_id, day, kind, note)
SELECT 'CN', d::date, 'HOLIDAY', h.note
FROM (VALUES
	('2024-01-01', '2024-01-01', 'New Year'),
	('2024-02-10', '2024-02-17', 'Spring Festival'),
	('2024-04-04', '2024-04-06', 'Qingming'),
	('2024-05-01', '2024-05-05', 'Labour Day'),
	('2024-06-10', '2024-06-10', 'Dragon Boat'),
	('2024-09-15', '2024-09-17', 'Mid-Autumn'),
	('2024-10-01', '2024-10-07', 'National Day'),
	('2025-01-01', '2025-01-01', 'New Year'),
	('2025-01-28', '2025-02-04', 'Spring Festival'),
	('2025-04-04', '2025-04-06', 'Qingming'),
	('2025-05-01', '2025-05-05', 'Labour Day'),
	('2025-05-31', '2025-06-02', 'Dragon Boat'),
	('2025-10-01', '2025-10-08', 'National Day and Mid-Autumn'),
	('2026-01-01', '2026-01-03', 'New Year'),
	('2026-02-15', '2026-02-23', 'Spring Festival'),
	('2026-04-04', '2026-04-06', 'Qingming'),
	('2026-05-01', '2026-05-05', 'Labour Day'),
	('2026-06-19', '2026-06-21', 'Dragon Boat'),
	('2026-09-25', '2026-09-27', 'Mid-Autumn'),
	('2026-10-01', '2026-10-07', 'National Day')
) AS h (first_day, last_day, note),
LATERAL generate_series(h.first_day::date, h.last_day::date, interval '1 day') AS d
ON CONFLICT (calendar_id, day) DO NOTHING;

INSERT INTO sla.calendar_exceptions (calendar_id, day, kind, note)
SELECT 'CN', w.day::date, 'WORKDAY', 'adjusted working day'
FROM (VALUES
	('2024-02-04'), ('2024-02-18'), ('2024-04-07'), ('2024-04-28'), ('2024-05-11'),
	('2024-09-14'), ('2024-09-29'), ('2024-10-12'),
	('2025-01-26'), ('2025-02-08'), ('2025-04-27'), ('2025-09-28'), ('2025-10-11'),
	('2026-01-04'), ('2026-02-14'), ('2026-02-28'), ('2026-05-09'), ('2026-09-20'),
	('2026-10-10')
) AS w (day)
ON CONFLICT (calendar_id, day) DO NOTHING;
