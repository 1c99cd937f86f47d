/**
 * Stripe backfill benchmark (docs/benchmarks.md, "Stripe sync"): an emulator in its own process with Stripe's
 * limits (100 requests/s, 25/s per endpoint) and 150 ± 50 ms latency; Settle on a fresh PostgreSQL database syncs it
 * with the budget at the full limit. Reports wall time, objects/s, requests, 429s and the ratio to the bound
 * (max(requests/100, max over endpoints of requests/25) seconds for the fewest pages the strategy needs), beside a
 * single sequential cursor on a smaller account in the same run; checks a sample of contacts against a derivation
 * from the emulator's state; kills a sync worker with SIGKILL mid-run and compares the resumed result with an
 * uninterrupted one.
 *
 *   npm run bench:sync -- [--customers 100000] [--ranges 8] [--share 1] [--baseline-customers 2000]
 *                         [--kill-customers 3000] [--sample 1000] [--skip-baseline] [--skip-kill]
 *   BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres) must allow CREATE DATABASE.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import Stripe from 'stripe';
import { deriveAttributes } from '../src/apps/stripe/attributes.ts';
import { backfillFaults } from '../src/apps/stripe/backfill.ts';
import { requestStats } from '../src/apps/stripe/client.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import type { Connection } from '../src/apps/stripe/store.ts';
import { createHarness, testMasterKey, type Harness } from '../test/helpers/harness.ts';
import { profileQueries, type QueryProfile } from '../test/helpers/query-profile.ts';

const { values: args } = parseArgs({
  options: {
    customers: { type: 'string', default: '100000' },
    ranges: { type: 'string', default: '8' },
    share: { type: 'string', default: '1' },
    'baseline-customers': { type: 'string', default: '2000' },
    'kill-customers': { type: 'string', default: '3000' },
    sample: { type: 'string', default: '1000' },
    'skip-baseline': { type: 'boolean', default: false },
    'skip-kill': { type: 'boolean', default: false },
    // Stop timing (and checking) after customers + subscriptions: the charges phase of a large account is long.
    'skip-charges': { type: 'boolean', default: false },
  },
});
process.env.TEST_DATABASE_URL ??=
  process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const GEN = { allSubscribed: true, multiSubscriptionShare: 0.2 };
const LIMITS = { global: 100, per_endpoint: 25 };

interface Emu {
  proc: ChildProcess;
  url: string;
  key: string;
  gen: { customers: number; subscriptions: number; charges: number };
  control(path: string, body: unknown): Promise<void>;
  stripe: Stripe;
}

async function startEmu(customers: number): Promise<Emu> {
  const proc = spawn('npx', ['tsx', 'bench/emulator-server.ts', String(customers), JSON.stringify(GEN)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    rl.once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`emulator exited ${code}`)));
  });
  const info = JSON.parse(line) as { port: number; key: string; gen: Emu['gen'] };
  const url = `http://127.0.0.1:${info.port}`;
  const control = async (path: string, body: unknown) => {
    const res = await fetch(`${url}/_emulator/${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
  };
  await control('rate_limits', LIMITS);
  await control('latency', { fixed_ms: 100, jitter_ms: 100 }); // 150 ± 50 ms
  const stripe = new Stripe(info.key, {
    host: '127.0.0.1',
    port: info.port,
    protocol: 'http',
    maxNetworkRetries: 3,
    telemetry: false,
  });
  return { proc, url, key: info.key, gen: info.gen, control, stripe };
}

/** Where Settle's database time goes: wall ms per statement shape (the write queue runs one page at a time). */
/** Where Settle's database time goes in the timed run: wall ms per statement shape. */
const profile: QueryProfile = new Map();

async function settleHarness(emu: Emu, opts: { ranges: number; share: number }) {
  const h = await createHarness('postgres', { registry: { stripe: stripeApp } });
  const inst = await h.request('admin', {
    method: 'POST',
    url: '/api/apps/stripe/install',
    payload: {
      settings: { api_budget: { share: opts.share, ...LIMITS }, backfill_ranges: opts.ranges },
    },
  });
  if (inst.statusCode !== 200) throw new Error(`install: ${inst.body}`);
  return h;
}

async function connection(h: Harness): Promise<Connection | undefined> {
  const r = await h.platform.db.query<{ data: Connection }>(
    `SELECT data FROM app_records WHERE workspace_id = $1 AND app_id = 'stripe' AND collection = 'connections'
       AND NOT deleted`,
    [h.workspace.id],
  );
  return r.rows[0]?.data;
}

