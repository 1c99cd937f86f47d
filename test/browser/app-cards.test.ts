// App cards in the inbox sidebar, in a real browser: a card's button that carries a choice (`input`) sends it with
// the click, and the card shows the action's answer (the Stripe card's "Show acct_…" works this way).
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../helpers/harness.ts';
import { EXAMPLE_APP, exampleApp } from '../helpers/fixture-app.ts';
import { adminEmail, CHROMIUM, chromiumAvailable, launchChromium, seedInbox, signIn } from './fixtures.ts';

const T = 15_000;

if (!chromiumAvailable()) {
  describe('app cards in the browser', () => {
    it.skip(`skipped: ${CHROMIUM} not found (install Debian's chromium; with CI set this fails instead)`, () => {});
  });
} else {
  describe('app cards in Chromium', () => {
    let h: Harness;
    let browser: Browser;
    let adaConversationId: string;

    beforeAll(async () => {
      h = await createHarness('pglite', { registry: { [EXAMPLE_APP]: exampleApp } });
      ({ adaConversationId } = await seedInbox(h));
      const inst = await h.request('admin', {
        method: 'POST',
        url: `/api/apps/${EXAMPLE_APP}/install`,
        payload: { settings: {} },
      });
      expect(inst.statusCode).toBe(200);
      await h.server.listen({ port: 0, host: '127.0.0.1' });
      browser = await launchChromium();
    });
    afterAll(async () => {
      await browser?.close();
      await h?.close();
    });

    it(
      'sends the choice a card button carries, and shows what the action answered',
      { timeout: 120_000 },
      async () => {
        const base = `http://127.0.0.1:${(h.server.server.address() as AddressInfo).port}`;
        const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
        const page = await context.newPage();
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(e.message));
        await signIn(page, base, await adminEmail(h), T);
        await page.locator(`.conv[data-id="${adaConversationId}"]`).click();
        const card = page.locator(`#sidebar .app-card[data-app="${EXAMPLE_APP}"][data-card="summary"]`);
        await card.locator('strong', { hasText: 'Hello, Ada Lovelace' }).waitFor({ timeout: T });
        await card.locator('button', { hasText: 'Upgrade to gold' }).click();
        // Without the input the action answers "choose a plan".
        await card.locator('[role=status]', { hasText: 'upgraded to gold' }).waitFor({ timeout: T });
        const ada = await h.platform.db.query<{ custom_attributes: Record<string, unknown> }>(
          "SELECT custom_attributes FROM contacts WHERE workspace_id = $1 AND name = 'Ada Lovelace'",
          [h.workspace.id],
        );
        expect(ada.rows[0]?.custom_attributes.example_plan).toBe('gold');
        expect(problems).toEqual([]);
        await context.close();
      },
    );
  });
}
