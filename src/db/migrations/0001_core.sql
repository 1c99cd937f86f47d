-- Core platform schema. Every table carries workspace_id and its keys lead with it (DESIGN.md §2).

CREATE TABLE workspaces (
  id text PRIMARY KEY,
  name text NOT NULL,
  app_id text NOT NULL UNIQUE,
  messenger_secret text NOT NULL, -- sealed with the master key
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE teammates (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  email text NOT NULL,
  name text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'teammate')),
  password_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz,
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX teammates_email ON teammates (workspace_id, lower(email));
CREATE INDEX teammates_email_global ON teammates (lower(email));

CREATE TABLE sessions (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  teammate_id text NOT NULL,
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, teammate_id) REFERENCES teammates(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE api_tokens (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  name text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  token_prefix text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_used_at timestamptz,
  revoked_at timestamptz,
  PRIMARY KEY (workspace_id, id)
);

CREATE TABLE attribute_definitions (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  name text NOT NULL,
  type text NOT NULL CHECK (type IN ('string', 'number', 'boolean', 'date')),
  label text NOT NULL,
  description text NOT NULL DEFAULT '',
  source text NOT NULL DEFAULT 'custom', -- 'custom' or the id of the app that registered it
  created_at timestamptz NOT NULL DEFAULT now(),
  archived_at timestamptz,
  PRIMARY KEY (workspace_id, name)
);

CREATE TABLE contacts (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  role text NOT NULL CHECK (role IN ('user', 'lead')),
  external_id text,
  email text,
  email_normalized text,
  name text,
  phone text,
  custom_attributes jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz,
  archived_at timestamptz,
  merged_into text,
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX contacts_external_id ON contacts (workspace_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX contacts_email ON contacts (workspace_id, email_normalized);
CREATE INDEX contacts_created ON contacts (workspace_id, created_at, id);

CREATE TABLE contact_events (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  contact_id text NOT NULL,
  name text NOT NULL,
  created_at timestamptz NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  source text NOT NULL DEFAULT 'api',
  idempotency_key text,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts(workspace_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX contact_events_idempotency ON contact_events (workspace_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX contact_events_contact ON contact_events (workspace_id, contact_id, created_at DESC);

CREATE TABLE conversations (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  contact_id text NOT NULL,
  title text,
  state text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'snoozed', 'closed')),
  snoozed_until timestamptz,
  assignee_id text,
  team_unread boolean NOT NULL DEFAULT true,
  contact_unread integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_message_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX conversations_inbox ON conversations (workspace_id, state, last_message_at DESC);
CREATE INDEX conversations_contact ON conversations (workspace_id, contact_id, last_message_at DESC);

CREATE TABLE messages (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  conversation_id text NOT NULL,
  author_type text NOT NULL CHECK (author_type IN ('contact', 'teammate', 'agent', 'system')),
  author_id text,
  kind text NOT NULL CHECK (kind IN ('comment', 'note', 'card')),
  body text NOT NULL DEFAULT '',
  card jsonb,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  seq bigint GENERATED ALWAYS AS IDENTITY,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, conversation_id) REFERENCES conversations(workspace_id, id) ON DELETE CASCADE
);
CREATE INDEX messages_conversation ON messages (workspace_id, conversation_id, seq);

CREATE TABLE messenger_sessions (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  token_hash text NOT NULL UNIQUE,
  contact_id text NOT NULL,
  verified boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, id),
  FOREIGN KEY (workspace_id, contact_id) REFERENCES contacts(workspace_id, id) ON DELETE CASCADE
);

CREATE TABLE app_installations (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  app_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('installed', 'uninstalling', 'uninstalled')),
  settings jsonb NOT NULL DEFAULT '{}'::jsonb,
  installed_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, app_id)
);

CREATE TABLE app_secrets (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  app_id text NOT NULL,
  name text NOT NULL,
  sealed text NOT NULL, -- AES-256-GCM envelope, see src/platform/crypto
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, app_id, name)
);

CREATE TABLE jobs (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id bigint GENERATED ALWAYS AS IDENTITY,
  queue text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'succeeded', 'dead')),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 8,
  run_at timestamptz NOT NULL DEFAULT now(),
  lease_token text,
  locked_until timestamptz,
  last_error text,
  dedupe_key text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (workspace_id, id)
);
CREATE INDEX jobs_ready ON jobs (run_at) WHERE status = 'queued';
CREATE INDEX jobs_leased ON jobs (locked_until) WHERE status = 'running';
CREATE UNIQUE INDEX jobs_dedupe ON jobs (workspace_id, queue, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX jobs_status ON jobs (workspace_id, status, updated_at DESC);

-- Public webhook URLs of apps: an opaque id names the workspace (and, to the app, e.g. a Stripe connection).
CREATE TABLE app_endpoints (
  workspace_id text NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
  id text NOT NULL,
  app_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workspace_id, id)
);
CREATE UNIQUE INDEX app_endpoints_id ON app_endpoints (id);
