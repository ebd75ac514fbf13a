-- Ledgers: what a config's runs delivered, one row per entry name holding its newest record,
-- so "was this file copied before?" is an index probe however many runs came before, and
-- survives retention pruning those runs. A ledger row says a job has recorded in it at all
-- (even nothing): a delivery job that ran counts when deciding what is done.
CREATE TABLE ledgers (
    config_id   BIGINT NOT NULL REFERENCES config_heads (config_id),
    ledger      TEXT NOT NULL,
    opened_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (config_id, ledger)
);

CREATE TABLE ledger_entries (
    config_id    BIGINT NOT NULL,
    ledger       TEXT NOT NULL,
    name         TEXT NOT NULL,
    record       JSONB NOT NULL,
    run_id       TEXT NOT NULL,
    recorded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (config_id, ledger, name),
    FOREIGN KEY (config_id, ledger) REFERENCES ledgers (config_id, ledger)
);

-- Earlier runs recorded deliveries only in their state (`copied`, `deposited`): the ledgers
-- start from them, the newest run's record of each name winning.
INSERT INTO ledgers (config_id, ledger, opened_at)
SELECT k.config_id, k.key, min(r.created_at)
FROM run_state_keys k JOIN runs r ON r.seq = k.run_seq
WHERE k.key IN ('copied', 'deposited')
GROUP BY k.config_id, k.key;

INSERT INTO ledger_entries (config_id, ledger, name, record, run_id, recorded_at)
SELECT DISTINCT ON (k.config_id, k.key, e.key)
       k.config_id, k.key, e.key, e.value, r.run_id, r.updated_at
FROM run_state_keys k
JOIN runs r ON r.seq = k.run_seq
CROSS JOIN LATERAL jsonb_each(
    CASE WHEN jsonb_typeof(r.state -> k.key) = 'object' THEN r.state -> k.key ELSE '{}' END
) e
WHERE k.key IN ('copied', 'deposited') AND jsonb_typeof(e.value) = 'object'
ORDER BY k.config_id, k.key, e.key, r.seq DESC;
