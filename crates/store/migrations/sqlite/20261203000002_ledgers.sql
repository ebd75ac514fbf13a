-- Ledgers: what a config's runs delivered, one row per entry name holding its newest record,
-- so "was this file copied before?" is an index probe however many runs came before, and
-- survives retention pruning those runs. A ledger row says a job has recorded in it at all
-- (even nothing): a delivery job that ran counts when deciding what is done.
CREATE TABLE ledgers (
    config_id   INTEGER NOT NULL REFERENCES config_heads (config_id),
    ledger      TEXT NOT NULL,
    opened_at   TEXT NOT NULL,
    PRIMARY KEY (config_id, ledger)
) WITHOUT ROWID;

CREATE TABLE ledger_entries (
    config_id    INTEGER NOT NULL,
    ledger       TEXT NOT NULL,
    name         TEXT NOT NULL,
    record       TEXT NOT NULL CHECK (json_valid(record)),
    run_id       TEXT NOT NULL,
    recorded_at  TEXT NOT NULL,
    PRIMARY KEY (config_id, ledger, name),
    FOREIGN KEY (config_id, ledger) REFERENCES ledgers (config_id, ledger)
) WITHOUT ROWID;

-- Earlier runs recorded deliveries only in their state (`copied`, `deposited`): the ledgers
-- start from them, the newest run's record of each name winning.
INSERT INTO ledgers (config_id, ledger, opened_at)
SELECT k.config_id, k.key, min(r.created_at)
FROM run_state_keys k JOIN runs r ON r.seq = k.run_seq
WHERE k.key IN ('copied', 'deposited')
GROUP BY k.config_id, k.key;

-- SQLite takes the bare columns of an aggregate query from the row holding max(r.seq).
INSERT INTO ledger_entries (config_id, ledger, name, record, run_id, recorded_at)
SELECT config_id, ledger, name, record, run_id, recorded_at FROM (
    SELECT k.config_id AS config_id, k.key AS ledger, e.key AS name, e.value AS record,
           r.run_id AS run_id, r.updated_at AS recorded_at, max(r.seq) AS newest
    FROM run_state_keys k
    JOIN runs r ON r.seq = k.run_seq
    JOIN json_each(r.state, '$.' || k.key) e
    WHERE k.key IN ('copied', 'deposited') AND e.type = 'object'
    GROUP BY k.config_id, k.key, e.key
);
