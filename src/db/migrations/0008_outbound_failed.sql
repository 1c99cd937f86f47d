-- The segment's query is copied onto the message when it is sent, so the send job uses the segment as it was then
-- (a segment edited or deleted meanwhile changes nothing). A send that cannot run (its query no longer compiles:
-- an attribute it names was deleted) ends 'failed' with the reason, instead of retrying until its job is dead.
ALTER TABLE outbound_messages ADD COLUMN segment_query jsonb;
ALTER TABLE outbound_messages ADD COLUMN error jsonb;
ALTER TABLE outbound_messages DROP CONSTRAINT outbound_messages_status_check;
ALTER TABLE outbound_messages ADD CONSTRAINT outbound_messages_status_check
  CHECK (status IN ('draft', 'sending', 'sent', 'failed'));
