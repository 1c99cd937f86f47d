// What a newcomer gets from `npm start` on an empty data directory (README, issue #5 item 4): the demo workspace
// with its admin and teammate logins printed (the teammate's since QA: the demo could not be tried as one), the built-in Stripe emulator connected and synced, so demo contacts carry live
// stripe_* attributes, billing segments on those attributes, and on a second start the same workspace, not a
// second one. Runs the real command (src/cli/main.ts start) in a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from './helpers/settle-cluster.ts';

interface Started {
  proc: ChildProcess;
  base: string;
  login: { email: string; password: string };
  teammateLogin: { email: string; password: string };
  output: () => string;
}

const dataDir = mkdtempSync(join(tmpdir(), 'settle-start-'));
const running: ChildProcess[] = [];

async function start(): Promise<Started> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    SETTLE_EMULATOR_PORT: String(await freePort()),
    SETTLE_DATA_DIR: dataDir,
    SETTLE_LOG_LEVEL: 'warn',
  };
  // The embedded database, as on a newcomer's machine.
  delete env.DATABASE_URL;
  delete env.SETTLE_MASTER_KEY;
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'start'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(proc);
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += String(d)));
  proc.stderr?.on('data', (d: Buffer) => (out += String(d)));
  const deadline = Date.now() + 90_000;
  // The banner is written at once: both lines are there when the admin's is.
  while (!/Demo admin login: (\S+) \/ (\S+)/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`settle start exited ${proc.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`settle start printed no login in 90 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const [, email, password] = /Demo admin login: (\S+) \/ (\S+)/.exec(out)!;
  const [, mateEmail, matePassword] = /Demo teammate login: (\S+) \/ (\S+)/.exec(out) ?? [];
  return {
    proc,
    base: `http://127.0.0.1:${port}`,
    login: { email: email!, password: password! },
    teammateLogin: { email: mateEmail ?? '(not printed)', password: matePassword ?? '' },
    output: () => out,
  };
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await exited;
}

