-- Contacts search and segments (DESIGN.md §4, docs/search.md). Per-attribute expression indexes are not here:
-- src/platform/search/repository.ts creates them when an attribute is defined.

-- Sorting and date ranges on the other date fields (created_at has contacts_created).
CREATE INDEX contacts_updated ON contacts (workspace_id, updated_at, id);
CREATE INDEX contacts_last_seen ON contacts (workspace_id, last_seen_at, id);
-- Name: exact match and sorting in byte order; case-insensitive prefix.
CREATE INDEX contacts_name_c ON contacts (workspace_id, (name COLLATE "C"), id);
CREATE INDEX contacts_name_lower ON contacts (workspace_id, lower(name) text_pattern_ops);
-- Email prefix (email_normalized is already lower-cased).
CREATE INDEX contacts_email_prefix ON contacts (workspace_id, email_normalized text_pattern_ops);

-- Email contains (~): trigram index where pg_trgm is available (PostgreSQL with contrib; not PGlite) and the
-- role may create it. Without it, ~ on email is a scan of the workspace's contacts.
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
    BEGIN
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
      CREATE INDEX contacts_email_trgm ON contacts USING gin (email_normalized gin_trgm_ops);
    EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
      RAISE NOTICE 'pg_trgm unavailable: email contains-search will not be indexed';
    END;
  END IF;
END
$$;

CREATE TABLE segments (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  name text NOT NULL,
  query jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX segments_name ON segments (workspace_id, lower(name));
