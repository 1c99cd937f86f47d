// Benchmark: pages per second of customers.list (limit 100, two expansions) over a generated 100,000-customer
// account, through the official SDK. Usage: npm run bench:emulator [-- --customers N --seconds S]
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const customers = arg('customers', 100_000);
const cursors = arg('cursors', 4);
const server = spawn(
  process.execPath,
  ['--import', 'tsx', fileURLToPath(new URL('./emulator-server.ts', import.meta.url)), String(customers)],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const ready = (await new Promise<string>((resolve, reject) => {
  createInterface({ input: server.stdout }).once('line', resolve);
  server.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
})) as string;
const { port, key, gen } = JSON.parse(ready) as {
  port: number;
  key: string;
  gen: { customers: number; subscriptions: number; charges: number; refunds: number; ms: number };
};
console.log(
  `generated ${gen.customers} customers, ${gen.subscriptions} subscriptions, ${gen.charges} charges, ${gen.refunds} refunds in ${(gen.ms / 1000).toFixed(1)} s`,
);

const stripe = new Stripe(key, {
  host: '127.0.0.1',
  port,
  protocol: 'http',
  maxNetworkRetries: 0,
  telemetry: false,
});
const expand = ['data.invoice_settings.default_payment_method', 'data.subscriptions'];

async function walk(created?: Stripe.RangeQueryParam): Promise<{ pages: number; rows: number }> {
  let pages = 0;
  let rows = 0;
  let startingAfter: string | undefined;
  for (;;) {
    const page = await stripe.customers.list({ limit: 100, expand, created, starting_after: startingAfter });
    pages++;
    rows += page.data.length;
    if (!page.has_more) return { pages, rows };
    startingAfter = page.data[page.data.length - 1]?.id;
  }
}

// Warm-up, then one full sequential walk, then the same range split across concurrent cursors (as Settle's
// backfill does).
await stripe.customers.list({ limit: 100, expand });
let t0 = performance.now();
const seq = await walk();
const seqSeconds = (performance.now() - t0) / 1000;

const first = (await stripe.customers.list({ limit: 1, ending_before: undefined })).data[0];
const newest = first?.created ?? Math.floor(Date.now() / 1000);
const oldest = newest - 3 * 365 * 86_400;
const step = Math.ceil((newest - oldest + 1) / cursors);
t0 = performance.now();
const parts = await Promise.all(
  Array.from({ length: cursors }, (_, i) =>
    walk({ gte: oldest + i * step, lt: i === cursors - 1 ? newest + 1 : oldest + (i + 1) * step }),
  ),
);
const parSeconds = (performance.now() - t0) / 1000;
const parPages = parts.reduce((a, p) => a + p.pages, 0);
const parRows = parts.reduce((a, p) => a + p.rows, 0);

// The same pages over plain keep-alive HTTP, parsed with JSON.parse: the server's own rate, without the SDK.
const agent = new http.Agent({ keepAlive: true });
const rawPage = (after: string | undefined): Promise<{ last?: string; more: boolean }> =>
  new Promise((resolve, reject) => {
    const q = `limit=100&expand[0]=${expand[0]}&expand[1]=${expand[1]}${after ? `&starting_after=${after}` : ''}`;
    http
      .get(
        {
          host: '127.0.0.1',
          port,
          path: `/v1/customers?${q}`,
          agent,
          headers: { authorization: `Bearer ${key}` },
        },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => {
            const page = JSON.parse(body) as { data: Array<{ id: string }>; has_more: boolean };
            resolve({ last: page.data[page.data.length - 1]?.id, more: page.has_more });
          });
        },
      )
      .on('error', reject);
  });
t0 = performance.now();
let rawPages = 0;
let cursor: string | undefined;
for (;;) {
  const p = await rawPage(cursor);
  rawPages++;
  if (!p.more) break;
  cursor = p.last;
}
const rawSeconds = (performance.now() - t0) / 1000;

const result = {
  date: new Date().toISOString().slice(0, 10),
  load_average: os.loadavg().map((l) => Number(l.toFixed(1))),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  generate_seconds: gen.ms / 1000,
  sequential: {
    pages: seq.pages,
    rows: seq.rows,
    seconds: Number(seqSeconds.toFixed(2)),
    pages_per_second: Math.round(seq.pages / seqSeconds),
  },
  raw_http_sequential: {
    pages: rawPages,
    seconds: Number(rawSeconds.toFixed(2)),
    pages_per_second: Math.round(rawPages / rawSeconds),
  },
  concurrent: {
    cursors,
    pages: parPages,
    rows: parRows,
    seconds: Number(parSeconds.toFixed(2)),
    pages_per_second: Math.round(parPages / parSeconds),
  },
};
console.log(JSON.stringify(result, null, 2));
server.kill('SIGTERM');
