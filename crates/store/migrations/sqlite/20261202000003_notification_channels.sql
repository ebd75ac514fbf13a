-- Where a project's alerts go. `sealed_settings` holds the URL and credentials encrypted like
-- secrets; `target` is the part that may be shown.
CREATE TABLE notification_channels (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    project_name     TEXT NOT NULL,
    name             TEXT NOT NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('slack', 'webhook', 'email')),
    events           TEXT NOT NULL CHECK (json_valid(events)),
    sealed_settings  TEXT NOT NULL,
    target           TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    UNIQUE (project_name, name)
);
