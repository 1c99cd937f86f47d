// The inbox and the messenger in a real browser (Debian's Chromium through playwright-core): a teammate signs in,
// answers a messenger user, and a visitor on the demo page talks to the inbox live, both ways. Also the widget as a
// signed-in user of the host app sees it, and embedded on another origin. The tests run in order on one inbox (the
// host app's user finds the reply the first test sent). The inbox alone is inbox.test.ts.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../helpers/harness.ts';
import {
  CHROMIUM,
  chromiumAvailable,
  newCheckedPage,
  openWidgetAsAda,
  signIn,
  startSeededInbox,
} from './fixtures.ts';

const SCREENSHOT = '/tmp/settle-inbox.png';
const WIDGET_SCREENSHOT = '/tmp/settle-messenger.png';

const T = 15_000; // generous waits: two shared cores, PGlite and Chromium in one box

if (!chromiumAvailable()) {
  describe('browser tests', () => {
    it.skip(`skipped: ${CHROMIUM} not found (install Debian's chromium; with CI set this fails instead)`, () => {});
  });
} else {
  describe('inbox and messenger in Chromium', () => {
    let h: Harness;
    let browser: Browser;
    let base: string;
    let email: string;
    let adaConversationId: string;

    beforeAll(async () => {
      ({ h, browser, base, email, adaConversationId } = await startSeededInbox());
    });

    afterAll(async () => {
      // The browser first: its open event streams would keep the server from closing.
      await browser?.close();
      await h?.close();
    });

    const newPage = (viewport?: { width: number; height: number }) => newCheckedPage(browser, viewport);

    const login = (page: Page) => signIn(page, base, email, T);

    /** Messages the messenger user sees, through the API. */
    async function messengerBodies(conversationId: string): Promise<string[]> {
      const res = await h.request('messenger_user', {
        method: 'GET',
        url: `/messenger/conversations/${conversationId}`,
      });
      return (res.json() as { messages: { body: string }[] }).messages.map((m) => m.body);
    }

    it(
      'answers a messenger user, and talks live with a visitor on the demo page',
      { timeout: 180_000 },
      async () => {
        const inbox = await newPage();
        const page = inbox.page;
        await login(page);

        // The conversation Ada started from the messenger is in the Open list, unread.
        const ada = page.locator(`.conv[data-id="${adaConversationId}"]`);
        await ada.filter({ hasText: 'Where can I find the invoice' }).waitFor({ timeout: T });
        expect(await ada.getAttribute('class')).toContain('is-unread');
        expect(await page.locator('[data-testid=count-open]').textContent()).toBe('4');
        await ada.click();
        await page.locator('[data-testid=thread-title]', { hasText: 'Ada Lovelace' }).waitFor({ timeout: T });
        // Sidebar: attributes as a table, Stripe ones grouped, dates as dates, the timeline, no apps.
        const sidebar = page.locator('#sidebar');
        await sidebar.locator('h3', { hasText: 'Stripe' }).waitFor({ timeout: T });
        expect(await sidebar.textContent()).toContain('cus_Q8xY2kLmN4');
        expect(await sidebar.textContent()).not.toContain('stripe_customer_id');
        await sidebar.locator('.empty-inline', { hasText: 'No apps installed' }).waitFor({ timeout: T });
        await sidebar
          .locator('.timeline-name', { hasText: 'Invoice payment failed' })
          .waitFor({ timeout: T });
        // A Stripe entry reads as money with its currency, labelled test mode; ids and flags stay in the tooltip.
        const refund = sidebar.locator('.timeline li', { hasText: 'Charge refunded' });
        expect(await refund.locator('.badge-test').textContent()).toBe('test');
        const refundMeta = refund.locator('.timeline-meta');
        expect(await refundMeta.textContent()).toBe('$49.00 · refunded $49.00');
        expect(await refundMeta.getAttribute('title')).toContain('charge_id: ch_refund1');
        expect(await sidebar.locator('.timeline-meta', { hasText: 'livemode' }).count()).toBe(0);

        // Reply (Ctrl+Enter), then an internal note: both show in the thread; the customer sees only the reply.
        const composer = page.locator('[data-testid=composer]');
        await composer.fill('Hi Ada! I just re-sent the invoice to your email.');
        await composer.press('Control+Enter');
        await page
          .locator('.msg-teammate:not(.msg-note)', { hasText: 'I just re-sent the invoice' })
          .waitFor({ timeout: T });
        expect(await composer.inputValue()).toBe('');
        await page.locator('.composer-tab', { hasText: 'Note' }).click();
        await composer.fill('Payment failed twice; check the card on file.');
        await page.locator('[data-testid=send]').click();
        await page.locator('.msg-note', { hasText: 'check the card on file' }).waitFor({ timeout: T });
        expect(await messengerBodies(adaConversationId)).toEqual([
          'Hi! Where can I find the invoice for my last payment? I need it for our accountant.',
          'Hi Ada! I just re-sent the invoice to your email.',
        ]);

        // A failed send keeps the draft and says why.
        await page.locator('.composer-tab', { hasText: 'Reply' }).click();
        await page.route('**/reply', (route) => route.abort('connectionrefused'));
        await composer.fill('This one will not go through');
        await composer.press('Control+Enter');
        await page.locator('.composer-error', { hasText: 'Not sent' }).waitFor({ timeout: T });
        expect(await composer.inputValue()).toBe('This one will not go through');
        await page.unroute('**/reply');
        await composer.fill('');

        // A visitor on the demo page writes in; the inbox shows it without a reload.
        await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
        const visitor = await newPage({ width: 1280, height: 800 });
        const demo = visitor.page;
        await demo.goto(`${base}/messenger/demo.html?app_id=${h.workspace.app_id}`);
        await demo.locator('[data-testid=settle-launcher]').click();
        const input = demo.locator('[data-testid=settle-input]');
        await input.fill('Hello from the Acme site, is anyone there?');
        await input.press('Enter');
        await demo
          .locator('[data-testid=settle-messages] .mine', { hasText: 'is anyone there?' })
          .waitFor({ timeout: T });

        const fresh = page.locator('.conv', { hasText: 'is anyone there?' });
        await fresh.waitFor({ timeout: T });
        expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(
          true,
        );
        // The newest conversation goes to the top of the list.
        expect(await page.locator('.conv').first().textContent()).toContain('is anyone there?');
        expect(await page.locator('[data-testid=count-open]').textContent()).toBe('5');

        // The reply reaches the open widget live.
        await fresh.click();
        await page
          .locator('[data-testid=thread-title]', { hasText: 'Anonymous visitor' })
          .waitFor({ timeout: T });
        await composer.fill('Hi! Yes, I’m here. How can I help?');
        await composer.press('Control+Enter');
        await demo
          .locator('[data-testid=settle-messages] .theirs', { hasText: 'How can I help?' })
          .waitFor({ timeout: T });

        // With the panel closed, a reply shows as an unread badge on the launcher; opening shows it.
        await demo.locator('[data-testid=settle-launcher]').click();
        await demo.locator('[data-testid=settle-panel]').waitFor({ state: 'hidden', timeout: T });
        await composer.fill('<img src=x onerror=alert(1)> is how you would *not* embed an image.');
        await composer.press('Control+Enter');
        await demo.locator('[data-testid=settle-badge]', { hasText: '1' }).waitFor({ timeout: T });
        await demo.locator('[data-testid=settle-launcher]').click();
        await demo
          .locator('[data-testid=settle-messages] .theirs', { hasText: '<img src=x onerror=alert(1)>' })
          .waitFor({ timeout: T });
        expect(await demo.locator('#settle-messenger img').count()).toBe(0);
        await demo.locator('[data-testid=settle-badge]').waitFor({ state: 'hidden', timeout: T });
        await demo.screenshot({ path: WIDGET_SCREENSHOT });

        // A returning visitor (same browser profile) keeps their conversation.
        await demo.reload();
        await demo.locator('[data-testid=settle-launcher]').click();
        // (The list previews the latest message: the last reply.)
        await demo.locator('.conv', { hasText: 'embed an image' }).waitFor({ timeout: T });
        expect(await demo.locator('.conv').count()).toBe(1);

        // j/k move through the list.
        await page.locator('[data-testid=composer]').blur();
        await page.keyboard.press('j');
        await page.locator('.conv.is-selected', { hasText: 'Ada Lovelace' }).waitFor({ timeout: T });
        await page.keyboard.press('k');
        await page.locator('.conv.is-selected', { hasText: 'Anonymous visitor' }).waitFor({ timeout: T });
        await page.keyboard.press('j');
        await page.locator('.msg-note', { hasText: 'check the card on file' }).waitFor({ timeout: T });
        // Keys pressed faster than the loads: the thread ends on the selected conversation, not on a
        // "Loading…" placeholder, even when the conversation in between answers last.
        const anonymousId = await page
          .locator('.conv', { hasText: 'Anonymous visitor' })
          .getAttribute('data-id');
        await page.route(`**/api/conversations/${anonymousId}`, async (route) => {
          await new Promise((r) => setTimeout(r, 600));
          await route.continue();
        });
        await page.keyboard.press('k');
        await page.locator('.conv.is-selected', { hasText: 'Anonymous visitor' }).waitFor({ timeout: T });
        await page.keyboard.press('j');
        await page.locator('.conv.is-selected', { hasText: 'Ada Lovelace' }).waitFor({ timeout: T });
        await page.waitForTimeout(800);
        await page.locator('.msg-note', { hasText: 'check the card on file' }).waitFor({ timeout: T });
        expect(await page.locator('[data-testid=thread-title]').textContent()).toContain('Ada');
        await page.unroute(`**/api/conversations/${anonymousId}`);
        await page.waitForTimeout(300);
        await page.screenshot({ path: SCREENSHOT });

        // Close moves the conversation out of Open; the Closed tab has it, and Reopen brings it back.
        await page.locator('[data-testid=close]').click();
        await page.locator('[data-testid=count-open]', { hasText: '4' }).waitFor({ timeout: T });
        await page.locator('.tab[data-state=closed]').click();
        await page.locator(`.conv[data-id="${adaConversationId}"]`).click();
        await page.locator('[data-testid=reopen]').click();
        await page.locator('[data-testid=count-open]', { hasText: '5' }).waitFor({ timeout: T });

        expect(inbox.problems).toEqual([]);
        expect(visitor.problems).toEqual([]);
      },
    );

    it('shows a signed-in user of the host app (data-user-jwt) their own conversations', async () => {
      const { page, problems } = await newPage({ width: 1280, height: 800 });
      // A host page on the same origin, as a customer's app would render it for a signed-in user.
      await openWidgetAsAda(page, h, base, T);
      await page.locator('.conv', { hasText: 'I just re-sent the invoice' }).click();
      await page
        .locator('[data-testid=settle-messages] .mine', { hasText: 'Where can I find the invoice' })
        .waitFor({ timeout: T });
      expect(await page.locator('[data-testid=settle-messages]').textContent()).not.toContain(
        'check the card',
      );
      // A verified session is not kept in localStorage: the next person on this computer must not inherit it.
      expect(await page.evaluate(() => Object.keys(localStorage))).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('shows a reply that arrives while the conversation is still loading', async () => {
      const { page, problems } = await newPage({ width: 1280, height: 800 });
      const started = await h.request('messenger_user', {
        method: 'POST',
        url: '/messenger/conversations',
        payload: { body: 'Did my refund go through?' },
      });
      const conversationId = (started.json() as { id: string }).id;
      await openWidgetAsAda(page, h, base, T);
      // The thread's answer is read before the teammate replies and reaches the widget after the reply's live event.
      let replied = false;
      await page.route(`**/messenger/conversations/${conversationId}`, async (route) => {
        const stale = await route.fetch();
        if (!replied) {
          replied = true;
          const streamed = page.waitForRequest((r) => r.url().endsWith('/messenger/conversations'));
          const res = await h.request('admin', {
            method: 'POST',
            url: `/api/conversations/${conversationId}/reply`,
            payload: { message_type: 'comment', type: 'admin', body: 'Yes, refunded yesterday.' },
          });
          expect(res.statusCode).toBe(201);
          await streamed; // the widget handled the event (it reloads its list on every one)
        }
        await route.fulfill({ response: stale });
      });
      await page.locator('.conv', { hasText: 'Did my refund go through?' }).click();
      const messages = page.locator('[data-testid=settle-messages]');
      await messages.locator('.mine', { hasText: 'Did my refund go through?' }).waitFor({ timeout: T });
      await messages.locator('.theirs', { hasText: 'Yes, refunded yesterday.' }).waitFor({ timeout: 5_000 });
      expect(await messages.locator('.msg').count()).toBe(2);
      expect(problems).toEqual([]);
    });

    it("works embedded on the customer's own site, another origin than Settle's", async () => {
      const { page, problems } = await newPage({ width: 1280, height: 800 });
      // The customer's site: a server of its own on another port, so another origin (in the same loopback address
      // space as Settle here, so Chromium's local-network rules do not apply; a real site is public).
      const siteServer = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end(
          `<!doctype html><title>Acme pricing</title><h1>Pricing</h1><script type="module" src="${base}/messenger/widget.js" data-app-id="${h.workspace.app_id}"></script>`,
        );
      });
      await new Promise<void>((r) => siteServer.listen(0, '127.0.0.1', r));
      try {
        const site = `http://127.0.0.1:${(siteServer.address() as AddressInfo).port}`;
        expect(site).not.toBe(base);
        const failed: string[] = [];
        page.on('requestfailed', (r) => failed.push(`${r.url()} ${r.failure()?.errorText ?? ''}`));
        await page.goto(`${site}/pricing.html`);
        await page.locator('[data-testid=settle-launcher]').click();
        const input = page.locator('[data-testid=settle-input]');
        await input.fill('Do you offer annual billing? (from the Acme site)');
        await input.press('Enter');
        await page
          .locator('[data-testid=settle-messages] .mine', { hasText: 'from the Acme site' })
          .waitFor({ timeout: T });
        const found = await h.request('admin', { method: 'GET', url: '/api/conversations?per_page=50' });
        expect(JSON.stringify(found.json())).toContain('from the Acme site');
        expect(failed).toEqual([]);
        expect(problems).toEqual([]);
      } finally {
        siteServer.close();
      }
    });
  });
}
