// Snapshots, demo data, the state file and the CLI entry point.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type Stripe from 'stripe';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestEmulator } from './test-support.ts';

const FIXTURE = join(import.meta.dirname, '../../test/fixtures/stripe/agent-eval-fixture.json');
const dir = mkdtempSync(join(tmpdir(), 'emu-state-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('snapshot loading', () => {
  it('loads the agent-eval fixture: clock at its `now`, objects filled out to full shapes', async () => {
    const emu = await startTestEmulator({ snapshot: FIXTURE, key: 'sk_test_fixture' });
    try {
      expect(emu.clock.now()).toBe(1_795_608_000);
      const customers = await emu.stripe.customers.list({ limit: 100 });
      expect(customers.data).toHaveLength(6);
      const ada = (await emu.stripe.customers.search({ query: "email:'ada@example.com'" }))
        .data[0] as Stripe.Customer;
      expect(ada).toMatchObject({
        id: 'cus_ada01',
        balance: -500,
        livemode: false,
        shipping: null,
        invoice_settings: { default_payment_method: 'pm_ada', footer: null },
      });
      const subs = await emu.stripe.subscriptions.list({
        customer: 'cus_ada01',
        expand: ['data.default_payment_method'],
      });
      const item = subs.data[0]?.items.data[0] as Stripe.SubscriptionItem;
      expect(item.price).toMatchObject({ id: 'price_pro_m', unit_amount: 4900, object: 'price' });
      expect(item.current_period_end).toBe(1_797_325_200);
      const all = await emu.stripe.subscriptions.list({ status: 'all', limit: 100 });
      expect(all.data).toHaveLength(5);
      const refund = await emu.stripe.refunds.retrieve('re_cy_aug');
      const charge = await emu.stripe.charges.retrieve(refund.charge as string);
      expect(charge.refunds?.data.map((r) => r.id)).toContain('re_cy_aug');
      const inv = await emu.stripe.invoices.retrieve('in_bob_2026');
      expect(inv).toMatchObject({ status: 'open', amount_remaining: 49000, lines: { object: 'list' } });
      const more = (await emu.control('snapshot', [
        { id: 'cus_extra', object: 'customer', email: 'extra@example.com' },
      ])) as { loaded: number };
      expect(more.loaded).toBe(1);
      expect((await emu.stripe.customers.retrieve('cus_extra')).id).toBe('cus_extra');
      await emu.control('reset', {});
      expect((await emu.stripe.customers.list()).data).toHaveLength(0);
    } finally {
      await emu.close();
    }
  });
});

describe('demo data', () => {
  it('is deterministic and covers every state the sidebar shows', async () => {
    const a = await startTestEmulator({ demo: true });
    const b = await startTestEmulator({ demo: true });
    try {
      const byEmail = async (email: string): Promise<Stripe.Customer> =>
        (await a.stripe.customers.search({ query: `email:'${email}'` })).data[0] as Stripe.Customer;
      const ids = (await a.stripe.customers.list({ limit: 100 })).data.map((c) => c.id);
      expect((await b.stripe.customers.list({ limit: 100 })).data.map((c) => c.id)).toEqual(ids);
      const status = async (email: string): Promise<string[]> => {
        const c = await byEmail(email);
        return (await a.stripe.subscriptions.list({ customer: c.id, status: 'all' })).data.map(
          (s) => s.status,
        );
      };
      expect(await status('ada@example.com')).toEqual(['active']);
      expect(await status('grace@example.com')).toEqual(['trialing']);
      expect(await status('alan@example.com')).toEqual(['past_due']);
      expect(await status('margaret@example.com')).toEqual(['canceled']);
      expect(await status('linus@example.com')).toEqual(['active']);
      expect(await status('katherine@example.com')).toEqual([]);
      expect((await byEmail('ada@example.com')).metadata.user_id).toBe('user_ada');
      expect((await byEmail('katherine@example.com')).balance).toBeGreaterThan(0);
      const alan = await byEmail('alan@example.com');
      const alanCharges = (await a.stripe.charges.list({ customer: alan.id })).data;
      expect(alanCharges[0]).toMatchObject({ status: 'failed', failure_code: 'card_declined' });
      const linus = await byEmail('linus@example.com');
      const linusSub = (await a.stripe.subscriptions.list({ customer: linus.id, expand: ['data.discounts'] }))
        .data[0] as Stripe.Subscription;
      expect(linusSub.items.data[0]?.price.recurring?.interval).toBe('year');
      const coupon = (linusSub.discounts[0] as Stripe.Discount).source.coupon;
      expect(coupon).toBe('LOYAL20');
      const linusCharges = (
        await a.stripe.charges.list({ customer: linus.id, expand: ['data.payment_method_details'] })
      ).data;
      expect(linusCharges.some((c) => c.refunded)).toBe(true);
      expect(linusCharges[0]?.payment_method_details?.card?.brand).toBe('mastercard');
      const products = (await a.stripe.products.list()).data.map((p) => p.name).sort();
      expect(products).toEqual(['Pro', 'Starter', 'Team']);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('CLI', () => {
  it('runEmulatorCli prints the URL and key, serves the API, and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('./src/emulator/index.ts').then((m) => m.runEmulatorCli(['--port', '0', '--key', 'sk_test_cli', '--demo']))`,
      ],
      { cwd: join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const out: string[] = [];
    for await (const line of lines) {
      out.push(line);
      if (out.length === 2) break;
    }
    const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out[0] ?? '')?.[1];
    expect(url).toBeDefined();
    expect(out[1]).toContain('sk_test_cli');
    const res = await fetch(`${url}/v1/customers?email=ada@example.com`, {
      headers: { authorization: 'Bearer sk_test_cli' },
    });
    expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(1);
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('state file', () => {
  it('a restarted emulator keeps its objects', async () => {
    const stateFile = join(dir, 'state.json');
    const first = await startTestEmulator({ stateFile });
    const c = await first.stripe.customers.create({ email: 'persist@example.com' });
    const ep = await first.stripe.webhookEndpoints.create({
      url: 'http://127.0.0.1:9/x',
      enabled_events: ['*'],
    });
    await first.close();
    const second = await startTestEmulator({ stateFile });
    try {
      expect((await second.stripe.customers.retrieve(c.id)).id).toBe(c.id);
      expect((await second.stripe.webhookEndpoints.list()).data.map((e) => e.id)).toEqual([ep.id]);
      expect((await second.stripe.events.list({ type: 'customer.created' })).data).toHaveLength(1);
    } finally {
      await second.close();
    }
  });
});
