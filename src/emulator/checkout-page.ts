// The hosted Checkout page and the billing portal page. Self-contained HTML (no external assets); every piece
// of customer or catalog text is escaped; a strict CSP forbids scripts entirely.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type Stripe from 'stripe';
import { makeCtx } from './context.ts';
import type { Emulator } from './emulator.ts';
import { ApiError } from './errors.ts';
import { parseForm } from './form.ts';
import type { Account } from './account.ts';
import { completeCheckout, type CardInput } from './resources/checkout.ts';
import { finishAuthentication } from './resources/payment-intents.ts';
import { cardFromNumber } from './test-cards.ts';

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"'`=/]/g, (c) => `&#${c.charCodeAt(0)};`);
}

function money(amount: number, currency: string): string {
  const zeroDecimal = ['jpy', 'krw', 'vnd', 'clp', 'isk', 'ugx', 'xaf', 'xof'].includes(currency);
  const major = zeroDecimal ? amount : amount / 100;
  return `${major.toLocaleString('en-US', { minimumFractionDigits: zeroDecimal ? 0 : 2, maximumFractionDigits: zeroDecimal ? 0 : 2 })} ${currency.toUpperCase()}`;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:640px;margin:2rem auto;padding:0 1rem;color:#1a1f36}
h1{font-size:1.4rem}table{width:100%;border-collapse:collapse}td{padding:.4rem 0}td.amt{text-align:right}
.total td{border-top:1px solid #ccc;font-weight:600}label{display:block;margin:.6rem 0 .2rem}
input{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}button{margin-top:1rem;padding:.7rem 1.4rem;font-size:1rem;background:#635bff;color:#fff;border:0;border-radius:4px}
.error{color:#df1b41;background:#fff0f3;padding:.6rem;border-radius:4px}.test{color:#b35900;font-size:.85rem}`;

export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><style>${STYLE}</style></head><body>${body}</body></html>`;
}

export function send(
  res: ServerResponse,
  status: number,
  html: string,
  extra: Record<string, string> = {},
): true {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https:; base-uri 'none'",
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    ...extra,
  });
  res.end(html);
  return true;
}

function findSession(
  emu: Emulator,
  id: string,
): { acct: Account; session: Stripe.Checkout.Session } | undefined {
  for (const acct of emu.accounts.values()) {
    const session = acct.checkoutSessions.get(id);
    if (session) return { acct, session };
  }
  return undefined;
}

function checkoutHtml(
  acct: Account,
  s: Stripe.Checkout.Session,
  error: string | null,
  values: Record<string, string>,
): string {
  const items = acct.checkoutLineItems.get(s.id) ?? [];
  const currency = s.currency ?? 'usd';
  const rows = items
    .map((li) => {
      const interval = li.price?.recurring
        ? ` / ${li.price.recurring.interval_count > 1 ? `${li.price.recurring.interval_count} ` : ''}${li.price.recurring.interval}`
        : '';
      return `<tr><td>${escapeHtml(li.description ?? '')} × ${li.quantity ?? 1}</td><td class="amt">${escapeHtml(money(li.amount_subtotal, currency))}${escapeHtml(interval)}</td></tr>`;
    })
    .join('');
  const discount = s.total_details?.amount_discount ?? 0;
  const trial = s.metadata?.__trial_period_days;
  // Checkout fills in the email the session was created with (`customer_email`).
  const v = (k: string): string => escapeHtml(values[k] ?? (k === 'email' ? (s.customer_email ?? '') : ''));
  const cancel = s.cancel_url
    ? `<p><a href="${escapeHtml(s.cancel_url)}" id="cancel">Cancel and go back</a></p>`
    : '';
  const form =
    s.status === 'open'
      ? `<form method="post" action="/checkout/pay/${escapeHtml(s.id)}">
<label for="email">Email</label><input id="email" name="email" type="email" value="${v('email')}" ${s.customer ? '' : 'required'}>
<label for="cardnumber">Card number</label><input id="cardnumber" name="number" inputmode="numeric" autocomplete="cc-number" placeholder="4242 4242 4242 4242" value="${v('number')}" required>
<label for="exp">Expiry (MM / YY)</label><input id="exp" name="exp" placeholder="12 / 34" value="${v('exp')}" required>
<label for="cvc">CVC</label><input id="cvc" name="cvc" inputmode="numeric" placeholder="123" value="${v('cvc')}" required>
<label for="name">Name on card</label><input id="name" name="name" value="${v('name')}">
<button type="submit" id="submit">${trial ? 'Start trial' : 'Subscribe'}</button></form>`
      : `<p id="status">This Checkout Session is ${escapeHtml(s.status ?? 'closed')}.</p>`;
  return page(
    'Checkout',
    `<p class="test">TEST MODE — Settle Stripe emulator. Use a Stripe test card such as 4242 4242 4242 4242.</p>
<h1>Subscribe</h1>
<table>${rows}
${discount ? `<tr><td>Discount</td><td class="amt">−${escapeHtml(money(discount, currency))}</td></tr>` : ''}
<tr class="total"><td>${trial ? `Total due today (${escapeHtml(trial)}-day trial)` : 'Total due today'}</td><td class="amt" id="total">${escapeHtml(money(trial ? 0 : (s.amount_total ?? 0), currency))}</td></tr></table>
${error ? `<p class="error" role="alert" id="error">${escapeHtml(error)}</p>` : ''}
${form}${cancel}`,
  );
}

function portalHtml(acct: Account, session: Stripe.BillingPortal.Session): string {
  const customer = acct.customers.get(session.customer);
  const subs = [...acct.byCustomer.subscription.get(session.customer)]
    .map((id) => acct.subscriptions.get(id))
    .filter((s): s is Stripe.Subscription => !!s && s.status !== 'canceled');
  const rows = subs
    .map((s) => {
      const names = s.items.data
        .map((i) => acct.products.get(String(i.price.product))?.name ?? String(i.price.product))
        .join(', ');
      return `<li>${escapeHtml(names)} — ${escapeHtml(s.status)}${s.cancel_at_period_end ? ' (cancels at period end)' : ''}</li>`;
    })
    .join('');
  const back = session.return_url ? `<p><a href="${escapeHtml(session.return_url)}">Return</a></p>` : '';
  return page(
    'Billing portal',
    `<p class="test">TEST MODE — Settle Stripe emulator</p><h1>${escapeHtml(customer?.name ?? customer?.email ?? session.customer)}</h1><ul>${rows || '<li>No subscriptions</li>'}</ul>${back}`,
  );
}

/** A card that needs 3-D Secure, waiting on the challenge page: its details stay here, never in the page. */
interface Challenge {
  session: string;
  input: CardInput;
  expires: number;
}
const challenges = new WeakMap<Account, Map<string, Challenge>>();
const CHALLENGE_MS = 10 * 60_000;

function challengesOf(acct: Account): Map<string, Challenge> {
  let m = challenges.get(acct);
  if (!m) challenges.set(acct, (m = new Map()));
  const now = Date.now();
  for (const [k, c] of m) if (c.expires < now) m.delete(k);
  return m;
}

/** Stripe's test-mode 3-D Secure page: the customer completes or fails the challenge. No script, two buttons. */
export function challengeHtml(action: string, what: string, hidden: Record<string, string>): string {
  const inputs = Object.entries(hidden)
    .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
    .join('');
  return page(
    '3D Secure test page',
    `<p class="test">TEST MODE — Settle Stripe emulator</p><h1>3D Secure 2 test page</h1>
<p id="challenge">${escapeHtml(what)} needs authentication. This page stands in for the customer's bank: complete or fail the challenge.</p>
<form method="post" action="${escapeHtml(action)}">${inputs}
<button type="submit" name="outcome" value="complete" id="complete-authentication">Complete authentication</button>
<button type="submit" name="outcome" value="fail" id="fail-authentication" style="background:#697386">Fail authentication</button></form>`,
  );
}

export const CHECKOUT_AUTHENTICATION_FAILED =
  'We are unable to authenticate your payment method. Please choose a different payment method and try again.';

function parseExpiry(raw: string): { month: number; year: number } | null {
  const m = /^\s*(\d{1,2})\s*\/?\s*(\d{2}|\d{4})\s*$/.exec(raw);
  if (!m) return null;
  const month = Number(m[1]);
  const year = Number(m[2]) < 100 ? 2000 + Number(m[2]) : Number(m[2]);
  return month >= 1 && month <= 12 ? { month, year } : null;
}

export function checkoutPageHandler(emu: Emulator) {
  return (req: IncomingMessage, res: ServerResponse, url: URL, body: string): boolean => {
    const portal = /^\/billing_portal\/([A-Za-z0-9_]+)$/.exec(url.pathname);
    if (portal && req.method === 'GET') {
      for (const acct of emu.accounts.values()) {
        const s = acct.portalSessions.get(portal[1] as string);
        if (s) return send(res, 200, portalHtml(acct, s));
      }
      return send(res, 404, page('Not found', '<h1>Not found</h1>'));
    }
    const intent = /^\/3d_secure\/([A-Za-z0-9_]+)$/.exec(url.pathname);
    if (intent) return threeDSecurePage(emu, req, res, intent[1] as string, body);
    const m = /^\/checkout\/(pay|authenticate)\/([A-Za-z0-9_]+)$/.exec(url.pathname);
    if (!m) return false;
    const found = findSession(emu, m[2] as string);
    if (!found) return send(res, 404, page('Not found', '<h1>This Checkout Session does not exist.</h1>'));
    const { acct } = found;
    const ctx = makeCtx(emu, acct);
    let session = found.session;
    if (session.status === 'open' && session.expires_at <= ctx.now) emu.tick();
    session = acct.checkoutSessions.get(session.id) ?? session;
    if (req.method === 'GET' && m[1] === 'pay') return send(res, 200, checkoutHtml(acct, session, null, {}));
    if (req.method !== 'POST')
      return send(res, 405, page('Method not allowed', '<h1>Method not allowed</h1>'));
    const form = parseForm(body) as Record<string, string>;
    const values = {
      email: form.email ?? '',
      name: form.name ?? '',
      exp: form.exp ?? '',
      number: form.number ?? '',
      cvc: form.cvc ?? '',
    };
    const pay = (input: CardInput): true => {
      const done = completeCheckout(ctx, session.id, input);
      emu.mutated();
      const target = (done.success_url ?? '/').replace('{CHECKOUT_SESSION_ID}', encodeURIComponent(done.id));
      res.writeHead(303, { location: target });
      res.end();
      return true;
    };
    try {
      if (m[1] === 'authenticate') {
        const pending = challengesOf(acct).get(form.token ?? '');
        if (!pending || pending.session !== session.id)
          throw new ApiError(
            400,
            'invalid_request_error',
            'This authentication has expired. Enter your card again.',
          );
        challengesOf(acct).delete(form.token ?? '');
        Object.assign(values, { email: pending.input.email ?? '', name: pending.input.name ?? '' });
        if (form.outcome !== 'complete')
          throw new ApiError(402, 'card_error', CHECKOUT_AUTHENTICATION_FAILED, {
            code: 'payment_intent_authentication_failure',
          });
        return pay({ ...pending.input, authenticated: true });
      }
      const input = cardInput(values, ctx.now);
      if (input.card.authentication && session.status === 'open') {
        const token = randomBytes(16).toString('hex');
        challengesOf(acct).set(token, { session: session.id, input, expires: Date.now() + CHALLENGE_MS });
        const trial = session.metadata?.__trial_period_days;
        const what = trial
          ? 'Saving this card for the subscription'
          : `A payment of ${money(session.amount_total ?? 0, session.currency ?? 'usd')}`;
        return send(res, 200, challengeHtml(`/checkout/authenticate/${session.id}`, what, { token }));
      }
      return pay(input);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      emu.mutated();
      values.number = '';
      values.cvc = '';
      const fresh = acct.checkoutSessions.get(session.id) ?? session;
      return send(res, err.status === 402 ? 402 : 400, checkoutHtml(acct, fresh, err.message, values));
    }
  };
}

/** The card form's fields, checked as Stripe's hosted page checks them. */
function cardInput(values: Record<string, string>, now: number): CardInput {
  const expiry = parseExpiry(values.exp ?? '');
  if (!expiry)
    throw new ApiError(402, 'card_error', "Your card's expiration date is incomplete.", {
      code: 'invalid_expiry_month',
    });
  const today = new Date(now * 1000);
  if (
    expiry.year < today.getUTCFullYear() ||
    (expiry.year === today.getUTCFullYear() && expiry.month < today.getUTCMonth() + 1)
  ) {
    throw new ApiError(402, 'card_error', "Your card's expiration year is in the past.", {
      code: 'invalid_expiry_year',
    });
  }
  if (!/^\d{3,4}$/.test(values.cvc ?? ''))
    throw new ApiError(402, 'card_error', "Your card's security code is incomplete.", {
      code: 'incomplete_cvc',
    });
  return {
    card: cardFromNumber(values.number ?? ''),
    expMonth: expiry.month,
    expYear: expiry.year,
    name: values.name || null,
    email: values.email || null,
  };
}

/** The 3-D Secure page a payment intent in `requires_action` points at (`next_action`). */
function threeDSecurePage(
  emu: Emulator,
  req: IncomingMessage,
  res: ServerResponse,
  intentId: string,
  body: string,
): true {
  const acct = [...emu.accounts.values()].find((a) => a.pendingAuthentications.has(intentId));
  const intent = acct?.paymentIntents.get(intentId);
  if (!acct || !intent)
    return send(res, 404, page('Not found', '<h1>This payment is not waiting for authentication.</h1>'));
  if (req.method === 'GET') {
    const what = `A payment of ${money(intent.amount, intent.currency)}`;
    return send(res, 200, challengeHtml(`/3d_secure/${intent.id}`, what, {}));
  }
  if (req.method !== 'POST') return send(res, 405, page('Method not allowed', '<h1>Method not allowed</h1>'));
  const form = parseForm(body) as Record<string, string>;
  let done;
  try {
    done = finishAuthentication(makeCtx(emu, acct), intentId, form.outcome === 'complete');
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    return send(
      res,
      400,
      page('3D Secure', `<h1>3D Secure</h1><p id="result">${escapeHtml(err.message)}</p>`),
    );
  } finally {
    emu.mutated();
  }
  const status = done.intent.status === 'succeeded' ? 'succeeded' : 'failed';
  if (done.returnUrl) {
    const target = new URL(done.returnUrl);
    target.searchParams.set('payment_intent', done.intent.id);
    target.searchParams.set('payment_intent_client_secret', done.intent.client_secret ?? '');
    target.searchParams.set('redirect_status', status);
    res.writeHead(303, { location: target.toString() });
    res.end();
    return true;
  }
  const message =
    status === 'succeeded'
      ? 'Authentication complete: the payment succeeded. You can close this page.'
      : (done.intent.last_payment_error?.message ?? 'The payment failed.');
  return send(res, 200, page('3D Secure', `<h1>3D Secure</h1><p id="result">${escapeHtml(message)}</p>`));
}
