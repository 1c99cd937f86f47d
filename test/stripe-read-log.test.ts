import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppHost } from '../src/app-sdk/index.ts';
import { dbKinds } from '../src/db/test-db.ts';
import { createHarness, type Harness } from './helpers/harness.ts';
import { stripeApp } from '../src/apps/stripe/manifest.ts';
import { ReadLog } from '../src/apps/stripe/read-log.ts';

describe.each(dbKinds())('read log on %s', (kind) => {
  let h: Harness;
  let host: AppHost;
  beforeAll(async () => {
    h = await createHarness(kind, { registry: { stripe: stripeApp } });
    host = h.platform.apps.host(h.workspace.id, 'stripe');
  });
  afterAll(async () => h?.close());

  const logged = () => {
    const log = new ReadLog(host);
    return {
      log,
      subs: log.collection(host.records<{ n: number }>('rl_subs')),
      cus: log.collection(host.records<{ n: number }>('rl_cus')),
    };
  };

  it('holds while nothing it read has changed, and sees a write, a new member and a deletion made since', async () => {
    const raw = host.records<{ n: number }>('rl_subs');
    await raw.put('s1', { n: 1 }, { version: 1, a: 'cus_1' });
    await host.records<{ n: number }>('rl_cus').put('cus_1', { n: 1 }, { version: 1 });

    const read = async () => {
      const l = logged();
      await l.cus.get('cus_1');
      await l.cus.get('cus_missing');
      await l.subs.find('a', 'cus_1');
      // Reads made together (as a customer's lists are) are logged too.
      await l.log.readAll([
        { collection: 'rl_subs', index: 'a', value: 'cus_1', limit: 1 },
        { collection: 'rl_cus', key: 'cus_1' },
      ]);
      return l.log;
    };
    expect(await (await read()).unchanged()).toBe(true);

    const changes: (() => Promise<unknown>)[] = [
      () => host.records('rl_cus').put('cus_1', { n: 2 }, { version: 2 }),
      () => raw.put('s2', { n: 2 }, { version: 1, a: 'cus_1' }),
      () => raw.put('s0', { n: 0 }, { version: 1, a: 'cus_1' }),
      () => raw.remove('s1', { version: 5 }),
      () => host.records('rl_cus').put('cus_missing', { n: 0 }, { version: 1 }),
    ];
    for (const change of changes) {
      const log = await read();
      await change();
      expect(await log.unchanged()).toBe(false);
      expect(await (await read()).unchanged()).toBe(true);
    }
  });

  it('counts the latest answer of a repeated read, so its own write read back is no change', async () => {
    const l = logged();
    const raw = host.records<{ n: number }>('rl_cus');
    await raw.put('cus_own', { n: 1 }, { version: 1 });
    await l.cus.get('cus_own');
    await raw.put('cus_own', { n: 2 }, { version: 2 });
    await l.cus.get('cus_own');
    expect(await l.log.unchanged()).toBe(true);
  });
});
