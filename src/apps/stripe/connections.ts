/**
 * Connected Stripe accounts (DESIGN.md §3.1): connect checks the key against `/v1/account`, registers a webhook
 * endpoint through the API, seals the key and the endpoint's signing secret per connection, and starts a backfill.
 * Keys and secrets never appear in answers, errors or logs.
 */
import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { ActionError, type AppHost } from '../../app-sdk/index.ts';
import {
  budgetFor,
  isNotFound,
  keyIsLive,
  stripeClient,
  type BudgetSetting,
  type StripeHandle,
} from './client.ts';
import { stores, type Connection } from './store.ts';

/** The events the engine listens to: what changes attributes, plus what the timeline records. */
export const WEBHOOK_EVENTS = [
  'customer.created',
  'customer.updated',
  'customer.deleted',
  'customer.discount.created',
  'customer.discount.updated',
  'customer.discount.deleted',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'customer.subscription.paused',
  'customer.subscription.resumed',
  'customer.subscription.trial_will_end',
  'invoice.created',
  'invoice.paid',
  'invoice.payment_failed',
  'invoice.payment_succeeded',
  'invoice.finalized',
  'invoice.voided',
  'charge.succeeded',
  'charge.failed',
  'charge.refunded',
  'charge.updated',
  'charge.captured',
  'payment_method.attached',
  'payment_method.detached',
  'payment_method.updated',
  // Sent when the card network gives Stripe a renewed card's new expiry or number (card account updater).
  'payment_method.automatically_updated',
  'checkout.session.completed',
] as const satisfies readonly Stripe.WebhookEndpointCreateParams.EnabledEvent[];

export const apiKeySecret = (connectionId: string) => `api_key:${connectionId}`;
export const webhookSecret = (connectionId: string) => `webhook_secret:${connectionId}`;

export async function listConnections(host: AppHost): Promise<Connection[]> {
  return (await stores(host).connections.list({ limit: 1000 })).map((r) => r.data);
}

/**
 * §3.1's order of accounts: the primary first, then the oldest connection. A contact linked in several accounts
 * takes its `stripe_*` attributes from the first of them that links it, and its card shows that one first.
 */
