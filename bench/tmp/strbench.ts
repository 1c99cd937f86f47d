import { generateLargeAccount, startEmulator } from '../../src/emulator/index.ts';
import { renderJson } from '../../src/emulator/wire-json.ts';
const emu = await startEmulator({ seed: 1 });
generateLargeAccount(emu, { customers: 50000, seed: 1 });
const acct = emu.emulator.account(emu.key);
const EXP = ['data.invoice_settings.default_payment_method', 'data.subscriptions'];
function walk(label: string) {
  let after: string | undefined; let n = 0; const t = performance.now();
  for (;;) {
    const pg = acct.customers.page({ limit: 100, startingAfter: after });
    renderJson(acct, { object: 'list', data: pg.data, has_more: pg.hasMore, url: '/v1/customers' }, EXP); n++;
    if (!pg.hasMore) break; after = (pg.data[pg.data.length - 1] as any).id;
  }
  console.log(label, ((performance.now() - t) / n).toFixed(2), 'ms/page');
}
walk('cold'); walk('warm');
process.exit(0);
