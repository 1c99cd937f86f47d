-- Fields and objects of Intercom's REST API that scripts moving from Intercom rely on.

ALTER TABLE contacts
  ADD COLUMN avatar text,
  ADD COLUMN signed_up_at timestamptz,
  ADD COLUMN owner_id text,
  ADD COLUMN unsubscribed_from_emails boolean NOT NULL DEFAULT false;

-- Intercom distinguishes integer and float attributes; Settle stores both as numbers and remembers which was asked.
ALTER TABLE attribute_definitions ADD COLUMN declared_type text;

CREATE TABLE tags (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX tags_name ON tags (workspace_id, lower(name));

CREATE TABLE contact_tags (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  contact_id text NOT NULL,
  tag_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, contact_id, tag_id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts(workspace_id, id) ON DELETE CASCADE,
  FOREIGN KEY (workspace_id, tag_id) REFERENCES tags(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX contact_tags_tag ON contact_tags (workspace_id, tag_id);
