/**
 * From stored Stripe objects to contacts: matching (§3.2) and attributes (§3.3). Matching runs over a set closed
 * under "shares a normalised email" plus every contact any of them could match, so the outcome is the same
 * whatever order objects and webhooks arrived in. Only teammates' links (`manual`) count as explicit links: a link
 * an earlier sync made is recomputed, never trusted, so it cannot freeze an order-dependent choice.
 */
import type Stripe from 'stripe';
import type { AppHost, AttributeValue, HostContact, StoredRecord } from '../../app-sdk/index.ts';
import { stripeAttributes } from './attributes.ts';
import {
  attributesFor,
  bundleProbes,
  catalogFor,
  loadBundle,
  type Catalog,
  type CustomerBundle,
} from './bundle.ts';
import { connectionRanks, linksByContact, sourceLinks } from './attribute-source.ts';
import { getConnection } from './connections.ts';
import {
  customerFacts,
  normaliseEmail,
  resolveAccountMatches,
  type ContactCandidate,
  type CustomerFacts,
  type MatchOptions,
} from './matching.ts';
import { emailIndex, objectKey, stores, type Connection, type Link, type Stores } from './store.ts';
import { ReadLog } from './read-log.ts';
import { releaseTimelineEntries } from './held-timeline.ts';

export const clearedAttributes = (): Record<string, null> =>
  Object.fromEntries(stripeAttributes.map((a) => [a.name, null]));

async function candidatesFor(
  contactsApi: AppHost['contacts'],
  customers: readonly Stripe.Customer[],
  userIdKey: string,
  manual: readonly Link[],
): Promise<(ContactCandidate & HostContact)[]> {
  // One statement per kind of lookup, whatever the number of customers (a batch of events recomputes many).
  const emails = customers.flatMap((c) => (c.email ? [c.email] : []));
  const userIds = customers.flatMap((c) => {
    const userId = c.metadata?.[userIdKey]?.trim();
    return userId ? [userId] : [];
  });
  const byId = new Map<string, HostContact>();
  if (emails.length > 0)
    for (const contact of await contactsApi.findByEmails(emails)) byId.set(contact.id, contact);
  if (userIds.length > 0)
    for (const contact of await contactsApi.findByExternalIds(userIds)) byId.set(contact.id, contact);
  for (const l of manual) {
    const contact = await contactsApi.get(l.contact_id);
    if (contact) byId.set(contact.id, contact);
  }
  return [...byId.values()];
}

/**
 * Recomputes the given customers of one connection and every customer sharing an email with them: links, new
 * contacts for customers nobody matches, and (for the primary connection) the attributes of each matched contact.
 * A contact that lost its customer has its attributes removed. Each round logs its reads and checks them after
 * writing (read-log.ts); a round whose inputs changed meanwhile runs again, so concurrent jobs cannot leave the
 * result of older data in place.
 */
export async function recomputeCustomers(
  host: AppHost,
  connectionId: string,
  customerIds: readonly string[],
  catalog?: Catalog,
  /**
   * What the caller already read (the apply job): saves two queries per event; `customers` it has just written
   * (their `put` answered true) are not read again in the first round.
   */
  known?: { conn: Connection; userIdKey: string; customers?: ReadonlyMap<string, JustWritten> },
  /** Contacts a teammate's link or unlink just took a customer from: cleared, or given to whoever holds them. */
  releasedBefore: readonly string[] = [],
  /** How many recomputes of other connections led here (a contact whose source account changed). */
  depth = 0,
): Promise<RecomputeResult | undefined> {
  const conn = known?.conn ?? (await getConnection(host, connectionId));
  if (!conn) return undefined;
  const userIdKey = known?.userIdKey ?? (await host.settings<{ metadata_key: string }>()).metadata_key;
  let ids = [...customerIds];
  const released = new Set<string>(releasedBefore);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const log = new ReadLog(host);
    const written = new Set<string>();
    const { more, catalog: used } = await recomputeRound(
      host,
      log,
      conn,
      userIdKey,
      ids,
      released,
      catalog,
      written,
      round === 0 ? known?.customers : undefined,
      depth,
    );
    if (more.length === 0 && (await log.unchanged())) return { catalog: used };
    // This round read data that changed meanwhile, so the contacts it wrote may no longer hold these customers
    // (another job moved the link): the next round checks them like released ones, clearing or recomputing them.
    for (const contactId of written) released.add(contactId);
    ids = [...new Set([...ids, ...more])];
  }
  // Very busy customers: the job fails and the queue retries it later, when the burst has passed.
  throw new Error(`recompute of ${customerIds.join(',')} did not settle after ${MAX_ROUNDS} rounds`);
}

