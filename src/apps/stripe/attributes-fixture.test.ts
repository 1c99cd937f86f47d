// §3.3 on the shared agent-eval snapshot. Every expected value is worked out from the snapshot's raw numbers and
// the spec (cents ÷ 100, month ends written as ISO dates), not read back from deriveAttributes.
import { describe, expect, it } from 'vitest';
import { deriveAttributes, stripeAttributes } from './attributes.ts';
import { agentEvalAccount } from './__fixtures__/stripe-objects.ts';

const account = agentEvalAccount();
const iso = (s: string) => Date.parse(s) / 1000;

function derive(customerId: string) {
  const customer = account.customers.get(customerId);
  if (!customer) throw new Error(customerId);
  return deriveAttributes({
    customer,
    subscriptions: account.subscriptions,
    paymentMethods: account.paymentMethods,
    charges: account.charges,
    products: account.products,
    coupons: account.coupons,
    now: account.now,
    accountId: 'acct_demo',
    livemode: false,
  });
}

describe('deriveAttributes on the agent-eval snapshot', () => {
  it('returns a value (or null) for every declared attribute and nothing else', () => {
    expect(Object.keys(derive('cus_ada01')).sort()).toEqual(stripeAttributes.map((a) => a.name).sort());
  });

  it('Ada: one active monthly Pro subscription, a credit balance, four paid charges', () => {
    expect(derive('cus_ada01')).toEqual({
      stripe_id: 'cus_ada01',
      stripe_account_balance: -5, // -500 cents: credit
      stripe_delinquent: false,
      stripe_plan: 'Pro',
      stripe_plan_interval: 'month',
      stripe_plan_interval_count: 1,
      stripe_plan_price: 49, // 4900 × 1
      stripe_subscription_period_start_at: 1794733200,
      stripe_subscription_status: 'active',
      stripe_card_expires_at: iso('2027-04-30T23:59:59Z'), // 04/2027: April has 30 days
      stripe_card_brand: 'visa',
      stripe_currency: 'usd',
      stripe_mrr: 49,
      stripe_trial_end_at: null,
      stripe_cancel_at_period_end: false,
      stripe_last_payment_at: 1794733200, // ch_ada01_4
      stripe_last_payment_status: 'succeeded',
      stripe_total_spend: 196, // 4 × 49
      stripe_customer_created_at: 1773565200,
      stripe_account: 'acct_demo',
      stripe_livemode: false,
    });
  });

  it('Bob: past_due yearly Team, delinquent, last payment failed, December card', () => {
    const a = derive('cus_bob01');
    expect(a.stripe_delinquent).toBe(true);
    expect(a.stripe_subscription_status).toBe('past_due');
    expect(a.stripe_plan).toBe('Team');
    expect(a.stripe_plan_interval).toBe('year');
    expect(a.stripe_plan_price).toBe(490);
    // past_due still counts as recurring revenue: 490 / 12 = 40.8333… → 40.83
    expect(a.stripe_mrr).toBe(40.83);
    expect(a.stripe_card_brand).toBe('mastercard');
    expect(a.stripe_card_expires_at).toBe(iso('2026-12-31T23:59:59Z'));
    expect(a.stripe_last_payment_at).toBe(1795255200); // ch_bob01_7
    expect(a.stripe_last_payment_status).toBe('failed');
    expect(a.stripe_total_spend).toBe(490); // one succeeded charge of 49000; the two failed ones count nothing
  });

  it('Cy: only a canceled subscription; a fully refunded charge is subtracted', () => {
    const a = derive('cus_cy01');
    expect(a.stripe_subscription_status).toBe('canceled');
    expect(a.stripe_plan).toBe('Starter');
    expect(a.stripe_plan_price).toBe(19);
    expect(a.stripe_mrr).toBe(0);
    expect(a.stripe_cancel_at_period_end).toBe(true);
    expect(a.stripe_total_spend).toBe(57); // 4 × 19 − 19 refunded
    expect(a.stripe_last_payment_at).toBe(1788264000);
    expect(a.stripe_last_payment_status).toBe('succeeded');
  });

  it('Dee: trialing; no revenue yet, the trial end is exposed', () => {
    const a = derive('cus_dee01');
    expect(a.stripe_subscription_status).toBe('trialing');
    expect(a.stripe_plan_price).toBe(49);
    expect(a.stripe_mrr).toBe(0);
    expect(a.stripe_trial_end_at).toBe(1796911200);
    expect(a.stripe_card_brand).toBe('amex');
    expect(a.stripe_card_expires_at).toBe(iso('2028-09-30T23:59:59Z'));
    expect(a.stripe_last_payment_at).toBeNull();
    expect(a.stripe_last_payment_status).toBeNull();
    expect(a.stripe_total_spend).toBe(0);
  });

  it('Eve: two items, the larger is the plan; 20 % forever coupon in MRR; February card in a common year', () => {
    const a = derive('cus_eve01');
    expect(a.stripe_plan).toBe('Pro'); // 4900 × 1 beats Extra seat 1000 × 3
    expect(a.stripe_plan_price).toBe(79); // 49 + 3 × 10, before discounts
    expect(a.stripe_mrr).toBe(63.2); // 79 × 0.8
    expect(a.stripe_account_balance).toBe(25);
    expect(a.stripe_total_spend).toBe(189.6); // 3 × 63.20
    expect(a.stripe_card_expires_at).toBe(iso('2029-02-28T23:59:59Z'));
  });

  it('Fay: no subscription at all: subscription attributes absent, MRR 0', () => {
    const a = derive('cus_fay01');
    for (const name of [
      'stripe_plan',
      'stripe_plan_interval',
      'stripe_plan_interval_count',
      'stripe_plan_price',
      'stripe_subscription_period_start_at',
      'stripe_subscription_status',
      'stripe_trial_end_at',
      'stripe_cancel_at_period_end',
    ] as const) {
      expect(a[name], name).toBeNull();
    }
    expect(a.stripe_mrr).toBe(0);
    expect(a.stripe_card_brand).toBe('discover');
    expect(a.stripe_card_expires_at).toBe(iso('2026-11-30T23:59:59Z'));
    expect(a.stripe_total_spend).toBe(120);
  });
});
