-- A small document store for apps (apps never write SQL): records by collection and key, two indexed fields,
-- a version that keeps older writes from overwriting newer ones, and tombstones so a deleted record stays deleted.
CREATE TABLE app_records (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  app_id text NOT NULL,
  collection text NOT NULL,
  key text NOT NULL,
  data jsonb NOT NULL,
  version bigint NOT NULL DEFAULT 0,
  index_a text,
  index_b text,
  deleted boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, app_id, collection, key)
);
CREATE INDEX app_records_a ON app_records (workspace_id, app_id, collection, index_a) WHERE index_a IS NOT NULL;
CREATE INDEX app_records_b ON app_records (workspace_id, app_id, collection, index_b) WHERE index_b IS NOT NULL;