const MAX_ROUNDS = 8;

/** A customer record as the caller's `put` left it. */
export interface JustWritten {
  key: string;
  version: number;
  deleted: false;
  data: Stripe.Customer;
}

export interface RecomputeResult {
  catalog: Catalog;
}

/** The address's user contact: made now, or the one another writer made first (createUsers never makes two). */
async function createContactFor(host: AppHost, customer: Stripe.Customer, email: string) {
  const [contact] = await host.contacts.createUsers([
    { email: customer.email ?? email, ...(customer.name ? { name: customer.name } : {}) },
  ]);
  return contact as HostContact;
}

/**
 * The `create_contact` job, which versions before session 12 enqueued as a per-address claim (createUsers now
 * makes at most one user per address by itself). A job such a version left queued recomputes the address's
 * customers if one of them has no live contact.
 */
export async function runCreateContact(host: AppHost, payload: { connectionId: string; email: string }) {
  const s = stores(host);
  const idx = emailIndex(payload.connectionId, payload.email);
  const owners = idx ? await s.customers.find('b', idx, { limit: 1000 }) : [];
  if (owners.length === 0) return;
  // Normally the creator made the contact and linked its customers: nothing to do (unless a teammate deleted
  // that contact since, in which case it is made again now rather than at the customer's next change).
  const linked = await Promise.all(owners.map((r) => contactOf(host, payload.connectionId, r.data.id)));
  const alive = await Promise.all(linked.map(async (id) => !!id && !!(await host.contacts.get(id))));
  if (alive.every(Boolean)) return;
  await recomputeCustomers(
    host,
    payload.connectionId,
    owners.map((r) => r.data.id),
  );
}

/**
 * One round: returns customers that must join the next round (they now link to a contact this job released, so
 * that contact's attributes must come from them rather than be cleared).
 */
