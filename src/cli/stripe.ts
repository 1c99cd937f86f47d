import { SingleBar, Presets } from 'cli-progress';
import type { Config } from '../config/env.ts';
import { apiClient, type ApiClient } from './http.ts';
import { stringFlag } from './args.ts';

interface StatusConnection {
  id: string;
  account_id: string;
  livemode: boolean;
  primary: boolean;
  sync: {
    state: string;
    last_error: string | null;
    pages_done: number;
    types_done: number;
    types_total: number;
    complete: boolean;
    objects: Record<string, { count: number; done: boolean }>;
  };
  timeline_history: { done: boolean; events: number } | null;
}

async function status(api: ApiClient): Promise<StatusConnection[]> {
  return (await api.call<{ connections: StatusConnection[] }>('GET', '/api/apps/stripe/views/status'))
    .connections;
}

async function ensureInstalled(api: ApiClient): Promise<void> {
  const apps = await api.call<{ data: { id: string; status: string }[] }>('GET', '/api/apps');
  if (apps.data.find((a) => a.id === 'stripe')?.status !== 'installed') {
    throw new Error(
      'the Stripe app is not installed in this workspace: install it in the inbox settings first',
    );
  }
}

/** Waits for every connection's sync to complete, with a progress bar over the object lists. */
async function waitForSync(api: ApiClient): Promise<void> {
  const bar = new SingleBar(
    { format: 'Stripe sync |{bar}| {value}/{total} lists · {pages} pages · {objects} objects' },
    Presets.shades_classic,
  );
  let started = false;
  const reported = new Map<string, string>();
  for (;;) {
    const conns = await status(api);
    const total = conns.reduce((n, c) => n + c.sync.types_total, 0);
    const done = conns.reduce((n, c) => n + c.sync.types_done, 0);
    const pages = conns.reduce((n, c) => n + c.sync.pages_done, 0);
    const objects = conns.reduce(
      (n, c) => n + Object.values(c.sync.objects).reduce((m, o) => m + o.count, 0),
      0,
    );
    if (!started) {
      bar.start(total, done, { pages, objects });
      started = true;
    } else bar.update(done, { pages, objects });
    // `error` is retried by the job queue: say so once per message and keep waiting; `failed` is final.
    const failed = conns.find((c) => c.sync.state === 'failed');
    if (failed) {
      bar.stop();
      throw new Error(
        `sync of ${failed.account_id} failed: ${failed.sync.last_error ?? 'unknown error'}; ` +
          'fix the cause, then run `settle stripe sync` again',
      );
    }
    const paused = conns.find((c) => c.sync.state === 'paused');
    if (paused) {
      bar.stop();
      throw new Error(
        `sync of ${paused.account_id} is paused: sync_enabled is off in the Stripe app's settings; turning it on syncs it`,
      );
    }
    for (const c of conns) {
      if (c.sync.state !== 'error' || !c.sync.last_error || reported.get(c.id) === c.sync.last_error)
        continue;
      reported.set(c.id, c.sync.last_error);
      process.stderr.write(`\n${c.account_id}: ${c.sync.last_error} (retrying)\n`);
    }
    if (conns.length > 0 && conns.every((c) => c.sync.complete)) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  bar.stop();
  process.stdout.write('Stripe sync complete.\n');
  await waitForHistory(api);
}

/** How long `--wait` waits for the timeline history after the sync before leaving it to the background. */
const HISTORY_WAIT_MS = 60_000;

/** A first sync is followed by the import of the account's last 30 days of events onto the timeline. */
async function waitForHistory(api: ApiClient): Promise<void> {
  const deadline = Date.now() + HISTORY_WAIT_MS;
  let said = false;
  for (;;) {
    const conns = await status(api);
    if (conns.every((c) => c.timeline_history?.done)) {
      const events = conns.reduce((n, c) => n + (c.timeline_history?.events ?? 0), 0);
      if (said || events > 0)
        process.stdout.write(`Timeline: ${events} past event${events === 1 ? '' : 's'} imported.\n`);
      return;
    }
    if (Date.now() > deadline) {
      process.stdout.write('Timeline: the past events are still being imported, in the background.\n');
      return;
    }
    if (!said) process.stdout.write('Timeline: importing the last 30 days of events…\n');
    said = true;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** `settle stripe connect|sync`: these talk to a running Settle over its HTTP API. */
export async function stripeCommand(
  config: Config,
  sub: string | undefined,
  flags: Record<string, string | true>,
  token?: string,
) {
  const api = apiClient({ url: stringFlag(flags, 'url'), port: config.port, token });
  await ensureInstalled(api);
  if (sub === 'connect') {
    const key = stringFlag(flags, 'key');
    if (!key) throw new Error('stripe connect needs --key KEY (a secret sk_… or restricted rk_… key)');
    const apiBase = stringFlag(flags, 'api-base');
    const { connection: conn } = await api.call<{
      connection: { id: string; account_id: string; livemode: boolean; primary: boolean };
    }>('POST', '/api/apps/stripe/actions/connect', {
      api_key: key,
      ...(apiBase ? { api_base: apiBase } : {}),
    });
    process.stdout.write(
      `Connected ${conn.account_id} (${conn.livemode ? 'live' : 'test'} mode${conn.primary ? ', primary' : ''}); the backfill has started.\n`,
    );
    if (flags.wait) await waitForSync(api);
    return;
  }
  if (sub === 'sync') {
    if (!flags['no-start']) await api.call('POST', '/api/apps/stripe/actions/sync', {});
    if (flags.wait) await waitForSync(api);
    else
      process.stdout.write('Stripe sync started; follow it with: npx settle stripe sync --wait --no-start\n');
    return;
  }
  throw new Error(
    `unknown stripe command ${sub ?? ''}: use 'stripe connect --key KEY [--api-base URL]' or 'stripe sync [--wait]'`,
  );
}
