/**
 * Matching and attributes for a batch of customers at once (a backfill page): the same rules as
 * `recomputeCustomers` (recompute.ts), with one statement per step instead of several per customer.
 *
 * The batch path takes a customer only when the per-customer path would look at that customer alone: it has an
 * email no other customer of the account shares, and no teammate link, and any earlier link points where the
 * match points now. Everything else (shared emails, manual links, a customer moving to another contact, a deleted
 * customer) goes through `recomputeCustomers`, which closes the set under "shares an email" and cleans up what the
 * old contact held. Both read only the record store, so whichever page touches a customer last settles it with
 * everything stored so far: the backfill settles a customer's pages one at a time, in queue order, and runs the
 * careful path alone (backfill.ts).
 */
import type Stripe from 'stripe';
import type { AppHost, AttributeValue, HostContact } from '../../app-sdk/index.ts';
import { releaseTimelineEntries } from './held-timeline.ts';
import { customerFacts, normaliseEmail, resolveAccountMatches } from './matching.ts';
import { attributesFor, loadCatalog, type Catalog, type CustomerBundle } from './bundle.ts';
import { getConnection } from './connections.ts';
import { recomputeCustomers } from './recompute.ts';
import { customerIndex, emailIndex, objectKey, stores, type Connection, type Link } from './store.ts';

const customerOfObj = (o: { customer?: string | { id: string } | null }) =>
  typeof o.customer === 'string' ? o.customer : (o.customer?.id ?? null);

export interface SettleStats {
  batch: number;
  slow: number;
  created: number;
}

/**
 * Settles the given customers of one connection. A customer not in the store at all is skipped (a subscription
 * or charge page can arrive before its customer's page, which settles it then).
 */
