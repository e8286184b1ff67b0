-- A finding that no longer holds after the data it read was restated (a closing export replacing a month-to-date
-- one) stays on its case, marked withdrawn with when and why; the case's history and the log say so too.
ALTER TABLE case_findings ADD COLUMN withdrawn_at TEXT;
ALTER TABLE case_findings ADD COLUMN withdrawn_reason TEXT;
