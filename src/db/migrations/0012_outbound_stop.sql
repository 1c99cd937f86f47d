-- A sent (or sending) outbound message can be stopped: status 'stopped', no longer shown by the messenger and no
-- longer counted as delivered or opened. A status rather than a flag, so that every status change the send job
-- makes (guarded by `WHERE status = 'sending'`) loses to a stop that came first, and a stopped message cannot be
-- sent again (sending is guarded by `status IN ('draft', 'failed')`). Who stopped it: a teammate's id, or null for
-- an API token.
ALTER TABLE outbound_messages ADD COLUMN stopped_at timestamptz;
ALTER TABLE outbound_messages ADD COLUMN stopped_by text;
ALTER TABLE outbound_messages DROP CONSTRAINT outbound_messages_status_check;
ALTER TABLE outbound_messages ADD CONSTRAINT outbound_messages_status_check
  CHECK (status IN ('draft', 'sending', 'sent', 'failed', 'stopped'));
