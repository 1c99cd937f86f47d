// Stripe's test cards (https://docs.stripe.com/testing): numbers, `pm_card_*` / `tok_*` shortcuts, and how each
// one behaves when charged.
import { ApiError } from './errors.ts';

export interface Decline {
  code: string;
  decline_code?: string;
  message: string;
  param?: string;
}

export interface TestCard {
  number: string;
  brand: string;
  funding: 'credit' | 'debit' | 'prepaid';
  country: string;
  /** Declined when charged (on-session and off-session; for a card that needs 3-D Secure, after it). */
  decline?: Decline;
  /**
   * 3-D Secure. `on_session`: a payment the customer is present for must be authenticated; off-session payments
   * succeed once the card was set up by an authenticated payment (4000002500003155), or always (`set_up`,
   * 4000003800000446). `every_payment`: every payment, so off-session ones are declined (4000002760003184).
   */
  authentication?: 'on_session' | 'set_up' | 'every_payment';
}

const GENERIC: Decline = {
  code: 'card_declined',
  decline_code: 'generic_decline',
  message: 'Your card was declined.',
};
export const AUTHENTICATION_REQUIRED: Decline = {
  code: 'authentication_required',
  decline_code: 'authentication_required',
  message: 'Your card was declined. This transaction requires authentication.',
};

export const TEST_CARDS: Record<string, TestCard> = {
  '4242424242424242': { number: '4242424242424242', brand: 'visa', funding: 'credit', country: 'US' },
  '4000056655665556': { number: '4000056655665556', brand: 'visa', funding: 'debit', country: 'US' },
  '5555555555554444': { number: '5555555555554444', brand: 'mastercard', funding: 'credit', country: 'US' },
  '2223003122003222': { number: '2223003122003222', brand: 'mastercard', funding: 'credit', country: 'US' },
  '5200828282828210': { number: '5200828282828210', brand: 'mastercard', funding: 'debit', country: 'US' },
  '378282246310005': { number: '378282246310005', brand: 'amex', funding: 'credit', country: 'US' },
  '6011111111111117': { number: '6011111111111117', brand: 'discover', funding: 'credit', country: 'US' },
  '3056930009020004': { number: '3056930009020004', brand: 'diners', funding: 'credit', country: 'US' },
  '3566002020360505': { number: '3566002020360505', brand: 'jcb', funding: 'credit', country: 'JP' },
  '6200000000000005': { number: '6200000000000005', brand: 'unionpay', funding: 'credit', country: 'CN' },
  '4000000000000002': {
    number: '4000000000000002',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    decline: GENERIC,
  },
  '4000000000009995': {
    number: '4000000000009995',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    decline: {
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    },
  },
  '4000000000009987': {
    number: '4000000000009987',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    decline: { code: 'card_declined', decline_code: 'lost_card', message: 'Your card was declined.' },
  },
  '4000000000009979': {
    number: '4000000000009979',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    decline: { code: 'card_declined', decline_code: 'stolen_card', message: 'Your card was declined.' },
  },
  '4000000000000069': {
    number: '4000000000000069',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    decline: {
      code: 'expired_card',
      decline_code: 'expired_card',
      message: 'Your card has expired.',
      param: 'exp_month',
    },
  },
  '4000000000000127': {
    number: '4000000000000127',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    decline: {
      code: 'incorrect_cvc',
      decline_code: 'incorrect_cvc',
      message: "Your card's security code is incorrect.",
      param: 'cvc',
    },
  },
  '4000000000000119': {
    number: '4000000000000119',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    decline: {
      code: 'processing_error',
      decline_code: 'processing_error',
      message: 'An error occurred while processing your card. Try again in a little bit.',
    },
  },
  '4000000000000341': {
    number: '4000000000000341',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    decline: GENERIC,
  },
  '4000002760003184': {
    number: '4000002760003184',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    authentication: 'every_payment',
  },
  '4000002500003155': {
    number: '4000002500003155',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    authentication: 'on_session',
  },
  '4000003800000446': {
    number: '4000003800000446',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    authentication: 'set_up',
  },
  '4000000000003220': {
    number: '4000000000003220',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    authentication: 'on_session',
  },
  '4000008260003178': {
    number: '4000008260003178',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    authentication: 'on_session',
    decline: {
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    },
  },
  '4000008400001629': {
    number: '4000008400001629',
    brand: 'visa',
    funding: 'credit',
    country: 'US',
    authentication: 'on_session',
    decline: GENERIC,
  },
};

const SHORTCUTS: Record<string, string> = {
  visa: '4242424242424242',
  visa_debit: '4000056655665556',
  mastercard: '5555555555554444',
  mastercard_debit: '5200828282828210',
  amex: '378282246310005',
  discover: '6011111111111117',
  diners: '3056930009020004',
  jcb: '3566002020360505',
  unionpay: '6200000000000005',
  chargeDeclined: '4000000000000002',
  chargeDeclinedInsufficientFunds: '4000000000009995',
  chargeDeclinedLostCard: '4000000000009987',
  chargeDeclinedStolenCard: '4000000000009979',
  chargeDeclinedExpiredCard: '4000000000000069',
  chargeDeclinedIncorrectCvc: '4000000000000127',
  chargeDeclinedProcessingError: '4000000000000119',
  chargeCustomerFail: '4000000000000341',
  authenticationRequired: '4000002760003184',
  authenticationRequiredSetupForOffSession: '4000002500003155',
  authenticationRequiredOnSetup: '4000002500003155',
  authenticationRequiredChargeDeclinedInsufficientFunds: '4000008260003178',
  threeDSecure2Required: '4000000000003220',
};

/** `pm_card_visa`, `tok_visa`, `tok_chargeDeclined`… → the card number they stand for. */
export function shortcutCard(id: string): TestCard | undefined {
  const m = /^(?:pm_card_|tok_)(.+)$/.exec(id);
  const num = m ? SHORTCUTS[m[1] ?? ''] : undefined;
  return num ? TEST_CARDS[num] : undefined;
}

export function luhnValid(number: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = number.length - 1; i >= 0; i--) {
    let d = number.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return number.length >= 12 && sum % 10 === 0;
}

function brandOf(number: string): string {
  if (/^4/.test(number)) return 'visa';
  if (/^(5[1-5]|2[2-7])/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  if (/^6(011|5)/.test(number)) return 'discover';
  if (/^3(0|6|8)/.test(number)) return 'diners';
  if (/^35/.test(number)) return 'jcb';
  if (/^62/.test(number)) return 'unionpay';
  return 'unknown';
}

/** A raw number typed into the hosted page or sent as `card[number]`. */
export function cardFromNumber(raw: string, param = 'card[number]'): TestCard {
  const number = raw.replace(/[\s-]/g, '');
  const known = TEST_CARDS[number];
  if (known) return known;
  if (!/^\d{12,19}$/.test(number) || !luhnValid(number)) {
    throw new ApiError(402, 'card_error', 'Your card number is incorrect.', {
      code: 'incorrect_number',
      param,
    });
  }
  return { number, brand: brandOf(number), funding: 'credit', country: 'US' };
}

export function cardByLast4(brand: string, last4: string): TestCard | undefined {
  return Object.values(TEST_CARDS).find((c) => c.brand === brand && c.number.endsWith(last4));
}
