/** The Stripe app's manifest: everything the platform needs to run it (docs/stripe-app.md). */
import { z } from 'zod';
import { ActionError, defineApp } from '../../app-sdk/index.ts';
import { APPLY_BATCH_MAX, applyEvent, applyEvents } from './apply.ts';
import { stripeAttributes } from './attributes.ts';
import { runBackfill } from './backfill.ts';
import { runRecompute } from './settle-batch.ts';
import { DEFAULT_CATCH_UP_INTERVAL_SECONDS, runCatchUp, type CatchUpPayload } from './catch-up.ts';
import { stripeCard } from './card.ts';
import {
  connect,
  deleteStripeEndpoint,
  disconnect,
  listConnections,
  setPrimary,
  resumeSync,
  startSync,
} from './connections.ts';
import { linkCustomer, unlinkCustomer, type LinkInput } from './links.ts';
import { runCreateContact } from './recompute.ts';
import { runTimelineHistory } from './timeline-history.ts';
import { timelineEventNames } from './timeline.ts';
import { conflictsView, statusView } from './views.ts';
import { releaseConnection } from './release.ts';
import { handleWebhook } from './webhook.ts';

const settings = z.object({
  sync_enabled: z.boolean().default(true),
  metadata_key: z.string().min(1, 'enter the metadata key that holds your user id').default('user_id'),
  // Stripe's limits for the account (default by mode) and the share Settle uses; the rest is the merchant's.
  api_budget: z
    .object({
      share: z.number().min(0.01).max(1).default(0.5),
      global: z.number().positive().optional(),
      per_endpoint: z.number().positive().optional(),
    })
    .default({ share: 0.5 }),
  // Concurrent `created` ranges per list type in the backfill; 1 lists each type with one cursor, in turn.
  backfill_ranges: z.number().int().min(1).max(32).default(8),
  /** How often the `/v1/events` catch-up runs per connection (catch-up.ts). */
  catch_up_interval_seconds: z.number().int().min(1).max(86_400).default(DEFAULT_CATCH_UP_INTERVAL_SECONDS),
});

const connectionId = z.object({ connection_id: z.string().min(1) });
const linkInput = z.object({
  contact_id: z.string().min(1),
  customer_id: z.string().regex(/^cus_\w+$/, 'must be a Stripe customer id (cus_…)'),
  connection_id: z.string().min(1).optional(),
});

export const stripeApp = defineApp({
  id: 'stripe',
  name: 'Stripe',
  description: 'Stripe customers, subscriptions and payments on contacts, the timeline and the inbox sidebar',
  settings,
  secrets: ['api_key', 'webhook_secret'],
  attributes: stripeAttributes,
  events: timelineEventNames,
  cards: { sidebar: [stripeCard], messenger: [] },
  webhooks: [{ path: 'stripe/:endpoint', handle: handleWebhook }],
  jobs: {
    backfill: (host, payload, ctx) =>
      runBackfill(host, payload as { connectionId: string; run: number }, ctx),
    recompute: (host, payload) => runRecompute(host, payload as { connectionId: string }),
    create_contact: (host, payload) =>
      runCreateContact(host, payload as Parameters<typeof runCreateContact>[1]),
    catch_up: (host, payload) => runCatchUp(host, payload as CatchUpPayload),
    timeline_history: (host, payload) => runTimelineHistory(host, payload as { connectionId: string }),
    release_connection: (host, payload) => releaseConnection(host, payload as { connectionId: string }),
    // `applyEvent` reads the settings itself (sync_enabled included): one query per event fewer.
    apply_event: (host, payload, ctx) =>
      applyEvent(host, payload as Parameters<typeof applyEvent>[1], ctx.rerun),
  },
  // Under load the worker holds many events at once: applied together, they share their reads and writes.
  batches: {
    apply_event: {
      max: APPLY_BATCH_MAX,
      run: (host, payloads, ctx) =>
        applyEvents(host, payloads as Parameters<typeof applyEvents>[1], ctx.reruns),
    },
  },
  tools: [],
  actions: {
    connect: {
      access: 'admin',
      summary: 'Connect a Stripe account with a secret or restricted API key',
      input: z.object({
        api_key: z.string().min(8, 'too short to be a Stripe API key'),
        api_base: z.url('enter a full URL, such as https://api.stripe.com').optional(),
      }),
      run: (host, input: { api_key: string; api_base?: string }) => connect(host, input),
    },
    disconnect: {
      access: 'admin',
      summary:
        'Disconnect a Stripe account (deletes its webhook endpoint in Stripe; its contacts keep only other accounts’ values)',
      input: connectionId,
      run: (host, input: { connection_id: string }) => disconnect(host, input.connection_id),
    },
    set_primary: {
      access: 'admin',
      summary: 'Make a connection the primary account (attributes come from it)',
      input: connectionId,
      run: (host, input: { connection_id: string }) => setPrimary(host, input.connection_id),
    },
    link_customer: {
      access: 'team',
      summary: 'Link a contact to a Stripe customer (outranks user id and email matching)',
      input: linkInput,
      run: (host, input: LinkInput) => linkCustomer(host, input),
    },
    unlink_customer: {
      access: 'team',
      summary: "Remove a teammate's link: the customer is matched automatically again",
      input: linkInput,
      run: (host, input: LinkInput) => unlinkCustomer(host, input),
    },
    sync: {
      access: 'admin',
      summary: 'Run the backfill again (all connections, or one)',
      input: z.object({ connection_id: z.string().optional() }),
      run: async (host, input: { connection_id?: string }) => {
        const conns = (await listConnections(host)).filter(
          (c) => !input.connection_id || c.id === input.connection_id,
        );
        if (conns.length === 0)
          throw new ActionError(404, 'connection_not_found', 'no such Stripe connection', 'connection_id');
        const runs = [];
        for (const c of conns) runs.push({ connection_id: c.id, ...(await startSync(host, c.id)) });
        return { runs };
      },
    },
  },
  views: {
    status: { access: 'team', summary: 'Connections, their mode and sync progress', load: statusView },
    conflicts: {
      access: 'admin',
      summary: 'Customers that share an email with another',
      load: conflictsView,
    },
  },
  // Sync turned back on: every run that paused because it was off (or found it off at its start) resumes from its
  // cursors.
  // Connections already synced need nothing: the events catch-up kept its chain while sync was off and resumes
  // from its cursor.
  async onSettingsChange(host, { before, after }) {
    const on = (s: unknown) => (s as { sync_enabled?: boolean }).sync_enabled !== false;
    if (on(before) || !on(after)) return;
    for (const conn of await listConnections(host))
      if (conn.sync.state === 'paused') await resumeSync(host, conn.id);
  },
  // Uninstall: the webhook endpoints go first; if Stripe is unreachable this throws and the uninstall job retries.
  async onUninstall(host) {
    for (const conn of await listConnections(host)) {
      await deleteStripeEndpoint(host, conn);
      await host.webhooks.deleteEndpoint(conn.settle_endpoint_id);
    }
  },
});