/** Signs in as the printed demo admin (or teammate); answers a JSON GET helper with the session. */
async function signIn(s: Started, login = s.login) {
  const res = await fetch(`${s.base}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(login),
  });
  expect(res.status).toBe(200);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  return async <T>(path: string): Promise<T> => {
    const r = await fetch(`${s.base}${path}`, { headers: { cookie } });
    expect(r.status, `${path}: ${await r.clone().text()}`).toBe(200);
    return (await r.json()) as T;
  };
}

describe('npm start on an empty data directory', () => {
  afterAll(async () => {
    for (const p of running) await stop(p);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    'runs the demo: Stripe connected and synced, attributes and billing segments, and the same on restart',
    { timeout: 240_000 },
    async () => {
      const first = await start();
      expect(first.output()).toContain('Stripe: the emulator is connected and syncing');
      const get = await signIn(first);

      // The demo's teammate (Sam) can sign in with the printed login, as a teammate; both logins are kept in the
      // credentials file, readable by its owner only.
      expect(first.teammateLogin.email).toBe('sam@settle.local');
      expect(first.teammateLogin.password).not.toBe(first.login.password);
      const asSam = await signIn(first, first.teammateLogin);
      expect(await asSam<{ teammate: { role: string } }>('/api/me')).toMatchObject({
        teammate: { email: 'sam@settle.local', role: 'teammate' },
      });
      const file = join(dataDir, 'demo-admin.json');
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
        ...first.login,
        teammate: first.teammateLogin,
      });

      type Contact = { id: string; email: string; custom_attributes: Record<string, unknown> };
      const contact = async (email: string) =>
        (await get<{ data: Contact[] }>(`/api/contacts?email=${encodeURIComponent(email)}`)).data[0];
      // The sync runs in the background: Alan (past due in the demo's Stripe data) gets his attributes shortly.
      let alan = await contact('alan@example.com');
      for (let i = 0; i < 600 && alan?.custom_attributes.stripe_subscription_status === undefined; i++) {
        await new Promise((r) => setTimeout(r, 100));
        alan = await contact('alan@example.com');
      }
      expect(alan?.custom_attributes).toMatchObject({
        stripe_subscription_status: 'past_due',
        stripe_delinquent: true,
      });
      const ada = await contact('ada@example.com');
      expect(ada?.custom_attributes).toMatchObject({
        stripe_plan: 'Pro',
        stripe_subscription_status: 'active',
      });

      type Status = { connections: { livemode: boolean; primary: boolean; sync: { complete: boolean } }[] };
      let status = await get<Status>('/api/apps/stripe/views/status');
      // Timeline events come from the charges, the sync's last phase.
      for (let i = 0; i < 600 && !status.connections[0]?.sync.complete; i++) {
        await new Promise((r) => setTimeout(r, 100));
        status = await get<Status>('/api/apps/stripe/views/status');
      }
      expect(status.connections).toHaveLength(1);
      expect(status.connections[0]).toMatchObject({
        livemode: false,
        primary: true,
        sync: { complete: true },
      });

      // Timeline events from the first minute: the account's last 30 days of events, imported once the sync is
      // done (the demo's Stripe history: renewals, a declined renewal, a cancellation, a refund, a trial).
      type History = { connections: { timeline_history: { done: boolean; events: number } | null }[] };
      let history = await get<History>('/api/apps/stripe/views/status');
      for (let i = 0; i < 300 && !history.connections[0]?.timeline_history?.done; i++) {
        await new Promise((r) => setTimeout(r, 100));
        history = await get<History>('/api/apps/stripe/views/status');
      }
      expect(history.connections[0]?.timeline_history).toMatchObject({ done: true });
      const names = async (email: string) => {
        const c = await contact(email);
        const r = await get<{ events: { event_name: string }[] }>(
          `/api/contacts/${c!.id}/events?per_page=50`,
        );
        return r.events.map((e) => e.event_name).sort();
      };
      expect(await names('ada@example.com')).toEqual(['charged', 'invoice_created']);
      expect(await names('alan@example.com')).toEqual(['charge_failed', 'invoice_created']);
      expect(await names('grace@example.com')).toEqual(['created_subscription']);
      expect(await names('margaret@example.com')).toEqual(['deleted_subscription']);
      expect(await names('linus@example.com')).toEqual(['charge_refunded', 'charged', 'invoice_created']);
      expect(await names('katherine@example.com')).toEqual([]);

      const segments = await get<{ segments: { name: string }[] }>('/api/segments');
      expect(segments.segments.map((s) => s.name).sort()).toEqual([
        'Churned',
        'Past due',
        'Paying Pro customers',
        'Trialing',
      ]);
      const alanIn = await get<{ data: { name: string }[] }>(`/api/contacts/${alan!.id}/segments`);
      expect(alanIn.data.map((s) => s.name)).toEqual(['Past due']);
      const adaIn = await get<{ data: { name: string }[] }>(`/api/contacts/${ada!.id}/segments`);
      expect(adaIn.data.map((s) => s.name)).toEqual(['Paying Pro customers']);
      await stop(first.proc);

      // Started again on the same directory: the same login, one Stripe account, no second set of segments.
      const second = await start();
      expect(second.login).toEqual(first.login);
      expect(second.teammateLogin).toEqual(first.teammateLogin);
      const again = await signIn(second);
      expect(
        (await again<{ connections: unknown[] }>('/api/apps/stripe/views/status')).connections,
      ).toHaveLength(1);
      expect((await again<{ segments: unknown[] }>('/api/segments')).segments).toHaveLength(4);
      // The history is imported once: a restart adds no second copy.
      const adaAgain = await again<{ events: unknown[] }>(`/api/contacts/${ada!.id}/events?per_page=50`);
      expect(adaAgain.events).toHaveLength(2);
      await stop(second.proc);
    },
  );
});
