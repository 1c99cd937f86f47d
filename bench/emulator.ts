// Benchmark: pages per second of customers.list (limit 100, two expansions) over a generated 100,000-customer
// account. Usage: npm run bench:emulator [-- --customers N --cursors N --profile DIR]
// (--profile writes the server process's CPU profile into DIR, for `node --cpu-prof`-style analysis.)
//
// The emulator runs in its own process (bench/emulator-server.ts, as `npx settle emulator` does). Walks, in this order, each covering the
// whole list split by `created` across concurrent cursors (as Settle's backfill does):
//   cold  - raw HTTP, the first time each page is asked for: every object is expanded and serialized (the
//           uncached path, plus filling the cache). This is the baseline the cache is judged against, and what a
//           first sync against a freshly started emulator sees.
//   warm  - the same walk again: pages come from the serialized-JSON cache.
//   sdk   - the same walk through the official SDK, which parses every page (what Settle's sync sees).
//   sdk1  - the SDK with a single cursor: one request at a time, so it measures a page's round trip.
// The raw client reads only the end of each body (has_more and the last id) and fully parses every 25th page, so
// it costs little and the server's rate shows; the server's own CPU time per page is reported too, which load
// from other processes distorts far less than wall time.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Stripe from 'stripe';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const customers = arg('customers', 100_000);
const cursors = arg('cursors', 4);
const TARGET = 300;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const EXPAND = ['data.invoice_settings.default_payment_method', 'data.subscriptions'];

const profileIndex = process.argv.indexOf('--profile');
const profileDir = profileIndex >= 0 ? process.argv[profileIndex + 1] : undefined;
const server = spawn(
  process.execPath,
  [
    ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []),
    '--import',
    'tsx',
    fileURLToPath(new URL('./emulator-server.ts', import.meta.url)),
    String(customers),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const ready = await new Promise<string>((resolve, reject) => {
  createInterface({ input: server.stdout }).once('line', resolve);
  server.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
});
const { port, key, gen } = JSON.parse(ready) as {
  port: number;
  key: string;
  gen: { customers: number; subscriptions: number; charges: number; refunds: number; ms: number };
};
console.log(
  `generated ${gen.customers} customers, ${gen.subscriptions} subscriptions, ${gen.charges} charges, ${gen.refunds} refunds in ${(gen.ms / 1000).toFixed(1)} s`,
);
/** The server process's CPU time so far (user + system, from /proc: Linux only) and resident memory. */
function serverCpu(): { cpu_us: number; rss_mb: number } {
  const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1];
  return { cpu_us: (ticks * 1e6) / CLOCK_TICKS, rss_mb: Math.round(Number(rss) / 1024) };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: cursors });
let rawPages = 0;

/** One page over plain HTTP: the envelope's `has_more` and the last customer's id are read from the end of
 * the body; every 25th page is parsed whole and checked. */
function rawPage(query: string): Promise<{ last?: string; more: boolean; rows: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(
        {
          host: '127.0.0.1',
          port,
          path: `/v1/customers?${query}`,
          agent,
          headers: { authorization: `Bearer ${key}` },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            size += c.length;
          });
          res.on('end', () => {
            try {
              if (res.statusCode !== 200 || size !== Number(res.headers['content-length'])) {
                throw new Error(
                  `status ${res.statusCode}, ${size} of ${res.headers['content-length']} bytes`,
                );
              }
              if (++rawPages % 25 === 0) {
                const page = JSON.parse(Buffer.concat(chunks).toString()) as Stripe.ApiList<Stripe.Customer>;
                const last = page.data[page.data.length - 1];
                const sub = page.data.find((c) => c.subscriptions?.data.length);
                if (!sub || typeof sub.subscriptions?.data[0]?.items.data[0]?.price !== 'object') {
                  throw new Error('a parsed page lacks the expanded subscriptions');
                }
                return resolve({ last: last?.id, more: page.has_more, rows: page.data.length });
              }
              // The last element's opening and the envelope's tail fit in the last 16 KB (an element is ~4 KB).
              const tail = Buffer.concat(chunks.slice(-2)).subarray(-16_384).toString();
              const at = tail.lastIndexOf('"has_more":');
              const li = tail.lastIndexOf('{"id":"cus_');
              if (at < 0 || li < 0) throw new Error('page tail not recognised');
              const last = tail.slice(li + 7, tail.indexOf('"', li + 7));
              resolve({ last, more: tail.startsWith('true', at + 11), rows: -1 });
            } catch (err) {
              reject(err as Error);
            }
          });
        },
      )
      .on('error', reject);
  });
}