async function connect(h: Harness, emu: Emu): Promise<number> {
  const t0 = Date.now();
  const res = await h.request('admin', {
    method: 'POST',
    url: '/api/apps/stripe/actions/connect',
    payload: { api_key: emu.key, api_base: emu.url },
  });
  if (res.statusCode !== 200) throw new Error(`connect: ${res.body}`);
  return t0;
}

async function waitDone(h: Harness, label: string, coreOnly = false): Promise<Connection> {
  let lastPrint = 0;
  for (;;) {
    const c = await connection(h);
    if (c?.sync.state === 'done') return c;
    if (coreOnly && c?.sync.phase_times?.['customers+subscriptions']?.[1]) return c;
    if (Date.now() - lastPrint > 5000) {
      lastPrint = Date.now();
      const st = (
        await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/status' })
      ).json() as { connections: { sync: { objects: Record<string, { count: number }> } }[] };
      const o = st.connections[0]?.sync.objects ?? {};
      process.stdout.write(
        `  ${label}: ${c?.sync.phase ?? '-'} ${Object.entries(o)
          .map(([k, v]) => `${k}=${v.count}`)
          .join(' ')}\n`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

const stripeAttrs = (attrs: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(attrs)
      .filter(([k]) => k.startsWith('stripe_'))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );

async function attributesByEmail(h: Harness): Promise<Map<string, Record<string, unknown>>> {
  const r = await h.platform.db.query<{ email: string; custom_attributes: Record<string, unknown> }>(
    `SELECT email, custom_attributes FROM contacts WHERE workspace_id = $1 AND email LIKE '%@bench.example'`,
    [h.workspace.id],
  );
  return new Map(r.rows.map((x) => [x.email, stripeAttrs(x.custom_attributes)]));
}

interface RunResult {
  h: Harness;
  coreMs: number;
  chargesMs: number;
  totalMs: number;
  requests: number;
  rateLimited: number;
  byEndpoint: Record<string, number>;
  account: string;
}

/** One backfill in this process, timed per phase from the connection's own phase times. */
async function timedRun(
  emu: Emu,
  opts: { ranges: number; share: number; profile?: boolean; coreOnly?: boolean },
) {
  const h = await settleHarness(emu, opts);
  if (opts.profile) profileQueries(h.platform.db, 70, profile);
  const account = (await emu.stripe.accounts.retrieveCurrent()).id;
  requestStats.delete(account);
  h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 250, concurrency: 2 });
  const t0 = await connect(h, emu);
  const conn = await waitDone(h, `ranges=${opts.ranges}`, opts.coreOnly);
  const totalMs = Date.now() - t0;
  const times = conn.sync.phase_times ?? {};
  const core = times['customers+subscriptions'];
  const charges = times.charges;
  const stats = requestStats.get(account);
  return {
    h,
    // Core: from connect (the job enqueued) to the end of customers+subscriptions, catalog included.
    coreMs: (core?.[1] ?? 0) - t0,
    chargesMs: (charges?.[1] ?? 0) - (charges?.[0] ?? 0),
    totalMs,
    requests: stats?.requests ?? 0,
    rateLimited: stats?.rateLimited ?? 0,
    byEndpoint: { ...stats?.byEndpoint },
    account,
  } satisfies RunResult;
}

const fmt = (n: number, d = 1) => n.toFixed(d);

/** The bound: the fewest pages the strategy needs at 100/s overall and 25/s per endpoint. */
function bound(pagesByEndpoint: number[]): number {
  const total = pagesByEndpoint.reduce((a, b) => a + b, 0);
  return Math.max(total / LIMITS.global, ...pagesByEndpoint.map((p) => p / LIMITS.per_endpoint));
}

/** Attributes that come from charges: left out of the check when the charges phase was not waited for. */
const FROM_CHARGES = ['stripe_last_payment_at', 'stripe_last_payment_status', 'stripe_total_spend'];

async function checkSample(h: Harness, emu: Emu, n: number, sample: number, coreOnly: boolean) {
  await emu.control('rate_limits', {});
  await emu.control('latency', { fixed_ms: 0, jitter_ms: 0 });
  const got = await attributesByEmail(h);
  const products = new Map((await emu.stripe.products.list({ limit: 100 })).data.map((p) => [p.id, p]));
  const coupons = new Map((await emu.stripe.coupons.list({ limit: 100 })).data.map((c) => [c.id, c]));
  const account = await emu.stripe.accounts.retrieveCurrent();
  let bad = 0;
  const examples: string[] = [];
  const step = Math.max(1, Math.floor(n / sample));
  let checked = 0;
  for (let i = 0; i < n; i += step) {
    const email = `customer${i}@bench.example`;
    const [customer] = (
      await emu.stripe.customers.list({
        email,
        expand: ['data.invoice_settings.default_payment_method', 'data.default_source'],
      })
    ).data;
    if (!customer) throw new Error(`emulator has no ${email}`);
    const subscriptions = (
      await emu.stripe.subscriptions.list({
        customer: customer.id,
        status: 'all',
        limit: 100,
        expand: ['data.default_payment_method', 'data.discounts'],
      })
    ).data;
    const charges = (await emu.stripe.charges.list({ customer: customer.id, limit: 100 })).data;
    const pm = customer.invoice_settings?.default_payment_method;
    const expected = stripeAttrs(
      Object.fromEntries(
        Object.entries(
          deriveAttributes({
            customer,
            subscriptions,
            paymentMethods: [
              ...(typeof pm === 'object' && pm ? [pm] : []),
              ...subscriptions
                .map((s) => s.default_payment_method)
                .filter((p): p is Stripe.PaymentMethod => typeof p === 'object' && p !== null),
            ],
            charges,
            products,
            coupons,
            now: Math.floor(Date.now() / 1000),
            accountId: account.id,
            livemode: false,
          }),
        ).filter(([, v]) => v !== null),
      ),
    );
    checked++;
    const actual = { ...got.get(email) };
    if (coreOnly)
      for (const k of FROM_CHARGES) {
        delete actual[k];
        delete expected[k];
      }
    if (JSON.stringify(actual) !== JSON.stringify(expected)) {
      bad++;
      if (examples.length < 3)
        examples.push(`${email}: got ${JSON.stringify(actual)} want ${JSON.stringify(expected)}`);
    }
  }
  const withId = [...got.values()].filter((a) => a.stripe_id).length;
  await emu.control('rate_limits', LIMITS);
  await emu.control('latency', { fixed_ms: 100, jitter_ms: 100 });
  return { checked, bad, examples, withId };
}

async function killAndResume(emu: Emu, ranges: number, share: number) {
  // Uninterrupted reference.
  const ref = await timedRun(emu, { ranges, share });
  const want = await attributesByEmail(ref.h);
  await ref.h.close();

  const h = await settleHarness(emu, { ranges, share });
  const spawnWorker = async () => {
    const child = spawn('npx', ['tsx', 'bench/sync-worker.ts'], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: {
        ...process.env,
        SYNC_DATABASE_URL: h.testDb.url,
        SYNC_MASTER_KEY: testMasterKey.toString('hex'),
        SYNC_WORKSPACE: h.workspace.id,
      },
    });
    await new Promise<void>((resolve) =>
      createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', () => resolve()),
    );
    return child;
  };
  const status = async () =>
    (
      (await h.request('admin', { method: 'GET', url: '/api/apps/stripe/views/status' })).json() as {
        connections: { sync: { complete: boolean; pages_done: number; state: string } }[];
      }
    ).connections[0]?.sync;
  const first = await spawnWorker();
  await connect(h, emu);
  const expectedPages = Math.ceil(emu.gen.customers / 100) + Math.ceil(emu.gen.subscriptions / 100);
  for (;;) {
    const st = await status();
    if ((st?.pages_done ?? 0) >= expectedPages * 0.4) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  // SIGKILL to the whole tsx process group member that runs the worker: npx → tsx → node.
  killTree(first.pid as number);
  await new Promise((r) => setTimeout(r, 500));
  const afterKill = await status();
  const second = await spawnWorker();
  await waitDone(h, 'resumed');
  const resumed = await status();
  killTree(second.pid as number, 'SIGTERM');
  const got = await attributesByEmail(h);
  let diff = 0;
  for (const [email, attrs] of want) if (JSON.stringify(got.get(email)) !== JSON.stringify(attrs)) diff++;
  await h.close();
  return { afterKill, resumed, contacts: want.size, got: got.size, diff };
}

function killTree(pid: number, signal: NodeJS.Signals = 'SIGKILL') {
  // npx and tsx each start a child: kill the descendants too, by pid, deepest first.
  const out = spawnSyncText('pgrep', ['-P', String(pid)]);
  for (const child of out.split('\n').filter(Boolean)) killTree(Number(child), signal);
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}
function spawnSyncText(cmd: string, a: string[]): string {
  try {
    return execFileSync(cmd, a, { encoding: 'utf8' });
  } catch {
    return '';
  }
}

const n = Number(args.customers);
const ranges = Number(args.ranges);
const share = Number(args.share);
const load0 = loadavg();
console.log(
  `Stripe sync benchmark: ${n} customers, ${ranges} ranges per type, budget ${share * 100}% of ` +
    `${LIMITS.global}/s global and ${LIMITS.per_endpoint}/s per endpoint, latency 150 ± 50 ms; ` +
    `load ${load0.map((l) => fmt(l, 2)).join(' ')}`,
);

const emu = await startEmu(n);
try {
  console.log(`emulator: ${JSON.stringify(emu.gen)}`);
  const coreOnly = args['skip-charges'];
  const main = await timedRun(emu, { ranges, share, profile: true, coreOnly });
  const coreObjects = emu.gen.customers + emu.gen.subscriptions;
  const cusPages = Math.ceil(emu.gen.customers / 100);
  const subPages = Math.ceil(emu.gen.subscriptions / 100);
  const chPages = Math.ceil(emu.gen.charges / 100);
  const coreBound = bound([cusPages, subPages]);
  const chargesBound = bound([chPages]);
  const coreS = main.coreMs / 1000;
  console.log(
    `\nparallel: core (customers + subscriptions, every Intercom attribute) ${fmt(coreS)} s, ` +
      `${fmt(coreObjects / coreS, 0)} objects/s; bound ${fmt(coreBound)} s (${cusPages} + ${subPages} pages) → ` +
      `${fmt((100 * coreBound) / coreS)}% of the bound`,
  );
  if (!coreOnly)
    console.log(
      `          charges phase ${fmt(main.chargesMs / 1000)} s for ${emu.gen.charges} charges; bound ` +
        `${fmt(chargesBound)} s → ${fmt((100 * chargesBound * 1000) / main.chargesMs)}% of the bound; total ${fmt(main.totalMs / 1000)} s`,
    );
  console.log(
    `          requests ${main.requests} (${JSON.stringify(main.byEndpoint)}), 429s ${main.rateLimited}`,
  );
  const top = [...profile.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8);
  console.log('database time by statement (wall ms, calls):');
  for (const [shape, p] of top)
    console.log(`  ${fmt(p.ms, 0).padStart(8)} ${String(p.n).padStart(7)}  ${shape}`);

  const sample = await checkSample(main.h, emu, emu.gen.customers, Number(args.sample), coreOnly);
  console.log(
    `correctness: ${sample.withId}/${emu.gen.customers} contacts carry stripe_id; ${sample.checked} sampled, ` +
      `${sample.bad} differ from a derivation from the emulator's state`,
  );
  for (const e of sample.examples) console.log(`  ${e}`);
  // A run not waited for to the end is stopped at its next page (as the tests stop one).
  backfillFaults.failAfterPages = 1;
  await main.h.platform.jobs.stopAll().catch(() => undefined);
  backfillFaults.failAfterPages = null;
  await main.h.close().catch(() => undefined);

  if (!args['skip-baseline']) {
    const bn = Number(args['baseline-customers']);
    const bemu = await startEmu(bn);
    try {
      const base = await timedRun(bemu, { ranges: 1, share, coreOnly: true });
      const bObjects = bemu.gen.customers + bemu.gen.subscriptions;
      const bRate = bObjects / (base.coreMs / 1000);
      const rate = coreObjects / coreS;
      console.log(
        `\nbaseline (one sequential cursor, ${bn} customers): core ${fmt(base.coreMs / 1000)} s, ` +
          `${fmt(bRate, 0)} objects/s, ${base.requests} requests, 429s ${base.rateLimited} → ` +
          `parallel is ${fmt(rate / bRate, 2)}× the baseline`,
      );
      backfillFaults.failAfterPages = 1;
      await base.h.platform.jobs.stopAll().catch(() => undefined);
      backfillFaults.failAfterPages = null;
      await base.h.close().catch(() => undefined);
    } finally {
      killTree(bemu.proc.pid as number, 'SIGTERM');
    }
  }

  if (!args['skip-kill']) {
    const kn = Number(args['kill-customers']);
    const kemu = await startEmu(kn);
    try {
      const k = await killAndResume(kemu, ranges, share);
      console.log(
        `\nkill -9 mid-run (${kn} customers): after the kill complete=${k.afterKill?.complete} ` +
          `(pages ${k.afterKill?.pages_done}); resumed complete=${k.resumed?.complete}; ` +
          `${k.got}/${k.contacts} contacts, ${k.diff} differ from the uninterrupted run`,
      );
    } finally {
      killTree(kemu.proc.pid as number, 'SIGTERM');
    }
  }
} finally {
  killTree(emu.proc.pid as number, 'SIGTERM');
  console.log(
    `load at the end ${loadavg()
      .map((l) => fmt(l, 2))
      .join(' ')}`,
  );
}
process.exit(0);
