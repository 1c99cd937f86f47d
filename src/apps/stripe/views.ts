/** The `status` and `conflicts` views: what the settings page and `settle stripe sync --wait` read. */
import type Stripe from 'stripe';
import type { AppHost, StoredRecord } from '../../app-sdk/index.ts';
import { PHASES, readRanges } from './backfill.ts';
import { listConnections, publicConnection } from './connections.ts';
import { customerFacts, listEmailConflicts, normaliseEmail, type ContactCandidate } from './matching.ts';
import { loadBundle } from './bundle.ts';
import { BACKFILL_TYPES, emailIndex, objectKey, stores } from './store.ts';
import { readHistoryCursor } from './timeline-history.ts';

export async function statusView(host: AppHost) {
  const conns = await listConnections(host);
  const out = [];
  for (const c of conns) {
    const objects: Record<string, { count: number; pages: number; done: boolean; ranges: number }> = {};
    for (const type of BACKFILL_TYPES) {
      const ranges = (await readRanges(host, c.id, type, c.sync.run)).map((r) => r.cursor);
      objects[type] = {
        count: ranges.reduce((n, r) => n + r.count, 0),
        pages: ranges.reduce((n, r) => n + r.pages, 0),
        // Not planned yet is not done: a type counts only once every one of its ranges reached its end.
        done: ranges.length > 0 && ranges.every((r) => r.done),
        ranges: ranges.length,
      };
    }
    const cursorsDone = Object.values(objects).every((o) => o.done);
    const history = (await readHistoryCursor(host, c.id))?.data;
    out.push({
      ...publicConnection(c),
      sync: {
        run: c.sync.run,
        state: c.sync.state,
        phase: c.sync.phase ?? null,
        phases_total: PHASES.length,
        started_at: c.sync.started_at,
        finished_at: c.sync.finished_at,
        last_error: c.sync.last_error,
        objects,
        pages_done: Object.values(objects).reduce((n, o) => n + o.pages, 0),
        types_done: Object.values(objects).filter((o) => o.done).length,
        types_total: BACKFILL_TYPES.length,
        // Complete only when every list reached its end AND the matching pass after them finished.
        complete: cursorsDone && c.sync.state === 'done',
      },
      // The last 30 days of events before the connection, on the timeline (timeline-history.ts); null until the
      // backfill is done and the import starts.
      timeline_history: history
        ? { done: history.done, events: history.listed, recorded: history.recorded, held: history.held }
        : null,
    });
  }
  return { connections: out };
}

/** At most this many unlinked customers are looked at per account: the page stays quick mid-sync. */
const CONFLICT_SEEDS_MAX = 2000;

/**
 * The email conflicts of each account (§3.2). Every conflict leaves its losers unlinked (matching.ts), so only the
 * customers with an email and no link are read, then whoever competes with them: the customers sharing their
 * addresses, the contacts holding those addresses, and the customers linked to those contacts. Until session 15
 * this read every customer with its subscriptions and cards: 10.6 s at 5,000 customers, minutes at 100,000.
 */
export async function conflictsView(host: AppHost) {
  const { metadata_key: userIdKey } = await host.settings<{ metadata_key: string }>();
  const s = stores(host);
  const out = [];
  for (const c of await listConnections(host)) {
    const seeds: StoredRecord<Stripe.Customer>[] = [];
    let after: string | undefined;
    while (seeds.length < CONFLICT_SEEDS_MAX) {
      const page = await s.customers.listWithout(s.links.name, {
        prefix: `${c.id}:`,
        indexed: 'b',
        after,
        limit: 500,
      });
      seeds.push(...page);
      after = page.at(-1)?.key;
      if (page.length < 500) break;
    }
    const emails = new Set(seeds.map((r) => normaliseEmail(r.data.email)).filter((e) => e !== null));
    const contacts = new Map<string, ContactCandidate>();
    for (const ct of await host.contacts.findByEmails([...emails])) contacts.set(ct.id, ct);
    // Customers linked to those contacts (by a teammate, user_id or email) compete for them too.
    const owners = (contacts.size > 0 ? await s.links.findMany('a', [...contacts.keys()]) : []).filter(
      (l) => l.data.connection_id === c.id,
    );
    const customers = new Map<string, StoredRecord<Stripe.Customer>>();
    for (const r of await s.customers.getMany(owners.map((l) => objectKey(c.id, l.data.customer_id))))
      if (!r.deleted && r.key.startsWith(`${c.id}:`)) customers.set(r.key, r);
    for (const r of customers.values()) {
      const e = normaliseEmail(r.data.email);
      if (e !== null) emails.add(e);
    }
    const byAddress = [...emails].map((e) => emailIndex(c.id, e)).filter((v) => v !== null);
    for (const r of await s.customers.findMany('b', byAddress)) customers.set(r.key, r);

    const facts = [];
    for (const r of customers.values()) {
      const bundle = await loadBundle(s, c.id, r.data.id, r.data, (p) => host.readRecords(p));
      if (!bundle) continue;
      facts.push(customerFacts(bundle.customer, bundle.subscriptions));
      const uid = r.data.metadata?.[userIdKey];
      if (uid) {
        const ct = await host.contacts.findByExternalId(uid);
        if (ct) contacts.set(ct.id, ct);
      }
    }
    for (const ct of await host.contacts.findByEmails([...emails])) contacts.set(ct.id, ct);
    const links = await s.links.getMany([...customers.keys()]);
    const manual = links.filter((l) => !l.deleted && l.data.method === 'manual');
    const conflicts = listEmailConflicts(facts, [...contacts.values()], {
      userIdKey,
      links: new Map(manual.map((l) => [l.data.customer_id, l.data.contact_id])),
    });
    out.push({
      connection_id: c.id,
      account_id: c.account_id,
      conflicts,
      // More unlinked customers than were looked at (a first sync still running): the list may be incomplete.
      truncated: seeds.length >= CONFLICT_SEEDS_MAX,
    });
  }
  return { connections: out };
}