const stripe = new Stripe(key, {
  host: '127.0.0.1',
  port,
  protocol: 'http',
  maxNetworkRetries: 0,
  telemetry: false,
});

type Range = { gte: number; lt: number };
type Walker = (range: Range | undefined) => Promise<number>;

const rawWalk: Walker = async (range) => {
  let pages = 0;
  let after: string | undefined;
  const base = `limit=100&expand[0]=${EXPAND[0]}&expand[1]=${EXPAND[1]}${
    range ? `&created[gte]=${range.gte}&created[lt]=${range.lt}` : ''
  }`;
  for (;;) {
    const page = await rawPage(after ? `${base}&starting_after=${after}` : base);
    pages++;
    if (!page.more) return pages;
    after = page.last;
  }
};

let sdkRows = 0;
const sdkWalk: Walker = async (range) => {
  let pages = 0;
  let after: string | undefined;
  for (;;) {
    const page = await stripe.customers.list({
      limit: 100,
      expand: EXPAND,
      created: range,
      starting_after: after,
    });
    pages++;
    sdkRows += page.data.length;
    if (!page.has_more) return pages;
    after = page.data[page.data.length - 1]?.id;
  }
};

const newest = (await stripe.customers.list({ limit: 1 })).data[0]?.created ?? Math.floor(Date.now() / 1000);
// The generator spreads customers evenly over the three years before "now": equal slices of that span are equal
// shares of the work. The first slice reaches back to 0, so nothing is missed (the walk checks the count).
const start = newest - 3 * 365 * 86_400;
function ranges(n: number): Range[] {
  const step = Math.ceil((newest + 1 - start) / n);
  return Array.from({ length: n }, (_, i) => ({
    gte: i === 0 ? 0 : start + i * step,
    lt: i === n - 1 ? newest + 1 : start + (i + 1) * step,
  }));
}

interface Phase {
  cursors: number;
  pages: number;
  seconds: number;
  pages_per_second: number;
  server_cpu_ms_per_page: number;
  client_cpu_ms_per_page: number;
}

async function phase(walk: Walker, n: number): Promise<Phase> {
  const cpu0 = serverCpu();
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const counts = await Promise.all(ranges(n).map((r) => walk(r)));
  const seconds = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  const cpu1 = serverCpu();
  const pages = counts.reduce((a, b) => a + b, 0);
  return {
    cursors: n,
    pages,
    seconds: Number(seconds.toFixed(2)),
    pages_per_second: Math.round(pages / seconds),
    server_cpu_ms_per_page: Number(((cpu1.cpu_us - cpu0.cpu_us) / 1000 / pages).toFixed(2)),
    client_cpu_ms_per_page: Number(((client.user + client.system) / 1000 / pages).toFixed(2)),
  };
}

const cold = await phase(rawWalk, cursors);
const warm = await phase(rawWalk, cursors);
sdkRows = 0;
const sdk = await phase(sdkWalk, cursors);
if (sdkRows !== customers) throw new Error(`the SDK walk saw ${sdkRows} customers, not ${customers}`);
const sdk1 = await phase(sdkWalk, 1);
const { rss_mb } = serverCpu();

const result = {
  date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
  load_average: os.loadavg().map((l) => Number(l.toFixed(1))),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  customers,
  generate_seconds: gen.ms / 1000,
  server_rss_mb_after: rss_mb,
  cold,
  warm,
  sdk,
  sdk1,
  ratios: {
    warm_vs_cold_pages_per_second: Number((warm.pages_per_second / cold.pages_per_second).toFixed(1)),
    cold_vs_warm_server_cpu_per_page: Number(
      (cold.server_cpu_ms_per_page / warm.server_cpu_ms_per_page).toFixed(1),
    ),
  },
};
console.log(JSON.stringify(result, null, 2));
const verdict = (p: Phase): string => (p.pages_per_second >= TARGET ? 'meets' : 'misses');
console.log(
  `target ${TARGET} pages/s: warm ${warm.pages_per_second} (${verdict(warm)}), cold ${cold.pages_per_second} (${verdict(cold)}), ` +
    `SDK ${cursors} cursors ${sdk.pages_per_second} (${verdict(sdk)}), SDK 1 cursor ${sdk1.pages_per_second}; ` +
    `cache: ${result.ratios.warm_vs_cold_pages_per_second}× the uncached rate`,
);
const exited = new Promise((resolve) => server.once('exit', resolve));
server.kill('SIGTERM');
await exited;
process.exit(0);
