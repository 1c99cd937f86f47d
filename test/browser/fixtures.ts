// Data and helpers for the browser tests: an inbox that looks like a real one (several contacts, attributes with
// Stripe ones, timeline events, notes) on top of the API test harness.
export { CHROMIUM, chromiumAvailable, launchChromium } from '../helpers/chromium.ts';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { teammateRepository } from '../../src/platform/teammates/repository.ts';
import { launchChromium } from '../helpers/chromium.ts';
import { createHarness, signUserJwt, type Harness } from '../helpers/harness.ts';

export const PASSWORD = 'correct horse battery';

export async function adminEmail(h: Harness): Promise<string> {
  const row = await teammateRepository.get(h.platform.db, h.workspace.id, h.ids.adminId);
  if (!row) throw new Error('harness admin not found');
  return row.email;
}

/**
 * A PGlite harness with the seeded inbox (`seedInbox`), served on a free port at `base`, the admin's `email` to
 * sign in with, and Chromium: where the inbox and inbox-messenger browser tests start.
 */
export async function startSeededInbox(): Promise<{
  h: Harness;
  browser: Browser;
  base: string;
  email: string;
  adaConversationId: string;
}> {
  const h = await createHarness('pglite');
  try {
    const { adaConversationId } = await seedInbox(h);
    const email = await adminEmail(h);
    await h.server.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(h.server.server.address() as AddressInfo).port}`;
    const browser = await launchChromium();
    return { h, browser, base, email, adaConversationId };
  } catch (e) {
    await h.close();
    throw e;
  }
}

/** A fresh browser profile, failing the test on any page error or dialog (an executed alert()). */
export async function newCheckedPage(
  browser: Browser,
  viewport = { width: 1440, height: 900 },
): Promise<{ page: Page; problems: string[] }> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  return { page, problems };
}

/** Signs in to the inbox at `base` and waits for the conversation list. */
export async function signIn(page: Page, base: string, email: string, timeout: number): Promise<void> {
  await page.goto(`${base}/inbox/`);
  await page.fill('#login-email', email);
  await page.fill('#login-password', PASSWORD);
  await page.click('#login-submit');
  await page.locator('.conv').first().waitFor({ timeout });
}

/**
 * Opens the messenger widget as the harness's signed-in user (Ada, by `data-user-jwt`) on a host page of `base`,
 * as a customer's app would render it, and waits for the home view's greeting.
 */
export async function openWidgetAsAda(page: Page, h: Harness, base: string, timeout: number): Promise<void> {
  const user = await h.request('admin', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}` });
  const externalId = (user.json() as { external_id: string }).external_id;
  const jwt = await signUserJwt(h.messengerSecret, { user_id: externalId, name: 'Ada Lovelace' });
  await page.route(`${base}/host-app.html`, (route) =>
    route.fulfill({
      contentType: 'text/html',
      body: `<!doctype html><title>Host</title><script type="module" src="/messenger/widget.js" data-app-id="${h.workspace.app_id}" data-user-jwt="${jwt}"></script>`,
    }),
  );
  await page.goto(`${base}/host-app.html`);
  await page.locator('[data-testid=settle-launcher]').click();
  await page.locator('.hello', { hasText: 'Hi Ada' }).waitFor({ timeout });
}

async function ok(res: { statusCode: number; body: string }, what: string): Promise<unknown> {
  if (res.statusCode >= 300) throw new Error(`${what} answered ${res.statusCode}: ${res.body}`);
  return res.body ? (JSON.parse(res.body) as unknown) : undefined;
}

const day = 86400;

/**
 * Fills the harness workspace: the messenger user becomes Ada (with plan and Stripe attributes, a timeline and an
 * open conversation started from the messenger), plus a few more customers and one closed conversation.
 * Returns the id of Ada's conversation.
 */
