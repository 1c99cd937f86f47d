// In-app messages in the messenger widget, in a real browser: a message sent to a segment the signed-in user is in
// shows as a popup above the closed launcher and as a card in the open panel, as text only; seeing it in the open
// panel records one open, and once opened and dismissed it does not come back after a reload.
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, signUserJwt, type Harness } from '../helpers/harness.ts';
import { CHROMIUM, chromiumAvailable, launchChromium } from './fixtures.ts';

const T = 15_000;

if (!chromiumAvailable()) {
  describe('browser tests', () => {
    it.skip(`skipped: ${CHROMIUM} not found (install Debian's chromium; with CI set this fails instead)`, () => {});
  });
} else {
  describe('in-app messages in the messenger, in Chromium', () => {
    let h: Harness;
    let browser: Browser;
    let base: string;

    beforeAll(async () => {
      h = await createHarness('pglite');
      await h.server.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(h.server.server.address() as AddressInfo).port}`;
      browser = await launchChromium();
    });

    afterAll(async () => {
      await browser?.close();
      await h?.close();
    });

    async function stats(id: string) {
      const res = await h.request('admin', { method: 'GET', url: `/api/outbound/${id}` });
      return (res.json() as { stats: { sent: number; delivered: number; opened: number } }).stats;
    }

    it(
      'shows a sent message as text, records one open when seen, and not again once dismissed',
      { timeout: 180_000 },
      async () => {
        // The messenger user is on the Growth plan, in a segment of Growth users, and has a conversation.
        const attr = await h.request('admin', {
          method: 'POST',
          url: '/api/data_attributes',
          payload: { name: 'plan', data_type: 'string' },
        });
        expect(attr.statusCode, attr.body).toBe(201);
        const put = await h.request('admin', {
          method: 'PUT',
          url: `/api/contacts/${h.ids.userContactId}`,
          payload: { name: 'Ada Lovelace', custom_attributes: { plan: 'Growth' } },
        });
        expect(put.statusCode, put.body).toBe(200);
        const conv = await h.request('messenger_user', {
          method: 'POST',
          url: '/messenger/conversations',
          payload: { body: 'Hello there' },
        });
        expect(conv.statusCode, conv.body).toBe(201);
        const seg = await h.request('admin', {
          method: 'POST',
          url: '/api/segments',
          payload: {
            name: 'Growth',
            query: { field: 'custom_attributes.plan', operator: '=', value: 'Growth' },
          },
        });
        expect(seg.statusCode, seg.body).toBe(201);

        const segmentId = (seg.json() as { id: string }).id;
        async function sendMessage(title: string, body: string): Promise<string> {
          const draft = await h.request('admin', {
            method: 'POST',
            url: '/api/outbound',
            payload: { segment_id: segmentId, title, body },
          });
          expect(draft.statusCode, draft.body).toBe(201);
          const id = (draft.json() as { id: string }).id;
          const send = await h.request('admin', { method: 'POST', url: `/api/outbound/${id}/send` });
          expect(send.statusCode, send.body).toBe(202);
          const worker = h.platform.jobs.startWorker({ workspaceId: h.workspace.id, pollMs: 50 });
          try {
            await expect.poll(async () => (await stats(id)).sent, { timeout: 60_000, interval: 100 }).toBe(1);
          } finally {
            await worker.stop();
          }
          return id;
        }
        const title = 'Invoices now show your VAT number';
        const body = '<img src=x onerror=alert(1)><b>Bold?</b> Download them from Billing.';
        const id = await sendMessage(title, body);

        // The signed-in user on a host page.
        const user = await h.request('admin', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}` });
        const externalId = (user.json() as { external_id: string }).external_id;
        const jwt = await signUserJwt(h.messengerSecret, { user_id: externalId, name: 'Ada Lovelace' });
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
        page.on('dialog', (d) => {
          problems.push(`dialog: ${d.message()}`);
          void d.dismiss();
        });
        let opens = 0;
        page.on('request', (r) => {
          if (r.method() === 'POST' && /\/messenger\/outbound\/[^/]+\/open$/.test(r.url())) opens++;
        });
        await page.route(`${base}/host-app.html`, (route) =>
          route.fulfill({
            contentType: 'text/html',
            body: `<!doctype html><title>Host</title><script type="module" src="/messenger/widget.js" data-app-id="${h.workspace.app_id}" data-user-jwt="${jwt}"></script>`,
          }),
        );
        const outboundLoaded = (p: Page) =>
          p.waitForResponse((r) => r.url().endsWith('/messenger/outbound') && r.status() === 200, {
            timeout: T,
          });

        let loaded = outboundLoaded(page);
        await page.goto(`${base}/host-app.html`);
        await loaded;

        // Closed widget: a popup above the launcher, as text. Showing it there is not an open.
        const popup = page.locator('[data-testid=settle-outbound-popup]');
        await popup.filter({ hasText: title }).waitFor({ timeout: T });
        expect(await popup.textContent()).toContain(body);
        expect(await page.locator('#settle-messenger img, #settle-messenger b').count()).toBe(0);
        expect(await stats(id)).toEqual({ sent: 1, delivered: 1, opened: 0 });
        expect(opens).toBe(0);
        await page.screenshot({ path: '/tmp/settle-outbound-popup.png' });

        // Clicking it opens the panel on the home view, with the message as a card: that is the open.
        await popup.locator('.outbound-popup-open').click();
        const card = page.locator(`[data-testid=settle-outbound] .outbound-card[data-id="${id}"]`);
        await card.filter({ hasText: title }).waitFor({ timeout: T });
        expect(await card.locator('.outbound-body').textContent()).toBe(body);
        expect(await page.locator('#settle-messenger img, #settle-messenger b').count()).toBe(0);
        await popup.waitFor({ state: 'hidden', timeout: T });
        await page.locator('.conv', { hasText: 'Hello there' }).waitFor({ timeout: T });
        await expect.poll(async () => (await stats(id)).opened, { timeout: T }).toBe(1);
        await page.screenshot({ path: '/tmp/settle-outbound-card.png' });

        // It stays until dismissed, and is never opened again: closing and reopening the panel posts nothing.
        await page.locator('[data-testid=settle-launcher]').click();
        await page.locator('[data-testid=settle-panel]').waitFor({ state: 'hidden', timeout: T });
        expect(await popup.isHidden()).toBe(true);
        await page.locator('[data-testid=settle-launcher]').click();
        await card.waitFor({ timeout: T });
        await page.locator('[data-testid=settle-outbound-dismiss]').click();
        await card.waitFor({ state: 'detached', timeout: T });
        expect(opens).toBe(1);

        // After a reload the opened message is not shown again, neither as a popup nor as a card.
        loaded = outboundLoaded(page);
        await page.reload();
        await loaded;
        await page.locator('[data-testid=settle-launcher]').click();
        await page.locator('.conv', { hasText: 'Hello there' }).waitFor({ timeout: T });
        expect(await page.locator('[data-testid=settle-outbound]').count()).toBe(0);
        expect(await popup.isHidden()).toBe(true);
        expect(opens).toBe(1);
        expect(await stats(id)).toEqual({ sent: 1, delivered: 1, opened: 1 });

        // A failed fetch of the messages is quiet (the widget works as before) and retried on the next poll: with
        // the event stream down, the widget polls.
        const second = await sendMessage('Scheduled maintenance', 'Sunday 02:00–03:00 UTC.');
        let failedFetches = 0;
        await page.route('**/messenger/outbound', (route) => {
          failedFetches++;
          return route.abort('connectionrefused');
        });
        await page.route('**/messenger/stream', (route) => route.abort('connectionrefused'));
        await page.reload();
        await page.locator('[data-testid=settle-launcher]').click();
        await page.locator('.conv', { hasText: 'Hello there' }).waitFor({ timeout: T });
        expect(failedFetches).toBeGreaterThan(0);
        expect(await page.locator('[data-testid=settle-outbound]').count()).toBe(0);
        await page.locator('[data-testid=settle-launcher]').click();
        await page.unroute('**/messenger/outbound');
        await popup.filter({ hasText: 'Scheduled maintenance' }).waitFor({ timeout: 45_000 });
        expect(await stats(second)).toEqual({ sent: 1, delivered: 1, opened: 0 });
        expect(opens).toBe(1);
        expect(problems).toEqual([]);
        await context.close();
      },
    );
  });
}
