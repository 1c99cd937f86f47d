-- In-app messages to a segment. A delivery row per member is the send: its primary key is why no contact gets a
-- message twice, however often the send job runs.
CREATE TABLE outbound_messages (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  segment_id text NOT NULL,
  title text NOT NULL,
  body text NOT NULL,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sending', 'sent')),
  cursor text, -- where the send job got to in the segment, so a retried job resumes
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  sent_at timestamptz,
  finished_at timestamptz,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE outbound_deliveries (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  message_id text NOT NULL,
  contact_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  delivered_at timestamptz,
  opened_at timestamptz,
  PRIMARY KEY (workspace_id, message_id, contact_id),
  FOREIGN KEY (workspace_id, message_id) REFERENCES outbound_messages(workspace_id, id) ON DELETE CASCADE,
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX outbound_deliveries_contact ON outbound_deliveries (workspace_id, contact_id, opened_at);
