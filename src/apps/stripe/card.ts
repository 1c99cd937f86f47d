/**
 * The inbox sidebar card (DESIGN.md §3.7, first part): the linked customer, its subscriptions and its three most
 * recent payments, read from the record store so it opens without calling Stripe. `refresh` refetches them.
 */
import type Stripe from 'stripe';
import { z } from 'zod';
import {
  ActionError,
  type AppHost,
  type CardView,
  type HostContact,
  type SidebarCardSpec,
} from '../../app-sdk/index.ts';
import { storeObject } from './pages.ts';
import { clientFor, listConnections, rankConnections } from './connections.ts';
import type { StripeHandle } from './client.ts';
import { toMajorUnits } from './currency.ts';
import { withPriceTiers } from './price-tiers.ts';
import { itemAmount, pickPrimaryItem } from './pricing.ts';
import { loadBundle, loadCatalog } from './bundle.ts';
import { recomputeCustomers } from './recompute.ts';
import { stores, type Connection, type Link } from './store.ts';
import { fetchVersion } from './versions.ts';
import { linkCustomer, unlinkCustomer } from './links.ts';

const money = (minor: number, currency: string) =>
  `${toMajorUnits(minor, currency)} ${currency.toUpperCase()}`;
const day = (unix: number | null | undefined) =>
  unix ? new Date(unix * 1000).toISOString().slice(0, 10) : '—';
const matchedBy: Record<Link['method'], string> = {
  link: 'linked',
  manual: 'linked by a teammate',
  user_id: 'matched by user id',
  email: 'matched by email',
  created: 'contact created from Stripe',
};

interface CardLink {
  link: Link;
  conn: Connection;
  /** A lead shown the card of the contact its address is linked through. */
  throughLead?: boolean;
  /** The same contact's customers in the other accounts, in §3.1's order. */
  others: { link: Link; conn: Connection }[];
}

async function ownLink(
  host: AppHost,
  contactId: string,
  ordered: Connection[],
): Promise<CardLink | undefined> {
  const links = (await stores(host).links.find('a', contactId)).map((r) => r.data);
  const all = ordered.flatMap((conn) => {
    const link = links.find((l) => l.connection_id === conn.id);
    return link ? [{ link, conn }] : [];
  });
  const [first, ...others] = all;
  return first ? { ...first, others } : undefined;
}

/**
 * The contact's link in each account, §3.1's order, or with `main` (a connection id the teammate chose to see) first
 * when it links the contact: the card then shows that account's customer, the others below.
 */
async function linkFor(host: AppHost, contact: HostContact, main?: string): Promise<CardLink | undefined> {
  const ordered = rankConnections(await listConnections(host));
  const own = await ownLink(host, contact.id, ordered);
  if (own && main && own.conn.id !== main) {
    const chosen = own.others.find((o) => o.conn.id === main);
    if (!chosen)
      throw new ActionError(
        404,
        'connection_not_found',
        `no connected account links this contact through connection ${main}`,
        'connection_id',
      );
    return {
      ...chosen,
      others: [{ link: own.link, conn: own.conn }, ...own.others.filter((o) => o !== chosen)],
    };
  }
  if (own || contact.role !== 'lead' || !contact.email) return own;
  // §3.2: leads with the same email are matched too. A customer links to one contact (a user before a lead), which
  // alone carries the stripe_* attributes, so a segment counts the customer once; the other leads with that
  // address show the same card, so a teammate talking to any of them sees the billing.
  const others = (await host.contacts.findByEmail(contact.email))
    .filter((c) => c.id !== contact.id)
    .sort((a, b) => Number(b.role === 'user') - Number(a.role === 'user') || a.id.localeCompare(b.id));
  for (const other of others) {
    const found = await ownLink(host, other.id, ordered);
    if (found) return { ...found, throughLead: true };
  }
  return undefined;
}

/** A teammate links the contact to a customer they know (an explicit link outranks user id and email). */
const LINK_ACTION = {
  id: 'link',
  label: 'Link',
  field: { name: 'customer_id', label: 'Stripe customer id', placeholder: 'cus_…' },
};

