// Billing portal sessions: created through the API; the URL opens a minimal hosted page (checkout-page.ts).
import type Stripe from 'stripe';
import type { Router } from '../router.ts';
import { str } from '../params.ts';
import { getCustomer } from './customers.ts';

export function registerPortal(r: Router): void {
  r.add('POST', '/v1/billing_portal/sessions', (ctx, p) => {
    const customer = getCustomer(ctx, str(p, 'customer', true) as string);
    const id = ctx.emu.ids('bps', 24);
    const session: Stripe.BillingPortal.Session = {
      id,
      object: 'billing_portal.session',
      configuration: `bpc_${ctx.acct.id.slice(5)}`,
      created: ctx.now,
      customer: customer.id,
      customer_account: null,
      flow: null,
      livemode: ctx.acct.livemode,
      locale: null,
      on_behalf_of: null,
      return_url: str(p, 'return_url') ?? null,
      url: `${ctx.emu.baseUrl}/billing_portal/${id}`,
    };
    ctx.acct.save(session);
    ctx.emit('billing_portal.session.created', session);
    return session;
  });
}