export async function seedInbox(h: Harness): Promise<{ adaConversationId: string }> {
  const now = Math.floor(Date.now() / 1000);
  const attrs: [string, 'string' | 'number' | 'boolean' | 'date', string][] = [
    ['plan', 'string', 'Plan'],
    ['seats', 'number', 'Seats'],
    ['signed_up_at', 'date', 'Signed up'],
    ['beta_tester', 'boolean', 'Beta tester'],
    ['stripe_customer_id', 'string', 'Customer ID'],
    ['stripe_subscription_status', 'string', 'Subscription status'],
    ['stripe_current_period_end', 'date', 'Current period ends'],
    ['stripe_mrr', 'number', 'MRR (USD)'],
  ];
  for (const [name, type, label] of attrs) {
    await ok(
      await h.request('admin', {
        method: 'POST',
        url: '/api/data_attributes',
        payload: { name, type, label },
      }),
      `define ${name}`,
    );
  }
  const ada = h.ids.userContactId;
  await ok(
    await h.request('admin', {
      method: 'PUT',
      url: `/api/contacts/${ada}`,
      payload: {
        name: 'Ada Lovelace',
        custom_attributes: {
          plan: 'Growth (yearly)',
          seats: 12,
          signed_up_at: now - 400 * day,
          beta_tester: true,
          stripe_customer_id: 'cus_Q8xY2kLmN4',
          stripe_subscription_status: 'past_due',
          stripe_current_period_end: now + 9 * day,
          stripe_mrr: 490,
        },
      },
    }),
    'update Ada',
  );
  const events: [string, number, Record<string, string | number | boolean>][] = [
    ['invoice.payment_failed', 2 * 3600, { amount: '$490.00', attempt: 2 }],
    // As the Stripe app records a refund (amounts in major units, test mode).
    [
      'charge_refunded',
      2 * day,
      {
        charge_id: 'ch_refund1',
        amount: 49,
        amount_refunded: 49,
        refund_amount: 49,
        currency: 'usd',
        fully_refunded: true,
        livemode: false,
      },
    ],
    ['exported report', 26 * 3600, { report: 'Revenue by plan' }],
    ['invited teammate', 3 * day, { seats: 12 }],
    ['signed up', 400 * day, { source: 'google' }],
  ];
  for (const [event_name, ago, metadata] of events) {
    await ok(
      await h.request('admin', {
        method: 'POST',
        url: '/api/events',
        payload: { event_name, contact_id: ada, created_at: now - ago, metadata },
      }),
      `event ${event_name}`,
    );
  }

  const others = [
    {
      name: 'Grace Hopper',
      email: 'grace@example.com',
      messages: [
        { from: 'contact', body: 'When does my trial end, and what will I be charged after it?' },
        { from: 'teammate', body: 'Hi Grace! Your trial ends on Friday; after that it’s $49/month.' },
        { from: 'system', body: 'Trial ends in 3 days' },
        { from: 'card', body: 'Invoice INV-0042 · $49.00 · due Friday' },
        { from: 'contact', body: 'Perfect, thanks. Can I add two more seats before then?' },
      ],
    },
    {
      name: 'Linus Torvalds',
      email: 'linus@example.com',
      messages: [
        { from: 'contact', body: 'Thanks for the refund last month. Can I switch to monthly billing?' },
        {
          from: 'note',
          body: 'He is on the yearly plan with the 20% coupon; check proration before offering.',
        },
      ],
    },
    {
      name: 'Alan Turing',
      email: 'alan@example.com',
      messages: [
        { from: 'contact', body: 'My last payment failed and now my account says past due. What happened?' },
      ],
    },
    {
      name: 'Margaret Hamilton',
      email: 'margaret@example.com',
      closed: true,
      messages: [
        { from: 'contact', body: 'How do I export all my dashboards as PDF?' },
        { from: 'teammate', body: 'Reports → Export → PDF. It includes every dashboard you pick.' },
      ],
    },
  ] as const;
  const ws = h.workspace.id;
  for (const o of others) {
    const contact = (await ok(
      await h.request('admin', {
        method: 'POST',
        url: '/api/contacts',
        payload: { role: 'user', name: o.name, email: o.email, external_id: `user_${o.name.split(' ')[0]}` },
      }),
      `create ${o.name}`,
    )) as { id: string };
    const [first, ...rest] = o.messages;
    const { conversation } = await h.platform.conversations.start(ws, contact.id, {
      authorType: 'contact',
      authorId: contact.id,
      kind: 'comment',
      body: first.body,
    });
    for (const m of rest) {
      await h.platform.conversations.addMessage(ws, conversation.id, {
        authorType:
          m.from === 'contact' ? 'contact' : m.from === 'system' || m.from === 'card' ? 'system' : 'teammate',
        authorId: m.from === 'contact' ? contact.id : m.from === 'system' ? null : h.ids.teammateId,
        kind: m.from === 'note' ? 'note' : m.from === 'card' ? 'card' : 'comment',
        body: m.body,
        ...(m.from === 'card'
          ? { card: { app_id: 'stripe', type: 'invoice', data: { number: 'INV-0042' } } }
          : {}),
      });
    }
    if ('closed' in o && o.closed)
      await h.platform.conversations.update(ws, conversation.id, { state: 'closed' });
  }

  // Last, so it is the most recent: Ada writes from the messenger (signed in to the host app, so verified).
  const started = (await ok(
    await h.request('messenger_user', {
      method: 'POST',
      url: '/messenger/conversations',
      payload: {
        body: 'Hi! Where can I find the invoice for my last payment? I need it for our accountant.',
      },
    }),
    'Ada starts a conversation',
  )) as { id: string };
  return { adaConversationId: started.id };
}