export async function loadCard(host: AppHost, contact: HostContact, main?: string): Promise<CardView> {
  const found = await linkFor(host, contact, main);
  if (!found) {
    const connected = (await listConnections(host)).length > 0;
    return {
      title: 'Stripe',
      sections: [],
      empty_state: connected
        ? 'No Stripe customer is linked to this contact. Link one by its id:'
        : 'No Stripe account is connected yet (Settings → Stripe).',
      ...(connected ? { actions: [LINK_ACTION] } : {}),
    };
  }
  const { link, conn, throughLead } = found;
  const s = stores(host);
  const bundle = await loadBundle(s, conn.id, link.customer_id, undefined, (p) => host.readRecords(p));
  if (!bundle)
    return { title: 'Stripe', sections: [], empty_state: 'The linked Stripe customer was deleted.' };
  const catalog = await loadCatalog(host, conn.id);
  const { customer } = bundle;
  const currency = customer.currency ?? bundle.subscriptions[0]?.currency ?? 'usd';
  const customerRow = await s.customers.get(`${conn.id}:${customer.id}`);
  const subs = [...bundle.subscriptions]
    .filter((sub) => !['canceled', 'incomplete_expired'].includes(sub.status))
    .sort((a, b) => b.created - a.created);
  const payments = [...bundle.charges].sort((a, b) => b.created - a.created).slice(0, 3);
  const planName = (sub: Stripe.Subscription) => {
    const item = pickPrimaryItem(sub);
    const product = item?.price.product;
    const p = typeof product === 'string' ? catalog.products.get(product) : product;
    return (p && !p.deleted ? p.name : item?.price.nickname) ?? 'subscription';
  };
  return {
    title: 'Stripe',
    subtitle: `${customer.name ?? customer.email ?? customer.id} · ${throughLead ? 'lead matched by email' : matchedBy[link.method]}`,
    badge: conn.livemode ? undefined : 'test mode',
    refreshed_at: customerRow?.updatedAt,
    sections: [
      {
        title: 'Customer',
        rows: [
          { label: 'ID', value: customer.id },
          { label: 'Email', value: customer.email ?? '—' },
          { label: 'Balance', value: money(customer.balance ?? 0, currency) },
          { label: 'Delinquent', value: customer.delinquent ? 'yes' : 'no' },
          { label: 'Account', value: `${conn.account_id} (${conn.livemode ? 'live' : 'test'})` },
        ],
      },
      {
        title: 'Subscriptions',
        rows: subs.map((sub) => {
          const item = pickPrimaryItem(sub);
          const interval = item?.price.recurring?.interval ?? '';
          // As the attributes count it: tiers, transform_quantity and metered usage included (pricing.ts).
          const amount = item ? money(itemAmount(item), sub.currency) : '';
          const trial = sub.status === 'trialing' ? `, trial ends ${day(sub.trial_end)}` : '';
          return {
            label: planName(sub),
            value: `${amount}/${interval} · ${sub.status} · since ${day(item?.current_period_start)}${trial}`,
          };
        }),
      },
      ...(await otherAccounts(host, found.others)),
      {
        title: 'Recent payments',
        rows: payments.map((ch) => {
          const status = ch.refunded ? 'refunded' : ch.status;
          const why = ch.status === 'failed' && ch.failure_message ? ` (${ch.failure_message})` : '';
          return { label: day(ch.created), value: `${money(ch.amount, ch.currency)} · ${status}${why}` };
        }),
      },
    ],
    actions: [
      // A switched view refreshes (and stays on) the account it shows.
      main
        ? { id: 'refresh', label: 'Refresh from Stripe', input: { connection_id: conn.id } }
        : { id: 'refresh', label: 'Refresh from Stripe' },
      ...found.others.map(({ conn: other }) => ({
        id: 'show_account',
        label: `Show ${other.account_id} (${other.livemode ? 'live' : 'test'})`,
        input: { connection_id: other.id },
      })),
      // Only a teammate's link can be undone here; matches by user id or email follow the data.
      ...(link.method === 'manual' && !throughLead
        ? [
            {
              id: 'unlink',
              label: 'Unlink',
              input: { connection_id: conn.id, customer_id: link.customer_id },
            },
          ]
        : []),
    ],
  };
}

const linkChoice = z.object({
  customer_id: z
    .string()
    .trim()
    .regex(/^cus_\w+$/, 'must be a Stripe customer id (cus_…)'),
  connection_id: z.string().min(1).max(200).optional(),
});

function chosenLink(input: unknown): z.infer<typeof linkChoice> {
  const parsed = linkChoice.safeParse(input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = ['input', ...(issue?.path ?? [])].join('.');
    throw new ActionError(400, 'invalid_input', `${path}: ${issue?.message ?? 'invalid'}`, path);
  }
  return parsed.data;
}

const accountInput = z.object({ connection_id: z.string().min(1).max(200) }).optional();

function chosenAccount(input: unknown): string | undefined {
  const parsed = accountInput.safeParse(input ?? undefined);
  if (!parsed.success)
    throw new ActionError(400, 'invalid_input', 'input must be {connection_id: string}', 'input');
  return parsed.data?.connection_id;
}

