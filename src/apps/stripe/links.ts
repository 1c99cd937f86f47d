/**
 * Teammates' links (DESIGN.md §3.2, §3.7): from the card, a teammate links a contact to a Stripe customer, and the
 * link outranks user ids and emails ("explicit link wins"), follows the customer through later email changes, and
 * takes the contact from any customer that held it by email (which is then listed as a conflict). Unlinking removes
 * a teammate's link and gives the customer back to automatic matching. Links the sync made are not unlinked: the
 * sync would make them again at the next change, so the answer says to link the customer elsewhere instead.
 */
import type Stripe from 'stripe';
import { ActionError, type AppHost } from '../../app-sdk/index.ts';
import { isNotFound } from './client.ts';
import { clientFor, getConnection, primaryConnection } from './connections.ts';
import { storeObject } from './pages.ts';
import { recomputeCustomers } from './recompute.ts';
import { emailIndex, objectKey, stores, type Connection, type Link } from './store.ts';
import { fetchVersion } from './versions.ts';

export interface LinkInput {
  contact_id: string;
  customer_id: string;
  connection_id?: string | undefined;
}

async function connectionFor(host: AppHost, id: string | undefined): Promise<Connection> {
  const conn = id ? await getConnection(host, id) : await primaryConnection(host);
  if (!conn)
    throw new ActionError(
      404,
      'connection_not_found',
      id ? `no Stripe connection ${id}` : 'no Stripe account is connected',
      'connection_id',
    );
  return conn;
}

/** The customer from the store, or from Stripe when the sync has not brought it yet. */
async function customerFor(host: AppHost, conn: Connection, id: string): Promise<Stripe.Customer> {
  const stored = await stores(host).customers.get(objectKey(conn.id, id));
  if (stored && !stored.deleted) return stored.data;
  const handle = await clientFor(host, conn);
  let sentAt = Date.now() / 1000;
  try {
    const fresh = await handle.call(
      'customers',
      (s) =>
        s.customers.retrieve(id, { expand: ['invoice_settings.default_payment_method', 'default_source'] }),
      (t) => (sentAt = t),
    );
    if (!('deleted' in fresh && fresh.deleted)) {
      await storeObject(host, conn.id, 'customers', fresh, fetchVersion(sentAt));
      return fresh as Stripe.Customer;
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  throw new ActionError(404, 'customer_not_found', `no Stripe customer ${id} in this account`, 'customer_id');
}

const publicLink = (l: Link) => ({
  connection_id: l.connection_id,
  customer_id: l.customer_id,
  contact_id: l.contact_id,
  method: l.method,
  linked_at: l.linked_at,
});

export async function linkCustomer(host: AppHost, input: LinkInput) {
  const conn = await connectionFor(host, input.connection_id);
  if (!(await host.contacts.get(input.contact_id)))
    throw new ActionError(404, 'contact_not_found', `no contact ${input.contact_id}`, 'contact_id');
  await customerFor(host, conn, input.customer_id);
  const s = stores(host);
  const key = objectKey(conn.id, input.customer_id);
  const current = await s.links.get(key);
  const before = current && !current.deleted ? current.data : undefined;
  const link: Link = {
    connection_id: conn.id,
    customer_id: input.customer_id,
    contact_id: input.contact_id,
    method: 'manual',
    linked_at: Math.floor(Date.now() / 1000),
  };
  await s.links.put(key, link, { version: (current?.version ?? 0) + 1, a: input.contact_id, b: conn.id });
  // The customers that held this contact until now lose it to the explicit link: recomputed together.
  const holders = (await s.links.find('a', input.contact_id, { limit: 100 }))
    .map((r) => r.data)
    .filter((l) => l.connection_id === conn.id && l.customer_id !== input.customer_id);
  await recomputeCustomers(
    host,
    conn.id,
    [input.customer_id, ...holders.map((l) => l.customer_id)],
    undefined,
    undefined,
    before && before.contact_id !== input.contact_id ? [before.contact_id] : [],
  );
  return { link: publicLink(link) };
}

export async function unlinkCustomer(host: AppHost, input: LinkInput) {
  const conn = await connectionFor(host, input.connection_id);
  const s = stores(host);
  const key = objectKey(conn.id, input.customer_id);
  const current = await s.links.get(key);
  if (!current || current.deleted || current.data.contact_id !== input.contact_id)
    throw new ActionError(
      404,
      'link_not_found',
      `customer ${input.customer_id} is not linked to contact ${input.contact_id}`,
      'customer_id',
    );
  if (current.data.method !== 'manual')
    throw new ActionError(
      400,
      'not_linked_by_teammate',
      `customer ${input.customer_id} was matched by the sync (${current.data.method}), which would match it again; link it to another contact instead`,
      'customer_id',
    );
  await s.links.remove(key, { version: current.version + 1 });
  // Automatic matching decides again, for this customer and for those that share the contact's email.
  const contact = await host.contacts.get(input.contact_id);
  const idx = emailIndex(conn.id, contact?.email);
  const sharing = idx ? await s.customers.find('b', idx, { limit: 100 }) : [];
  await recomputeCustomers(
    host,
    conn.id,
    [input.customer_id, ...sharing.map((r) => r.data.id)],
    undefined,
    undefined,
    [input.contact_id],
  );
  return { unlinked: publicLink(current.data) };
}
