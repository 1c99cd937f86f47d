-- Request budgets shared by every Settle process (src/platform/rate-budgets). Before this, each process paced its
-- Stripe requests with its own in-memory token buckets, so N processes (SETTLE_WORKERS, or several hosts) sent up
-- to N times the account's budget and met Stripe's 429s. One row per bucket holds its GCRA "theoretical arrival
-- time": a request reserves the next free slot of every bucket it passes through in one statement, under the rows'
-- locks, and the caller waits until its slot. The database's clock is the only clock, so processes agree on it.
-- No foreign key to workspaces: platform-wide buckets (failed logins by address) use workspace_id ''.
CREATE TABLE rate_budgets (
  workspace_id text NOT NULL,
  scope text NOT NULL,
  key text NOT NULL,
  tat timestamptz NOT NULL,
  PRIMARY KEY (workspace_id, scope, key)
);
