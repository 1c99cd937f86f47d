// Customers: CRUD, list (email, created), search (`email:'…'`, `name:'…'`, `metadata['k']:'v'`).
import type Stripe from 'stripe';
import { fill, randomUpper, type BuildEnv } from '../build-env.ts';
import { invalid, noSuch } from '../errors.ts';
import { envelope, listParams } from '../list.ts';
import { applyMetadata, int, nullableStr, obj, str, strArr, type Params } from '../params.ts';
import { previousAttributes, snapshot } from '../events.ts';
import type { Ctx, Router } from '../router.ts';
import { resolvePaymentMethod } from './payment-methods.ts';
import { cancelSubscriptionNow } from './subscriptions.ts';

export function buildCustomer(env: BuildEnv, partial: Partial<Stripe.Customer> = {}): Stripe.Customer {
  const base: Stripe.Customer = {
    id: env.ids('cus', 14),
    object: 'customer',
    address: null,
    balance: 0,
    created: env.now,
    currency: null,
    customer_account: null,
    default_source: null,
    delinquent: false,
    description: null,
    discount: null,
    email: null,
    invoice_prefix: randomUpper(env, 8),
    invoice_settings: {
      custom_fields: null,
      default_payment_method: null,
      footer: null,
      rendering_options: null,
    },
    livemode: env.livemode,
    metadata: {},
    name: null,
    next_invoice_sequence: 1,
    phone: null,
    preferred_locales: [],
    shipping: null,
    tax_exempt: 'none',
    test_clock: null,
  };
  return fill(base, partial);
}

export function getCustomer(ctx: Ctx, id: string, param = 'customer'): Stripe.Customer {
  const c = ctx.acct.customers.get(id);
  if (!c) throw noSuch('customer', id, param);
  return c;
}

function env(ctx: Ctx): BuildEnv {
  return { ids: ctx.emu.ids, now: ctx.now, livemode: ctx.acct.livemode };
}

export { env as buildEnv };

function applyCommon(ctx: Ctx, c: Stripe.Customer, p: Params): Stripe.Customer {
  const next: Stripe.Customer = { ...c, invoice_settings: { ...c.invoice_settings } };
  next.email = nullableStr(p, 'email', c.email);
  next.name = nullableStr(p, 'name', c.name ?? null);
  next.description = nullableStr(p, 'description', c.description);
  next.phone = nullableStr(p, 'phone', c.phone ?? null);
  next.metadata = applyMetadata(c.metadata, p);
  const balance = int(p, 'balance');
  if (balance !== undefined) next.balance = balance;
  const locales = strArr(p, 'preferred_locales');
  if (locales) next.preferred_locales = locales;
  if (p.email !== undefined && next.email && !/^[^@\s]+@[^@\s]+$/.test(next.email)) {
    throw invalid('Invalid email address: ' + next.email, 'email');
  }
  const inv = obj(p, 'invoice_settings');
  if (inv && inv.default_payment_method !== undefined) {
    const pmId = str(inv, 'default_payment_method');
    if (!pmId) next.invoice_settings.default_payment_method = null;
    else {
      const pm = ctx.acct.paymentMethods.get(pmId);
      if (!pm || pm.customer !== c.id) {
        throw invalid(
          `No such PaymentMethod: '${pmId}'; It's possible this PaymentMethod exists on one of your connected accounts, in which case you should retry this request on that connected account.`,
          'invoice_settings[default_payment_method]',
          'resource_missing',
        );
      }
      next.invoice_settings.default_payment_method = pmId;
    }
  }
  return next;
}

