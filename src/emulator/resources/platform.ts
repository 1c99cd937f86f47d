// Events, webhook endpoints and the account.
import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import { invalid, noSuch } from '../errors.ts';
import { EVENT_RETENTION_SECONDS } from '../events.ts';
import { envelope, listParams } from '../list.ts';
import { applyMetadata, nullableStr, str, strArr } from '../params.ts';
import type { Router } from '../router.ts';

export function registerPlatform(r: Router): void {
  r.add('GET', '/v1/events', (ctx, p) => {
    const lp = listParams(p);
    const type = str(p, 'type');
    const types = strArr(p, 'types');
    if (type && types) throw invalid('You may only specify one of these parameters: type, types.', 'types');
    const oldest = ctx.now - EVENT_RETENTION_SECONDS;
    const created = { ...(lp.created ?? {}) };
    created.gte = Math.max(created.gte ?? oldest, oldest);
    const matchType = (t: string): boolean => {
      if (types) return types.includes(t);
      if (!type) return true;
      if (type.endsWith('*')) return t.startsWith(type.slice(0, -1));
      return t === type;
    };
    const page = ctx.acct.events.page({ ...lp, created, filter: (e) => matchType(e.type) });
    return envelope('/v1/events', page);
  });
  r.add('GET', '/v1/events/:id', (ctx, _p, [id]) => {
    const e = ctx.acct.events.get(id as string);
    if (!e || e.created < ctx.now - EVENT_RETENTION_SECONDS) throw noSuch('event', id as string, 'id');
    return e;
  });

  r.add('POST', '/v1/webhook_endpoints', (ctx, p) => {
    const url = str(p, 'url', true) as string;
    if (!/^https?:\/\//.test(url))
      throw invalid('Invalid URL: URL must be publicly accessible.', 'url', 'url_invalid');
    const enabled = strArr(p, 'enabled_events');
    if (!enabled || enabled.length === 0)
      throw invalid('Missing required param: enabled_events.', 'enabled_events', 'parameter_missing');
    const secret = `whsec_${randomBytes(24).toString('base64url')}`;
    const ep: Stripe.WebhookEndpoint = {
      id: ctx.emu.ids('we', 24),
      object: 'webhook_endpoint',
      api_version: str(p, 'api_version') ?? null,
      application: null,
      created: ctx.now,
      description: str(p, 'description') ?? null,
      enabled_events: enabled,
      livemode: ctx.acct.livemode,
      metadata: applyMetadata({}, p),
      status: 'enabled',
      url,
    };
    ctx.acct.save(ep);
    ctx.acct.endpointSecrets.set(ep.id, secret);
    return { ...ep, secret };
  });
  r.add('GET', '/v1/webhook_endpoints', (ctx, p) =>
    envelope('/v1/webhook_endpoints', ctx.acct.webhookEndpoints.page(listParams(p))),
  );
  r.add('GET', '/v1/webhook_endpoints/:id', (ctx, _p, [id]) => {
    const ep = ctx.acct.webhookEndpoints.get(id as string);
    if (!ep) throw noSuch('webhook_endpoint', id as string, 'id');
    return ep;
  });
  r.add('POST', '/v1/webhook_endpoints/:id', (ctx, p, [id]) => {
    const before = ctx.acct.webhookEndpoints.get(id as string);
    if (!before) throw noSuch('webhook_endpoint', id as string, 'id');
    const disabled = str(p, 'disabled');
    const after: Stripe.WebhookEndpoint = {
      ...before,
      url: str(p, 'url') ?? before.url,
      enabled_events: strArr(p, 'enabled_events') ?? before.enabled_events,
      description: nullableStr(p, 'description', before.description),
      metadata: applyMetadata(before.metadata, p),
      status: disabled === 'true' ? 'disabled' : disabled === 'false' ? 'enabled' : before.status,
    };
    ctx.acct.save(after);
    return after;
  });
  r.add('DELETE', '/v1/webhook_endpoints/:id', (ctx, _p, [id]) => {
    const ep = ctx.acct.webhookEndpoints.get(id as string);
    if (!ep) throw noSuch('webhook_endpoint', id as string, 'id');
    ctx.acct.remove('webhook_endpoint', ep.id);
    ctx.acct.endpointSecrets.delete(ep.id);
    return { id: ep.id, object: 'webhook_endpoint', deleted: true };
  });

  r.add('GET', '/v1/account', (ctx) => {
    const account: Stripe.Account = {
      id: ctx.acct.id,
      object: 'account',
      business_profile: {
        mcc: null,
        monthly_estimated_revenue: null,
        name: 'Settle Emulator',
        support_address: null,
        support_email: null,
        support_phone: null,
        support_url: null,
        url: null,
      } as unknown as Stripe.Account.BusinessProfile,
      business_type: 'company',
      charges_enabled: true,
      country: 'US',
      created: 1_700_000_000,
      default_currency: 'usd',
      details_submitted: true,
      email: 'emulator@example.com',
      metadata: {},
      payouts_enabled: true,
      settings: null,
      type: 'standard',
    };
    return account;
  });
}
