/** The `status` and `conflicts` views: what the settings page and `settle stripe sync --wait` read. */
import type { AppHost } from '../../app-sdk/index.ts';
import { PHASES, readRanges } from './backfill.ts';
import { listConnections, publicConnection } from './connections.ts';
import { customerFacts, listEmailConflicts, type ContactCandidate } from './matching.ts';
import { loadBundle } from './bundle.ts';
import { BACKFILL_TYPES, listForConnection, stores } from './store.ts';

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
    });
  }
  return { connections: out };
}

export async function conflictsView(host: AppHost) {
  const { metadata_key: userIdKey } = await host.settings<{ metadata_key: string }>();
  const s = stores(host);
  const out = [];
  for (const c of await listConnections(host)) {
    const facts = [];
    const contacts = new Map<string, ContactCandidate>();
    for (const r of await listForConnection(s.customers, c.id)) {
      const bundle = await loadBundle(s, c.id, r.data.id, undefined, (p) => host.readRecords(p));
      if (!bundle) continue;
      facts.push(customerFacts(bundle.customer, bundle.subscriptions));
      if (r.data.email)
        for (const ct of await host.contacts.findByEmail(r.data.email)) contacts.set(ct.id, ct);
      const uid = r.data.metadata?.[userIdKey];
      if (uid) {
        const ct = await host.contacts.findByExternalId(uid);
        if (ct) contacts.set(ct.id, ct);
      }
    }
    const manual = (await listForConnection(s.links, c.id)).filter((l) => l.data.method === 'manual');
    const conflicts = listEmailConflicts(facts, [...contacts.values()], {
      userIdKey,
      links: new Map(manual.map((l) => [l.data.customer_id, l.data.contact_id])),
    });
    out.push({ connection_id: c.id, account_id: c.account_id, conflicts });
  }
  return { connections: out };
}