export function registerCustomers(r: Router): void {
  r.add('POST', '/v1/customers', (ctx, p) => {
    const pmId = str(p, 'payment_method');
    const pm = pmId ? resolvePaymentMethod(ctx, pmId, 'payment_method') : undefined;
    const blank = buildCustomer(env(ctx));
    ctx.acct.save(blank);
    // Attached before the other fields apply, so `invoice_settings[default_payment_method]` may name it.
    if (pm) ctx.acct.save({ ...pm, customer: blank.id });
    let c: Stripe.Customer;
    try {
      c = applyCommon(ctx, blank, p);
    } catch (err) {
      ctx.acct.remove('customer', blank.id);
      if (pm) ctx.acct.save(pm);
      throw err;
    }
    ctx.acct.save(c);
    ctx.emit('customer.created', c);
    if (pm) ctx.emit('payment_method.attached', ctx.acct.paymentMethods.get(pm.id) ?? pm);
    return ctx.acct.customers.get(c.id) ?? c;
  });

  r.add('GET', '/v1/customers/search', (ctx, p) => {
    const query = str(p, 'query', true) as string;
    const limit = int(p, 'limit') ?? 10;
    if (limit < 1 || limit > 100) throw invalid('Invalid integer: limit must be between 1 and 100.', 'limit');
    const offset = Number(Buffer.from(str(p, 'page') ?? '', 'base64url').toString() || '0') || 0;
    const all = searchCustomers(ctx, query);
    const data = all.slice(offset, offset + limit);
    const more = offset + limit < all.length;
    return {
      object: 'search_result',
      data,
      has_more: more,
      next_page: more ? Buffer.from(String(offset + limit)).toString('base64url') : null,
      url: '/v1/customers/search',
    };
  });

  r.add('GET', '/v1/customers', (ctx, p) => {
    const lp = listParams(p);
    const email = str(p, 'email');
    const page = ctx.acct.customers.page({
      ...lp,
      ids: email ? ctx.acct.byEmail.get(email.trim().toLowerCase()) : undefined,
      filter: email ? (c) => c.email === email : undefined,
    });
    return envelope('/v1/customers', page);
  });

  r.add('GET', '/v1/customers/:id', (ctx, _p, [id]) => {
    if (ctx.acct.deletedCustomers.has(id as string)) return { id, object: 'customer', deleted: true };
    return getCustomer(ctx, id as string, 'id');
  });

  r.add('POST', '/v1/customers/:id', (ctx, p, [id]) => {
    const before = getCustomer(ctx, id as string, 'id');
    const after = applyCommon(ctx, before, p);
    ctx.acct.save(after);
    const prev = previousAttributes(before, after);
    if (Object.keys(prev).length > 0) ctx.emit('customer.updated', after, prev);
    return after;
  });

  r.add('DELETE', '/v1/customers/:id', (ctx, _p, [id]) => {
    const c = getCustomer(ctx, id as string, 'id');
    for (const subId of ctx.acct.byCustomer.subscription.get(c.id)) {
      const s = ctx.acct.subscriptions.get(subId);
      if (s && s.status !== 'canceled' && s.status !== 'incomplete_expired') cancelSubscriptionNow(ctx, s);
    }
    for (const pmId of [...ctx.acct.byCustomer.payment_method.get(c.id)]) {
      const pm = ctx.acct.paymentMethods.get(pmId);
      if (pm) ctx.acct.save({ ...pm, customer: null });
    }
    const last = snapshot(c);
    ctx.acct.remove('customer', c.id);
    ctx.acct.deletedCustomers.add(c.id);
    ctx.emit('customer.deleted', last);
    return { id: c.id, object: 'customer', deleted: true };
  });
}

/** Stripe's search language, the subset Settle uses: `field:'value'` clauses joined by AND. */
export function searchCustomers(ctx: Ctx, query: string): Stripe.Customer[] {
  const clauses = query.split(/\s+AND\s+/i).map((c) => c.trim());
  const tests: Array<(c: Stripe.Customer) => boolean> = [];
  let candidates: Set<string> | null = null;
  for (const clause of clauses) {
    const m = /^(email|name|phone|metadata\[['"]([^'"]+)['"]\])\s*(:|~)\s*['"](.*)['"]$/.exec(clause);
    if (!m) throw invalid(`Invalid search query: ${clause}`, 'query');
    const [, field, metaKey, op, value = ''] = m;
    if (field === 'email' && op === ':') {
      candidates = ctx.acct.byEmail.get(value.toLowerCase());
      tests.push((c) => (c.email ?? '').toLowerCase() === value.toLowerCase());
    } else if (field === 'email' || field === 'name' || field === 'phone') {
      const f = field;
      tests.push((c) => {
        const v = (c[f] ?? '').toLowerCase();
        return op === ':' ? v === value.toLowerCase() : v.includes(value.toLowerCase());
      });
    } else if (metaKey) {
      tests.push((c) => c.metadata[metaKey] === value);
    }
  }
  const pool: Iterable<Stripe.Customer> = candidates
    ? [...candidates].map((id) => ctx.acct.customers.get(id)).filter((c): c is Stripe.Customer => !!c)
    : ctx.acct.customers.values();
  const out: Stripe.Customer[] = [];
  for (const c of pool) if (tests.every((t) => t(c))) out.push(c);
  return out.sort((a, b) => b.created - a.created);
}