export function rankConnections(conns: readonly Connection[]): Connection[] {
  return [...conns].sort(
    (a, b) =>
      Number(b.primary) - Number(a.primary) ||
      a.created_at - b.created_at ||
      (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

export async function getConnection(host: AppHost, id: string): Promise<Connection | undefined> {
  const r = await stores(host).connections.get(id);
  return r && !r.deleted ? r.data : undefined;
}

export async function primaryConnection(host: AppHost): Promise<Connection | undefined> {
  return (await listConnections(host)).find((c) => c.primary);
}

/** Connection records are small and rewritten whole; the version only has to grow. */
export async function saveConnection(host: AppHost, conn: Connection): Promise<void> {
  const current = await stores(host).connections.get(conn.id);
  await stores(host).connections.put(conn.id, conn, {
    version: (current?.version ?? 0) + 1,
    a: conn.account_id,
    b: conn.settle_endpoint_id,
  });
}

/**
 * Handles kept per process: every applied event needs one, and opening the sealed key and building an SDK client
 * cost a query and as much CPU as the rest of a small apply. A connection's key, base and account never change
 * (connecting again makes a new connection), so a handle is reused until the budget setting changes or
 * HANDLE_TTL_MS passes, which bounds how long a disconnected account's key stays in this process's memory.
 */
const HANDLE_TTL_MS = 60_000;
const handles = new Map<string, { handle: StripeHandle; until: number }>();

export async function clientFor(host: AppHost, conn: Connection): Promise<StripeHandle> {
  const { api_budget } = await host.settings<{ api_budget?: BudgetSetting }>();
  const memo = `${host.workspaceId}:${conn.id}:${conn.api_base ?? ''}:${JSON.stringify(api_budget ?? null)}`;
  const hit = handles.get(memo);
  if (hit && hit.until > Date.now()) return hit.handle;
  const key = await host.secret(apiKeySecret(conn.id));
  if (!key) throw new Error(`connection ${conn.id} has no API key`);
  const handle = stripeClient({
    apiKey: key,
    apiBase: conn.api_base,
    account: conn.account_id,
    livemode: conn.livemode,
    budget: budgetFor(conn.livemode, api_budget),
    // Stripe limits the account, not the workspace: two workspaces connecting one account share its budget.
    reserve: (buckets) => host.budget.reserve(buckets, { acrossWorkspaces: true }),
    // A backfill page is worth waiting for: more attempts than an interactive call would make.
    retry: { attempts: 8, baseMs: 250, maxMs: 8000 },
  });
  for (const [k, v] of handles) if (v.until <= Date.now()) handles.delete(k);
  handles.set(memo, { handle, until: Date.now() + HANDLE_TTL_MS });
  return handle;
}

/** What answers and views show of a connection: never a key or a secret (they are not in the record at all). */
export const publicConnection = (c: Connection) => ({
  id: c.id,
  account_id: c.account_id,
  account_name: c.account_name,
  mode: c.livemode ? 'live' : 'test',
  livemode: c.livemode,
  primary: c.primary,
  api_base: c.api_base,
  created_at: c.created_at,
});

export async function connect(
  host: AppHost,
  input: { api_key: string; api_base?: string | undefined },
): Promise<{ connection: ReturnType<typeof publicConnection> }> {
  const apiKey = input.api_key.trim();
  const probe = stripeClient({
    apiKey,
    apiBase: input.api_base,
    account: `key:${apiKey.slice(-6)}`,
    livemode: keyIsLive(apiKey),
  });
  let account: Stripe.Account;
  try {
    account = await probe.call('account', (s) => s.accounts.retrieveCurrent());
  } catch (err) {
    // Stripe's message can quote part of the key: say what happened in our own words, and log no message.
    if (
      err instanceof Stripe.errors.StripeAuthenticationError ||
      err instanceof Stripe.errors.StripePermissionError
    )
      throw new ActionError(400, 'invalid_api_key', 'api_key: Stripe rejected this API key', 'api_key');
    host.log.warn('stripe connect: account check failed', { type: (err as Error).name });
    throw new ActionError(
      502,
      'stripe_unreachable',
      'could not reach Stripe to check the API key',
      'api_base',
    );
  }
  const existing = await listConnections(host);
  if (existing.some((c) => c.account_id === account.id))
    throw new ActionError(409, 'already_connected', `account ${account.id} is already connected`, 'api_key');

  const id = `conn_${randomBytes(8).toString('hex')}`;
  const livemode = keyIsLive(apiKey);
  const settleEndpoint = await host.webhooks.createEndpoint();
  const handle = stripeClient({ apiKey, apiBase: input.api_base, account: account.id, livemode });
  let endpoint: Stripe.WebhookEndpoint;
  try {
    endpoint = await handle.call('webhook_endpoints', (s) =>
      s.webhookEndpoints.create({
        url: settleEndpoint.url,
        enabled_events: [...WEBHOOK_EVENTS],
        description: 'Settle',
        api_version: '2026-10-28.endive',
      }),
    );
  } catch (err) {
    await host.webhooks.deleteEndpoint(settleEndpoint.id);
    host.log.warn('stripe connect: webhook endpoint creation failed', { type: (err as Error).name });
    throw new ActionError(502, 'stripe_error', 'Stripe refused to create the webhook endpoint', 'api_key');
  }
  await host.setSecret(apiKeySecret(id), apiKey);
  if (endpoint.secret) await host.setSecret(webhookSecret(id), endpoint.secret);
  const conn: Connection = {
    id,
    account_id: account.id,
    account_name: account.settings?.dashboard?.display_name ?? account.business_profile?.name ?? null,
    livemode,
    primary: !existing.some((c) => c.primary),
    api_base: input.api_base ?? null,
    stripe_endpoint_id: endpoint.id,
    settle_endpoint_id: settleEndpoint.id,
    created_at: Math.floor(Date.now() / 1000),
    sync: { run: 1, state: 'pending', started_at: null, finished_at: null, last_error: null },
  };
  await saveConnection(host, conn);
  await host.jobs.enqueue('backfill', { connectionId: id, run: 1 }, { dedupeKey: `backfill:${id}:1` });
  host.log.info('stripe account connected', { connection: id, account: account.id, livemode });
  return { connection: publicConnection(conn) };
}

/** Deletes the webhook endpoint in Stripe; an endpoint Stripe no longer has is already gone. */
export async function deleteStripeEndpoint(host: AppHost, conn: Connection): Promise<void> {
  if (!conn.stripe_endpoint_id) return;
  const handle = await clientFor(host, conn);
  try {
    await handle.call('webhook_endpoints', (s) => s.webhookEndpoints.del(conn.stripe_endpoint_id as string));
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

export async function disconnect(host: AppHost, connectionId: string): Promise<{ disconnected: string }> {
  const conn = await getConnection(host, connectionId);
  if (!conn)
    throw new ActionError(404, 'connection_not_found', `no connection ${connectionId}`, 'connection_id');
  try {
    await deleteStripeEndpoint(host, conn);
  } catch {
    throw new ActionError(
      503,
      'stripe_unreachable',
      'Stripe is unreachable; try again later',
      'connection_id',
    );
  }
  await host.webhooks.deleteEndpoint(conn.settle_endpoint_id);
  const s = stores(host);
  const current = await s.connections.get(conn.id);
  await s.connections.remove(conn.id, { version: (current?.version ?? 0) + 1 });
  // The key stays sealed but unused: the SDK has no secret deletion; uninstall removes every secret.
  if (conn.primary) {
    const next = (await listConnections(host)).sort((a, b) => a.created_at - b.created_at)[0];
    if (next) await setPrimary(host, next.id);
  }
  // Its contacts go to the accounts left (or lose their stripe_* values) and its records are deleted (release.ts).
  // Once more a minute later: work of this account that was running meanwhile (a backfill page) may write after.
  await host.jobs.enqueue(
    'release_connection',
    { connectionId: conn.id },
    { dedupeKey: `release:${conn.id}` },
  );
  await host.jobs.enqueue(
    'release_connection',
    { connectionId: conn.id },
    { dedupeKey: `release:${conn.id}:again`, runAt: new Date(Date.now() + 60_000) },
  );
  return { disconnected: conn.id };
}

export async function setPrimary(host: AppHost, connectionId: string) {
  const all = await listConnections(host);
  if (!all.some((c) => c.id === connectionId))
    throw new ActionError(404, 'connection_not_found', `no connection ${connectionId}`, 'connection_id');
  for (const c of all) {
    const primary = c.id === connectionId;
    if (c.primary !== primary) await saveConnection(host, { ...c, primary });
  }
  // Attributes come from the primary account: recompute every customer of the new one.
  await host.jobs.enqueue(
    'recompute',
    { connectionId },
    { dedupeKey: `recompute:${connectionId}:${Date.now()}` },
  );
  return { primary: connectionId };
}

/**
 * Resumes a paused run where its cursors stopped: the same run, its checkpointed pages not listed again. Changes
 * made in Stripe meanwhile to objects already written reach the contacts as a killed run's do: through webhooks,
 * and through the events catch-up, which starts once the run is done and lists every event since the connection.
 */
export async function resumeSync(host: AppHost, connectionId: string): Promise<{ run: number }> {
  const conn = await getConnection(host, connectionId);
  if (!conn) throw new Error(`no connection ${connectionId}`);
  const run = conn.sync.run;
  await saveConnection(host, { ...conn, sync: { ...conn.sync, state: 'pending', last_error: null } });
  await host.jobs.enqueue(
    'backfill',
    { connectionId, run },
    // Each resume is a job of its own: the run's first job (same run, same payload) has ended.
    { dedupeKey: `backfill:${connectionId}:${run}:resume:${Date.now()}` },
  );
  return { run };
}

/** Starts a new run: cursors of older runs count as not started. */
export async function startSync(host: AppHost, connectionId: string): Promise<{ run: number }> {
  const conn = await getConnection(host, connectionId);
  if (!conn) throw new Error(`no connection ${connectionId}`);
  const run = conn.sync.run + 1;
  await saveConnection(host, {
    ...conn,
    sync: { run, state: 'pending', started_at: null, finished_at: null, last_error: null },
  });
  await host.jobs.enqueue(
    'backfill',
    { connectionId, run },
    { dedupeKey: `backfill:${connectionId}:${run}` },
  );
  return { run };
}
