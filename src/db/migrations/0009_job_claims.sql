-- The claim takes ready jobs in (run_at, id) order. Jobs enqueued together share their run_at (one statement's
-- now(), up to 500 webhook events), and an index on run_at alone made every claim read and sort that whole group
-- to find its first few: ~1 ms a claim against ~0.1 ms with the id in the index.
CREATE INDEX jobs_ready_order ON jobs (run_at, id) WHERE status = 'queued';
DROP INDEX jobs_ready;

-- The claim (src/jobs/repository.ts), as a function for one reason: `SET enable_bitmapscan = off`. Every claimed
-- or finished job leaves a dead entry in the partial indexes the claim reads until vacuum, thousands a minute under
-- load. An index scan in index order meets each dead entry once and marks it dead in the index, so the next claims
-- skip it; a bitmap scan (which the planner chose once statistics lagged behind the table) never marks them and
-- visited every one on every claim: 1–15 ms a claim, 600–950 heap pages each, during a webhook burst.
CREATE FUNCTION settle_claim_jobs(queues text[], lim int, token text, ws text, lease_ms double precision)
RETURNS SETOF jobs
LANGUAGE sql
SET enable_bitmapscan = off
AS $$
  WITH expired AS (
    SELECT workspace_id, id FROM jobs
    WHERE status = 'running' AND locked_until < now()
      AND queue = ANY(queues) AND (ws IS NULL OR workspace_id = ws)
    ORDER BY locked_until
    LIMIT lim
    FOR UPDATE SKIP LOCKED),
  ready AS (
    SELECT workspace_id, id FROM jobs
    WHERE status = 'queued' AND run_at <= now()
      AND queue = ANY(queues) AND (ws IS NULL OR workspace_id = ws)
    ORDER BY run_at, id
    LIMIT lim
    FOR UPDATE SKIP LOCKED),
  picked AS (SELECT * FROM expired UNION ALL SELECT * FROM ready LIMIT lim)
  UPDATE jobs j SET status = 'running', attempts = j.attempts + 1, lease_token = token || ':' || j.id,
    locked_until = now() + make_interval(secs => lease_ms / 1000), updated_at = now()
  FROM picked WHERE j.workspace_id = picked.workspace_id AND j.id = picked.id
  RETURNING j.*
$$;
