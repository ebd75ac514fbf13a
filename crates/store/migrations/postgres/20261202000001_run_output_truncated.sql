-- A run's output has a ceiling (serve --max-run-output): whether output was dropped at it.
ALTER TABLE runs ADD COLUMN output_truncated BOOLEAN NOT NULL DEFAULT FALSE;
