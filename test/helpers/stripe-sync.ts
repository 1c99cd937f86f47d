// The set-up of the Stripe sync engine's end-to-end tests (test/stripe-sync-*.test.ts): the official SDK drives the
// emulator, loaded with the snapshot whose attribute values src/apps/stripe/attributes-fixture.test.ts works out by
// hand, and Settle serves on a real port so that the emulator's signed webhooks reach it.
import { readFileSync } from 'node:fs';
import type Stripe from 'stripe';
import { expect } from 'vitest';
import { startEmulator, type RunningEmulator } from '../../src/emulator/index.ts';
import { createContact } from '../../src/platform/contacts/service.ts';
import type { Harness } from './harness.ts';
import { drainStripeJobs, emulatorStripe, installStripeApp } from './stripe-app.ts';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/stripe/agent-eval-fixture.json', import.meta.url), 'utf8'),
) as unknown;

/** What a file's tests share by name: `ada`, `bob`, `cy` (made before the sync), then `conn` and `dee`. */
export type SyncIds = Record<string, string>;

export interface SyncStatus {
  connections: {
    id: string;
    primary: boolean;
    mode: string;
    sync: { complete: boolean; state: string };
  }[];
}

/**
 * Serves `h` on a free port, starts the emulator with the snapshot, makes the contacts the sync must match (their
 * ids into `ids`) and installs the Stripe app: everything up to the connection.
 */
export async function startStripeSync(
  h: Harness,
  ids: SyncIds,
): Promise<{ emu: RunningEmulator; stripe: Stripe; publicUrl: string }> {
  const publicUrl = await h.server.listen({ port: 0, host: '127.0.0.1' });
  h.platform.config.publicUrl = publicUrl;
  const emu = await startEmulator({ port: 0 });
  try {
    emu.loadSnapshot(fixture);
    const stripe = emulatorStripe(emu);
    // Ada is known to the host app by user id under another email: metadata.user_id must find her.
    await stripe.customers.update('cus_ada01', { metadata: { user_id: 'u_ada' } });
    const ws = h.workspace.id;
    ids.ada = (
      await createContact(h.platform.db, ws, {
        role: 'user',
        external_id: 'u_ada',
        email: 'ada@elsewhere.test',
      })
    ).id;
    // Bob's contact email differs only in case: §3.2 compares case-insensitively.
    ids.bob = (await createContact(h.platform.db, ws, { role: 'user', email: 'Bob@Example.COM' })).id;
    ids.cy = (
      await createContact(h.platform.db, ws, { role: 'user', external_id: 'u_cy', email: 'cy@example.com' })
    ).id;
    await installStripeApp(h);
    return { emu, stripe, publicUrl };
  } catch (e) {
    await emu.close();
    throw e;
  }
}

/**
 * Connects the emulator's account and waits for the backfill, as the "connects" test of
 * test/stripe-sync-backfill.test.ts does with its checks: for the files whose tests start from a synced account.
 * Sets `ids.conn` and `ids.dee` (Dee has no contact before the sync; it makes one).
 */
export async function connectAndBackfill(h: Harness, emu: RunningEmulator, ids: SyncIds): Promise<void> {
  const res = await h.request('admin', {
    method: 'POST',
    url: '/api/apps/stripe/actions/connect',
    payload: { api_key: emu.key, api_base: emu.url },
  });
  expect(res.statusCode).toBe(200);
  ids.conn = (res.json() as { connection: { id: string } }).connection.id;
  await drainStripeJobs(h, emu);
  expect((await syncStatus(h)).connections[0]?.sync).toMatchObject({ state: 'done', complete: true });
  const dee = await h.platform.db.query<{ id: string }>(
    "SELECT id FROM contacts WHERE workspace_id = $1 AND lower(email) = 'dee@example.com'",
    [h.workspace.id],
  );
  expect(dee.rows).toHaveLength(1);
  ids.dee = dee.rows[0]!.id;
}

export async function contactOf(h: Harness, id: string) {
  return (await h.request('admin', { method: 'GET', url: `/api/contacts/${id}` })).json() as {
    id: string;
    email: string | null;
    custom_attributes: Record<string, unknown>;
  };
}

export async function syncStatus(h: Harness): Promise<SyncStatus> {
  return (
    await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/status' })
  ).json() as SyncStatus;
}

/** The contact's timeline events, oldest first. */
export async function timelineOf(h: Harness, contactId: string) {
  const r = await h.platform.db.query<{ name: string; metadata: Record<string, unknown> }>(
    'SELECT name, metadata FROM contact_events WHERE workspace_id = $1 AND contact_id = $2 ORDER BY created_at',
    [h.workspace.id, contactId],
  );
  return r.rows;
}
