// The inbox in a real browser (Debian's Chromium through playwright-core), on the seeded inbox of fixtures.ts: failed
// sign-ins explained, a customer's message arriving while its conversation loads, names and messages that look like
// HTML shown as text, and the contact's saved segments. The inbox talking with the messenger is
// inbox-messenger.test.ts.
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Harness } from '../helpers/harness.ts';
import {
  CHROMIUM,
  chromiumAvailable,
  newCheckedPage,
  PASSWORD,
  signIn,
  startSeededInbox,
} from './fixtures.ts';

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

    it('explains failed sign-ins: wrong password, rate limit with the wait, server unreachable', async () => {
      const { page, problems } = await newPage();
      await page.goto(`${base}/inbox/`);
      await page.fill('#login-email', email);
      await page.fill('#login-password', 'not the password');
      await page.click('#login-submit');
      const error = page.locator('#login-error');
      await error.filter({ hasText: 'don’t match' }).waitFor({ timeout: T });

      await page.route('**/api/auth/login', (route) =>
        route.fulfill({
          status: 429,
          contentType: 'application/json',
          headers: { 'retry-after': '120' },
          body: JSON.stringify({
            error: {
              code: 'login_rate_limited',
              message: 'too many failed logins; try again in 120 seconds',
            },
          }),
        }),
      );
      await page.click('#login-submit');
      await error.filter({ hasText: 'try again in 2 minutes' }).waitFor({ timeout: T });
      expect(await page.locator('#login-submit').isDisabled()).toBe(true);

      await page.unroute('**/api/auth/login');
      await page.reload();
      await page.route('**/api/auth/login', (route) => route.abort('connectionrefused'));
      await page.fill('#login-email', email);
      await page.fill('#login-password', PASSWORD);
      await page.click('#login-submit');
      await error.filter({ hasText: 'Can’t reach the Settle server' }).waitFor({ timeout: T });
      expect(problems).toEqual([]);
    });

    it("shows a customer's message that arrives while the inbox is loading the conversation", async () => {
      const started = await h.request('messenger_user', {
        method: 'POST',
        url: '/messenger/conversations',
        payload: { body: 'Can I pay by bank transfer?' },
      });
      const conversationId = (started.json() as { id: string }).id;
      const { page, problems } = await newPage();
      await login(page);
      await page.locator('#live-status[data-status=live]').waitFor({ timeout: T });
      // Every answer for this conversation is the one read before the customer's second message: only the live
      // event can bring that message, and it comes while the first answer is still on its way.
      let stale: Awaited<ReturnType<Route['fetch']>> | undefined;
      let staleServed = 0;
      await page.route(`**/api/conversations/${conversationId}`, async (route) => {
        if (route.request().method() !== 'GET') return route.continue();
        if (!stale) {
          stale = await route.fetch();
          // The event is handled (the open conversation is marked read on it) before the answer arrives.
          const handled = page.waitForRequest(
            (r) => r.method() === 'POST' && r.url().endsWith(`/api/conversations/${conversationId}/read`),
          );
          const res = await h.request('messenger_user', {
            method: 'POST',
            url: `/messenger/conversations/${conversationId}/messages`,
            payload: { body: 'Or by card, if that is easier.' },
          });
          expect(res.statusCode).toBe(201);
          await handled;
        }
        await route.fulfill({ response: stale });
        staleServed += 1;
      });
      await page.locator(`.conv[data-id="${conversationId}"]`).click();
      const thread = page.locator('.msg-contact');
      await thread.filter({ hasText: 'Can I pay by bank transfer?' }).waitFor({ timeout: T });
      await thread.filter({ hasText: 'Or by card, if that is easier.' }).waitFor({ timeout: 5_000 });
      expect(staleServed).toBeGreaterThan(0);
      expect(await thread.count()).toBe(2);
      expect(problems).toEqual([]);
    });

    it(
      'shows a contact name and message that look like HTML as literal text',
      { timeout: 120_000 },
      async () => {
        const evilName = '<img src=x onerror=alert(1)>';
        const evilBody = '<script>alert(2)</script><b>bold?</b> <img src=x onerror=alert(3)>';
        const created = await h.request('admin', {
          method: 'POST',
          url: '/api/contacts',
          payload: { role: 'lead', name: evilName },
        });
        const contactId = (created.json() as { id: string }).id;
        await h.request('admin', {
          method: 'PUT',
          url: `/api/contacts/${contactId}`,
          payload: { custom_attributes: { plan: '<i>pwned</i>' } },
        });
        const { conversation } = await h.platform.conversations.start(h.workspace.id, contactId, {
          authorType: 'contact',
          authorId: contactId,
          kind: 'comment',
          body: evilBody,
        });

        const { page, problems } = await newPage();
        await login(page);
        const item = page.locator(`.conv[data-id="${conversation.id}"]`);
        await item.waitFor({ timeout: T });
        expect(await item.locator('.conv-name').textContent()).toBe(evilName);
        await item.click();
        await page
          .locator('[data-testid=thread-title]')
          .filter({ hasText: evilName })
          .waitFor({ timeout: T });
        await page.locator('.msg-bubble', { hasText: '<script>alert(2)</script>' }).waitFor({ timeout: T });
        await page.locator('#sidebar td', { hasText: '<i>pwned</i>' }).waitFor({ timeout: T });
        expect(await page.locator('[data-testid=contact-name]').textContent()).toBe(evilName);
        expect(await page.locator('#app img, #app script, #app b, #app i').count()).toBe(0);
        await page.waitForTimeout(300);
        expect(problems).toEqual([]);
      },
    );

    it(
      'lists the saved segments the contact is in, as text, with an empty state and a quiet error',
      { timeout: 120_000 },
      async () => {
        const now = Math.floor(Date.now() / 1000);
        const segments: [string, unknown][] = [
          [
            'Past due',
            { field: 'custom_attributes.stripe_subscription_status', operator: '=', value: 'past_due' },
          ],
          [
            'Cards expiring',
            { field: 'custom_attributes.stripe_current_period_end', operator: '<', value: now + 30 * 86400 },
          ],
          [
            'Trialing',
            { field: 'custom_attributes.stripe_subscription_status', operator: '=', value: 'trialing' },
          ],
          [
            '<img src=x onerror=alert(4)> Growth',
            { field: 'custom_attributes.plan', operator: '^', value: 'Growth' },
          ],
        ];
        for (const [name, query] of segments) {
          const res = await h.request('admin', {
            method: 'POST',
            url: '/api/segments',
            payload: { name, query },
          });
          expect(res.statusCode, res.body).toBe(201);
        }

        const { page, problems } = await newPage();
        await login(page);
        const box = page.locator('#sidebar [data-testid=contact-segments]');
        await page.locator(`.conv[data-id="${adaConversationId}"]`).click();
        await box.locator('.segment-chip').first().waitFor({ timeout: T });
        expect(await box.locator('.segment-chip').allTextContents()).toEqual([
          'Past due',
          'Cards expiring',
          '<img src=x onerror=alert(4)> Growth',
        ]);
        expect(await page.locator('#sidebar img').count()).toBe(0);

        await page.locator('.conv', { hasText: 'Grace Hopper' }).click();
        await page.locator('[data-testid=contact-name]', { hasText: 'Grace Hopper' }).waitFor({ timeout: T });
        await box.locator('p', { hasText: 'In no saved segment' }).waitFor({ timeout: T });

        // A failed load says so in the section; the rest of the sidebar is unaffected.
        await page.route('**/api/contacts/*/segments', (route) =>
          route.fulfill({
            status: 500,
            contentType: 'application/json',
            body: JSON.stringify({ error: { code: 'internal', message: 'boom' } }),
          }),
        );
        await page.locator(`.conv[data-id="${adaConversationId}"]`).click();
        const failed = box.locator('p', { hasText: 'Couldn’t load segments.' });
        await failed.waitFor({ timeout: T });
        expect(await failed.getAttribute('title')).toMatch(/went wrong on the server/);
        await page.locator('#sidebar h3', { hasText: 'Stripe' }).waitFor({ timeout: T });
        expect(await box.locator('.segment-chip').count()).toBe(0);
        expect(problems).toEqual([]);
      },
    );
  });
}
