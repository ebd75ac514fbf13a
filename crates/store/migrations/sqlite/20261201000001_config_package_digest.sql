-- The digest of the workflow package a config version was last validated against (NULL: before
-- packages had digests). A version validated against another digest is checked again before launch.
ALTER TABLE configs ADD COLUMN package_digest TEXT;