/**
 * §3.1: the card shows the primary account's customer (the one the attributes come from) and, below, the
 * contact's customers in the other connected accounts, so a teammate sees each account's billing.
 */
async function otherAccounts(host: AppHost, others: CardLink['others']) {
  const s = stores(host);
  const sections: CardView['sections'] = [];
  for (const { link, conn } of others) {
    const bundle = await loadBundle(s, conn.id, link.customer_id, undefined, (p) => host.readRecords(p));
    if (!bundle) continue;
    const { customer } = bundle;
    const currency = customer.currency ?? bundle.subscriptions[0]?.currency ?? 'usd';
    const live = bundle.subscriptions.filter(
      (sub) => !['canceled', 'incomplete_expired'].includes(sub.status),
    );
    sections.push({
      title: `Also in ${conn.account_id} (${conn.livemode ? 'live' : 'test'})`,
      rows: [
        { label: 'ID', value: customer.id },
        { label: 'Balance', value: money(customer.balance ?? 0, currency) },
        { label: 'Subscriptions', value: live.map((sub) => sub.status).join(', ') || 'none' },
      ],
    });
  }
  return sections;
}

/** Every page of a list, each one call through the budget, with the version of what it shows: when its request
 * was sent. */
async function* listPages<T extends { id: string }>(
  handle: StripeHandle,
  endpoint: string,
  list: (st: Stripe, after: string | undefined) => Promise<Stripe.ApiList<T>>,
): AsyncGenerator<{ data: T[]; version: number }> {
  let after: string | undefined;
  for (;;) {
    let sent = Date.now() / 1000;
    const page = await handle.call(
      endpoint,
      (st) => list(st, after),
      (t) => (sent = t),
    );
    yield { data: page.data, version: fetchVersion(sent) };
    const last = page.data.at(-1);
    if (!page.has_more || !last) return;
    after = last.id;
  }
}

/** Refetches the linked customer, its subscriptions and charges, then recomputes and reloads the card. */
export async function refreshCard(host: AppHost, contact: HostContact, main?: string): Promise<CardView> {
  const found = await linkFor(host, contact, main);
  if (!found) return loadCard(host, contact);
  const { link, conn } = found;
  const handle = await clientFor(host, conn);
  let started = Date.now() / 1000;
  const customer = await handle.call(
    'customers',
    (st) =>
      st.customers.retrieve(link.customer_id, {
        expand: ['invoice_settings.default_payment_method', 'default_source'],
      }),
    (t) => (started = t),
  );
  const v = fetchVersion(started);
  if (customer.deleted) {
    await stores(host).customers.remove(`${conn.id}:${customer.id}`, { version: v });
  } else {
    await storeObject(host, conn.id, 'customers', customer, v);
    // Each page through the budget (a refresh competes with the sync for the same limits), at its own version.
    for await (const page of listPages(handle, 'subscriptions', (st, after) =>
      st.subscriptions.list({
        customer: customer.id,
        status: 'all',
        limit: 100,
        expand: ['data.items.data.price', 'data.default_payment_method', 'data.discounts'],
        ...(after ? { starting_after: after } : {}),
      }),
    ))
      for (const sub of await withPriceTiers(host, handle, conn.id, page.data, page.version))
        await storeObject(host, conn.id, 'subscriptions', sub, page.version);
    for await (const page of listPages(handle, 'charges', (st, after) =>
      st.charges.list({ customer: customer.id, limit: 100, ...(after ? { starting_after: after } : {}) }),
    ))
      for (const ch of page.data) await storeObject(host, conn.id, 'charges', ch, page.version);
  }
  await recomputeCustomers(host, conn.id, [link.customer_id]);
  return loadCard(host, contact, main);
}

export const stripeCard: SidebarCardSpec = {
  id: 'stripe',
  title: 'Stripe',
  load: loadCard,
  actions: {
    refresh: (host, contact, input) => refreshCard(host, contact, chosenAccount(input)),
    // §3.1: the teammate switches the card to another account's customer of the same contact.
    show_account: (host, contact, input) => {
      const main = chosenAccount(input);
      if (!main)
        throw new ActionError(400, 'invalid_input', 'connection_id is required', 'input.connection_id');
      return loadCard(host, contact, main);
    },
    link: async (host, contact, input) => {
      const choice = chosenLink(input);
      await linkCustomer(host, { contact_id: contact.id, ...choice });
      return loadCard(host, contact, choice.connection_id);
    },
    unlink: async (host, contact, input) => {
      await unlinkCustomer(host, { contact_id: contact.id, ...chosenLink(input) });
      return loadCard(host, contact);
    },
  },
};
