// §3.6: Stripe-Signature verification, cross-checked against the official SDK in both directions.
import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { signPayload, verifyStripeSignature } from './signature.ts';

const SECRET = 'whsec_test_secret_0123456789';
const T = 1795608000;
const body = JSON.stringify({
  id: 'evt_1',
  object: 'event',
  type: 'charge.succeeded',
  created: T,
  data: { object: {} },
});
const stripe = new Stripe('sk_test_unused');

const verify = (
  header: string | string[] | undefined,
  opts: { rawBody?: string | Buffer; secret?: string; now?: number } = {},
) =>
  verifyStripeSignature({
    header,
    rawBody: opts.rawBody ?? body,
    secret: opts.secret ?? SECRET,
    now: opts.now ?? T,
  });

describe('verifyStripeSignature', () => {
  it('accepts its own signature', () => {
    expect(verify(signPayload({ payload: body, secret: SECRET, timestamp: T }))).toEqual({
      ok: true,
      timestamp: T,
    });
  });

  it("accepts a header made by the official SDK's generateTestHeaderString", () => {
    const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET, timestamp: T });
    expect(verify(header)).toEqual({ ok: true, timestamp: T });
    expect(verify(header, { rawBody: Buffer.from(body, 'utf8') })).toEqual({ ok: true, timestamp: T });
  });

  it("the official SDK's constructEvent accepts a header from signPayload", () => {
    const header = signPayload({ payload: body, secret: SECRET, timestamp: T });
    const event = stripe.webhooks.constructEvent(body, header, SECRET, 300, undefined, T);
    expect(event.id).toBe('evt_1');
  });

  it('refuses a forged signature', () => {
    expect(verify(`t=${T},v1=${'ab'.repeat(32)}`)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('refuses a signature made with another secret', () => {
    expect(verify(signPayload({ payload: body, secret: 'whsec_other', timestamp: T }))).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a body changed after signing (even by one space)', () => {
    const header = signPayload({ payload: body, secret: SECRET, timestamp: T });
    expect(verify(header, { rawBody: `${body} ` })).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verify(header, { rawBody: body.replace('evt_1', 'evt_2') })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses a re-signed timestamp: t is part of the signed bytes', () => {
    const header = signPayload({ payload: body, secret: SECRET, timestamp: T - 1000 });
    const v1 = header.split('v1=')[1];
    expect(verify(`t=${T},v1=${v1}`)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('stale: more than 300 s old (or ahead); exactly 300 s is still accepted', () => {
    const header = signPayload({ payload: body, secret: SECRET, timestamp: T });
    expect(verify(header, { now: T + 300 }).ok).toBe(true);
    expect(verify(header, { now: T + 301 })).toEqual({ ok: false, reason: 'stale' });
    expect(verify(header, { now: T - 301 })).toEqual({ ok: false, reason: 'stale' });
  });

  it('a forged and stale request reports the forgery', () => {
    expect(verify(`t=${T - 5000},v1=${'00'.repeat(32)}`)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it('accepts when any of several v1 values is right (secret roll-over), ignoring v0', () => {
    const good = signPayload({ payload: body, secret: SECRET, timestamp: T }).split('v1=')[1];
    const old = createHmac('sha256', 'whsec_old').update(`${T}.${body}`).digest('hex');
    expect(verify(`t=${T},v1=${old},v0=${'11'.repeat(32)},v1=${good}`)).toEqual({ ok: true, timestamp: T });
    expect(verify(`t=${T},v1=${old},v1=not-hex`)).toEqual({ ok: false, reason: 'bad_signature' });
  });

  it.each([
    ['missing header', undefined],
    ['empty header', ''],
    ['no timestamp', `v1=${'ab'.repeat(32)}`],
    ['timestamp not a number', `t=abc,v1=${'ab'.repeat(32)}`],
    ['two timestamps', `t=${T},t=${T},v1=${'ab'.repeat(32)}`],
    ['garbage', 'hello world'],
    ['repeated header', [`t=${T},v1=${'ab'.repeat(32)}`, `t=${T},v1=${'cd'.repeat(32)}`]],
  ])('malformed: %s', (_name, header) => {
    expect(verify(header)).toEqual({ ok: false, reason: 'malformed_header' });
  });

  it('no v1 signature at all', () => {
    expect(verify(`t=${T},v0=${'ab'.repeat(32)}`)).toEqual({ ok: false, reason: 'no_signature' });
  });
});
