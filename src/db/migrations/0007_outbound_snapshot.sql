-- Outbound sends take their recipients in one statement (INSERT … SELECT over the segment's filter) in the
-- transaction that marks the message sent, so there is no walk through the segment to resume: the cursor goes.
-- A message left 'sending' by an older version keeps the deliveries it got; its job, run again, adds the rest of
-- the segment as it is then (deliveries are unique per contact).
ALTER TABLE outbound_messages DROP COLUMN cursor;