async function recomputeRound(
  host: AppHost,
  log: ReadLog,
  conn: Connection,
  userIdKey: string,
  customerIds: readonly string[],
  released: Set<string>,
  catalog: Catalog | undefined,
  /** Contacts whose attributes this round wrote. */
  written: Set<string>,
  justWritten: ReadonlyMap<string, JustWritten> | undefined,
  depth: number,
): Promise<{ more: string[]; catalog: Catalog }> {
  const connectionId = conn.id;
  const raw = stores(host);
  const s: Stores = {
    ...raw,
    customers: log.collection(raw.customers),
    subscriptions: log.collection(raw.subscriptions),
    charges: log.collection(raw.charges),
    paymentMethods: log.collection(raw.paymentMethods),
    links: log.collection(raw.links),
    products: log.collection(raw.products),
    coupons: log.collection(raw.coupons),
  };
  const contactsApi = log.contacts(host.contacts);

  // Close the set under "shares a normalised email", reading the customers, their links and each new address's
  // sharers in one statement per step (a customer this job has just written is not read again).
  const customers = new Map<string, Stripe.Customer>();
  const linkRecs = new Map<string, Link>();
  const gone: string[] = [];
  const seenEmails = new Set<string>();
  const emails: string[] = [];
  const found = (id: string, data: Stripe.Customer) => {
    if (customers.has(id)) return false;
    customers.set(id, data);
    const idx = emailIndex(connectionId, data.email);
    if (idx && !seenEmails.has(idx)) {
      seenEmails.add(idx);
      emails.push(idx);
    }
    return true;
  };
  let wanted: string[] = [];
  for (const id of new Set(customerIds)) {
    const seed = justWritten?.get(id);
    if (seed) {
      log.seen({ collection: raw.customers.name, key: seed.key }, seed);
      found(id, seed.data);
    } else wanted.push(id);
  }
  let linksWanted = [...new Set(customerIds)];
  // The lists of the customers known before the first read (just written) come with it.
  const listsOf = new Map<string, StoredRecord<unknown>[][]>();
  let listsWanted = [...customers.keys()];
  while (wanted.length > 0 || linksWanted.length > 0 || emails.length > 0) {
    const sharedBy = emails.splice(0);
    const answers = await log.readAll([
      ...wanted.map((id) => ({ collection: raw.customers.name, key: objectKey(connectionId, id) })),
      ...linksWanted.map((id) => ({ collection: raw.links.name, key: objectKey(connectionId, id) })),
      ...sharedBy.map((value) => ({
        collection: raw.customers.name,
        index: 'b' as const,
        value,
        limit: 1000,
      })),
      ...listsWanted.flatMap((id) => bundleProbes(raw, connectionId, id)),
    ]);
    let n = 0;
    const fresh: string[] = [];
    for (const id of wanted) {
      const rec = answers[n++]?.[0];
      if (!rec || rec.deleted) gone.push(id);
      else if (found(id, rec.data as Stripe.Customer)) fresh.push(id);
    }
    for (const id of linksWanted) {
      const l = answers[n++]?.[0];
      if (l && !l.deleted) linkRecs.set(id, l.data as Link);
    }
    for (let i = 0; i < sharedBy.length; i++) {
      for (const rec of answers[n++] ?? []) {
        const c = rec.data as Stripe.Customer;
        if (found(c.id, c)) fresh.push(c.id);
      }
    }
    for (const id of listsWanted)
      listsOf.set(id, [answers[n++] ?? [], answers[n++] ?? [], answers[n++] ?? []]);
    listsWanted = [];
    wanted = [];
    // The links of customers met through a shared address (those asked for had theirs read already).
    linksWanted = fresh.filter((id) => !customerIds.includes(id));
  }

  const manual = [...linkRecs.values()].filter((l) => l.method === 'manual');
  const contacts = await candidatesFor(contactsApi, [...customers.values()], userIdKey, manual);

  const facts: CustomerFacts[] = [];
  const bundles = new Map<string, CustomerBundle>();
  for (const id of customers.keys()) {
    const read = listsOf.get(id);
    const bundle = await loadBundle(s, connectionId, id, customers.get(id), (p) =>
      read ? Promise.resolve(read) : log.readAll(p),
    );
    if (!bundle) continue;
    bundles.set(id, bundle);
    facts.push(customerFacts(bundle.customer, bundle.subscriptions));
  }
  const options: MatchOptions = {
    userIdKey,
    links: new Map(manual.map((l) => [l.customer_id, l.contact_id])),
  };
  const result = resolveAccountMatches(facts, contacts, options);

  const now = Math.floor(Date.now() / 1000);
  const target = new Map<string, { contactId: string; method: Link['method'] }>();
  for (const [customerId, m] of result.matches) {
    // Only the teammate's link itself stays `manual` (matched through it). A manual link whose contact was deleted
    // is no candidate, so the customer matched by user_id or email now: that contact was not a teammate's choice.
    target.set(customerId, { contactId: m.contactId, method: m.method === 'link' ? 'manual' : m.method });
  }
  for (const customerId of result.create) {
    const customer = customers.get(customerId);
    const email = normaliseEmail(customer?.email);
    if (!customer || !email) continue;
    // Another run may have created it meanwhile: reuse a user with that email.
    const existing = (await contactsApi.findByEmail(email)).find((c) => c.role === 'user');
    if (existing) {
      target.set(customerId, { contactId: existing.id, method: 'created' });
      continue;
    }
    // Two jobs creating a contact for one new address at once (a webhook's apply and a backfill page, or two
    // applies) get the same one: createUsers locks the address and answers the contact the first one made.
    const contact = await createContactFor(host, customer, email);
    target.set(customerId, { contactId: contact.id, method: 'created' });
  }

  const catalogNow = catalog ?? (await catalogFor(s, conn, bundles.values()));
  // §3.1: a contact that a better-ranked account (the primary, or an older connection) links takes its attributes
  // from there; this connection writes only the others'. The primary outranks everyone: nothing to read.
  const ranks = conn.primary ? undefined : await connectionRanks(host);
  const outranked = new Set<string>();
  if (ranks) {
    const targets = [...target.values()].map((t) => t.contactId);
    for (const [contactId, links] of await linksByContact(log, raw.links.name, targets)) {
      const source = sourceLinks(links, ranks)[0];
      if (source && (ranks.get(source.connection_id) ?? 0) < (ranks.get(connectionId) ?? 0))
        outranked.add(contactId);
    }
  }
  /** Attribute writes, by contact, all in one statement after the links. */
  const attributes = new Map<string, Record<string, AttributeValue | null>>();
  for (const customerId of [...customers.keys(), ...gone]) {
    const before = linkRecs.get(customerId);
    const after = target.get(customerId);
    const key = objectKey(connectionId, customerId);
    if (before && before.contact_id !== after?.contactId) released.add(before.contact_id);
    if (after) {
      if (!before || before.contact_id !== after.contactId || before.method !== after.method) {
        const link: Link = {
          connection_id: connectionId,
          customer_id: customerId,
          contact_id: after.contactId,
          method: after.method,
          linked_at: now,
        };
        const current = await raw.links.get(key);
        await raw.links.put(key, link, {
          version: (current?.version ?? 0) + 1,
          a: after.contactId,
          b: connectionId,
        });
        await releaseTimelineEntries(host, connectionId, [customerId]);
      }
      const bundle = bundles.get(customerId);
      if (bundle && !outranked.has(after.contactId)) {
        const values = attributesFor(bundle, catalogNow, conn);
        // Unchanged values are not written again (most events change one or two attributes, or none). Safe with
        // the read check: a job that wrote other values after our read had older inputs, and fixes itself.
        const current = contacts.find((c) => c.id === after.contactId)?.custom_attributes;
        if (!current || !sameAttributes(current, values)) {
          // Two customers on one contact: the later one's values, as when each was written in turn.
          attributes.delete(after.contactId);
          attributes.set(after.contactId, values);
          written.add(after.contactId);
        }
      }
    } else if (before) {
      const current = await raw.links.get(key);
      await raw.links.remove(key, { version: (current?.version ?? 0) + 1 });
    }
  }
  await host.contacts.setAttributesMany(
    [...attributes].map(([contactId, values]) => ({ contactId, values })),
  );
  // A contact this connection's customer left (or that an earlier round wrote) gets its attributes from whoever links
  // it now (§3.1's order): another customer of this connection (next round), another account's customer (recomputed
  // there, so that account writes last), or nobody (cleared: no stale billing data).
  const more: string[] = [];
  if (released.size > 0) {
    const order = ranks ?? (await connectionRanks(host));
    const byContact = await linksByContact(log, raw.links.name, [...released]);
    const elsewhere = new Map<string, Set<string>>();
    for (const contactId of released) {
      const source = sourceLinks(byContact.get(contactId) ?? [], order);
      const from = source[0]?.connection_id;
      if (!from) {
        if (await contactsApi.get(contactId))
          await host.contacts.setAttributes(contactId, clearedAttributes());
      } else if (from === connectionId) {
        for (const l of source) if (!customers.has(l.customer_id)) more.push(l.customer_id);
      } else {
        const ids = elsewhere.get(from) ?? new Set<string>();
        for (const l of source) ids.add(l.customer_id);
        elsewhere.set(from, ids);
      }
    }
    // Bounded: two accounts whose recomputes kept handing a contact back and forth would otherwise never end.
    if (depth < 2)
      for (const [other, ids] of elsewhere)
        await recomputeCustomers(host, other, [...ids], undefined, undefined, [], depth + 1);
  }
  return { more, catalog: catalogNow };
}

function sameAttributes(current: Record<string, unknown>, values: Record<string, unknown>): boolean {
  for (const [k, v] of Object.entries(values)) {
    const c = current[k] ?? null;
    if (v === null ? c !== null : JSON.stringify(c) !== JSON.stringify(v)) return false;
  }
  return true;
}

/** The contact a customer is linked to, if any. */
export async function contactOf(host: AppHost, connectionId: string, customerId: string) {
  const l = await stores(host).links.get(objectKey(connectionId, customerId));
  return l && !l.deleted ? l.data.contact_id : undefined;
}