export async function settleCustomers(
  host: AppHost,
  conn: Connection,
  customerIds: readonly string[],
  catalog: Catalog,
  userIdKey: string,
  /** The customers exactly as stored (the page just written, every row of it accepted): saves reading them back. */
  known?: ReadonlyMap<string, Stripe.Customer>,
  /** Runs the careful path's step (the backfill runs it alone: it reaches beyond the batch's customers). */
  careful: (step: () => Promise<void>) => Promise<void> = (step) => step(),
): Promise<SettleStats> {
  const stats: SettleStats = { batch: 0, slow: 0, created: 0 };
  const ids = [...new Set(customerIds)];
  if (ids.length === 0) return stats;
  const s = stores(host);
  const cid = conn.id;
  const customers = new Map<string, Stripe.Customer>();
  const slow = new Set<string>();
  const recs = known ? [] : await s.customers.getMany(ids.map((id) => objectKey(cid, id)));
  if (known) for (const id of ids) if (known.has(id)) customers.set(id, known.get(id) as Stripe.Customer);
  for (const r of recs) {
    if (!r.deleted) customers.set(r.data.id, r.data);
    else slow.add(r.key.slice(cid.length + 1)); // deleted: the careful path removes what it held
  }

  // Email groups: a customer sharing its email with another of the account goes the careful path.
  const emailKeys = new Map<string, string>();
  for (const c of customers.values()) {
    const key = emailIndex(cid, c.email);
    if (key) emailKeys.set(c.id, key);
    else slow.add(c.id);
  }
  const holders = await s.customers.countMany('b', [...new Set(emailKeys.values())]);
  for (const [id, key] of emailKeys) if ((holders.get(key) ?? 0) > 1) slow.add(id);

  const links = new Map<string, Link>();
  const linkVersions = new Map<string, number>();
  for (const r of await s.links.getMany([...customers.keys()].map((id) => objectKey(cid, id)))) {
    linkVersions.set(r.key, r.version);
    if (!r.deleted) links.set(r.data.customer_id, r.data);
  }
  for (const [id, l] of links) if (l.method === 'manual') slow.add(id);

  const fast = [...customers.keys()].filter((id) => !slow.has(id));
  const idx = fast.map((id) => customerIndex(cid, id));
  const [subs, charges, pms] = await Promise.all([
    s.subscriptions.findMany('a', idx),
    s.charges.findMany('a', idx),
    s.paymentMethods.findMany('a', idx),
  ]);
  const bundles = new Map<string, CustomerBundle>();
  for (const id of fast)
    bundles.set(id, {
      customer: customers.get(id) as Stripe.Customer,
      subscriptions: [],
      charges: [],
      paymentMethods: [],
    });
  const add = <K extends 'subscriptions' | 'charges' | 'paymentMethods'>(
    key: K,
    rows: { data: CustomerBundle[K][number] }[],
  ) => {
    for (const r of rows) {
      const owner = customerOfObj(r.data as { customer?: string | { id: string } | null });
      const b = owner ? bundles.get(owner) : undefined;
      if (b) (b[key] as CustomerBundle[K][number][]).push(r.data);
    }
  };
  add('subscriptions', subs);
  add('charges', charges);
  add('paymentMethods', pms);

  const emails = fast.map((id) => customers.get(id)?.email ?? '').filter(Boolean);
  const userIds = fast
    .map((id) => customers.get(id)?.metadata?.[userIdKey]?.trim())
    .filter((u): u is string => !!u);
  const [byEmail, byUserId] = await Promise.all([
    host.contacts.findByEmails(emails),
    host.contacts.findByExternalIds(userIds),
  ]);
  const candidates = new Map<string, HostContact>();
  for (const c of [...byEmail, ...byUserId]) candidates.set(c.id, c);
  const pool = [...candidates.values()];

  const target = new Map<string, { contactId: string; method: Link['method'] }>();
  const toCreate: string[] = [];
  for (const id of fast) {
    const bundle = bundles.get(id) as CustomerBundle;
    // A one-customer set, as recomputeCustomers would build it: no explicit links (only manual ones count).
    const result = resolveAccountMatches([customerFacts(bundle.customer, bundle.subscriptions)], pool, {
      userIdKey,
      links: new Map(),
    });
    const m = result.matches.get(id);
    if (m) target.set(id, { contactId: m.contactId, method: m.method });
    else if (result.create.includes(id)) toCreate.push(id);
  }
  // A customer whose earlier link points elsewhere releases a contact: the careful path clears it.
  for (const id of fast) {
    const before = links.get(id);
    const after = target.get(id);
    if (before && (!after || before.contact_id !== after.contactId)) slow.add(id);
  }

  const creating = toCreate.filter((id) => !slow.has(id) && !links.has(id));
  for (const id of toCreate) if (links.has(id)) slow.add(id);
  const attrsOf = (id: string) => attributesFor(bundles.get(id) as CustomerBundle, catalog, conn);
  const createdWith = new Set<string>();
  if (creating.length > 0) {
    // A new contact is written once, with its attributes: an insert and no update.
    const made = await host.contacts.createUsers(
      creating.map((id) => {
        const c = customers.get(id) as Stripe.Customer;
        createdWith.add(id);
        // A new contact has no other account's customer yet: its attributes come from this one (§3.1).
        return {
          email: c.email ?? (normaliseEmail(c.email) as string),
          ...(c.name ? { name: c.name } : {}),
          attributes: attrsOf(id),
        };
      }),
    );
    creating.forEach((id, i) => {
      const contact = made[i];
      if (contact?.created) target.set(id, { contactId: contact.id, method: 'created' });
      else {
        // Another writer (an apply job for a webhook of the same new customer) made the address's contact since
        // the lookup above: the careful path links to it and writes its attributes.
        createdWith.delete(id);
        slow.add(id);
      }
    });
    stats.created += made.filter((c) => c.created).length;
  }

  // Outside the primary account, whether an existing contact takes this account's attributes depends on the other
  // accounts' links to it (§3.1): the careful path reads them, and rechecks them after writing.
  if (!conn.primary) for (const id of fast) if (target.has(id) && !createdWith.has(id)) slow.add(id);

  const now = Math.floor(Date.now() / 1000);
  const linkWrites: { key: string; data: Link; version: number; a: string; b: string }[] = [];
  const attrWrites: { contactId: string; values: Record<string, AttributeValue | null> }[] = [];
  for (const id of fast) {
    if (slow.has(id)) continue;
    const after = target.get(id);
    if (!after) continue; // nothing identifies a contact, and no earlier link to undo
    const before = links.get(id);
    const key = objectKey(cid, id);
    if (!before || before.method !== after.method) {
      linkWrites.push({
        key,
        data: {
          connection_id: cid,
          customer_id: id,
          contact_id: after.contactId,
          method: after.method,
          linked_at: now,
        },
        version: (linkVersions.get(key) ?? 0) + 1,
        a: after.contactId,
        b: cid,
      });
    }
    if (!createdWith.has(id)) {
      const values = attrsOf(id);
      // An unchanged contact is not written again (each write maintains every attribute index).
      const current = candidates.get(after.contactId)?.custom_attributes;
      const same =
        current !== undefined &&
        Object.entries(values).every(([k, v]) => (v === null ? !(k in current) : current[k] === v));
      if (!same) attrWrites.push({ contactId: after.contactId, values });
    }
    stats.batch++;
  }
  // Two tables, no order between them: on two connections at once.
  await Promise.all([s.links.putMany(linkWrites), host.contacts.setAttributesMany(attrWrites)]);
  await releaseTimelineEntries(
    host,
    cid,
    linkWrites.map((l) => l.data.customer_id),
  );

  const slowIds = [...slow];
  if (slowIds.length > 0) {
    await careful(async () => void (await recomputeCustomers(host, cid, slowIds, catalog)));
    stats.slow += slowIds.length;
  }
  return stats;
}

/** The `recompute` job: every customer of a connection (after it became primary), 200 at a time. */
export async function runRecompute(host: AppHost, payload: { connectionId: string }): Promise<void> {
  const conn = await getConnection(host, payload.connectionId);
  if (!conn) return;
  const s = stores(host);
  const { metadata_key: userIdKey } = await host.settings<{ metadata_key: string }>();
  const catalog = await loadCatalog(host, payload.connectionId);
  let after: string | undefined;
  for (;;) {
    const page = await s.customers.list({ after, limit: 200 });
    const ids = page.filter((r) => r.key.startsWith(`${payload.connectionId}:`)).map((r) => r.data.id);
    await settleCustomers(host, conn, ids, catalog, userIdKey);
    const last = page.at(-1);
    if (!last || page.length < 200) return;
    after = last.key;
  }
}
