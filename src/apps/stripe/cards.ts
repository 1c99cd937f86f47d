/**
 * The default card of DESIGN.md §3.3 and its expiry. Cards reach us in three shapes: a PaymentMethod of type
 * `card`, a legacy Card source (`card_…`, brand spelt "Visa") and a legacy Source of type `card`.
 */
import type Stripe from 'stripe';

export interface CardFacts {
  brand: string;
  expMonth: number;
  expYear: number;
}

/** Legacy Card objects spell brands for display; attributes use the PaymentMethod spelling §3.3 asks for. */
const LEGACY_BRANDS: Readonly<Record<string, string>> = {
  'American Express': 'amex',
  'Cartes Bancaires': 'cartes_bancaires',
  'Diners Club': 'diners',
  Discover: 'discover',
  'Eftpos Australia': 'eftpos_au',
  Girocard: 'girocard',
  JCB: 'jcb',
  MasterCard: 'mastercard',
  UnionPay: 'unionpay',
  Visa: 'visa',
  Unknown: 'unknown',
};

export function normaliseBrand(brand: string): string {
  return LEGACY_BRANDS[brand] ?? brand.toLowerCase().replace(/\s+/g, '_');
}

type CardLike = Stripe.PaymentMethod | Stripe.CustomerSource;

/** Card facts of a payment method or source; undefined when it is not a card (SEPA debit, bank account…). */
export function cardFacts(obj: CardLike): CardFacts | undefined {
  if (obj.object === 'payment_method') {
    const card = obj.card;
    return card
      ? { brand: normaliseBrand(card.brand), expMonth: card.exp_month, expYear: card.exp_year }
      : undefined;
  }
  if (obj.object === 'card')
    return { brand: normaliseBrand(obj.brand), expMonth: obj.exp_month, expYear: obj.exp_year };
  if (obj.object === 'source' && obj.card) {
    const { brand, exp_month, exp_year } = obj.card;
    if (brand && exp_month && exp_year)
      return { brand: normaliseBrand(brand), expMonth: exp_month, expYear: exp_year };
  }
  return undefined;
}

export interface DefaultCardInput {
  customer: Stripe.Customer;
  primarySubscription: Stripe.Subscription | undefined;
  /** The customer's payment methods and sources, to resolve references held as bare ids. */
  paymentMethods: readonly Stripe.PaymentMethod[];
  sources?: readonly Stripe.CustomerSource[];
}

/** The reference that decides, in §3.3's order: the first one that is set, whether or not it is a card. */
export function defaultPaymentReference(
  input: DefaultCardInput,
): string | Stripe.PaymentMethod | Stripe.CustomerSource | undefined {
  return (
    input.customer.invoice_settings?.default_payment_method ??
    input.customer.default_source ??
    input.primarySubscription?.default_payment_method ??
    undefined
  );
}

function resolve(
  ref: string | Stripe.PaymentMethod | Stripe.CustomerSource,
  input: DefaultCardInput,
): CardLike | undefined {
  const id = typeof ref === 'string' ? ref : ref.id;
  // The caller's lists come first, and a reference expanded inside the customer or subscription is used only when
  // they lack its id: a payment method stored on its own was refetched when Stripe announced a change to it (a new
  // expiry after the card was renewed), while the expanded copy dates from the customer's or subscription's last
  // fetch. A legacy card id (`card_…`) also works as a PaymentMethod id, so either list may hold it.
  const listed = input.paymentMethods.find((pm) => pm.id === id) ?? input.sources?.find((s) => s.id === id);
  return listed ?? (typeof ref === 'string' ? undefined : ref);
}

/**
 * The default card: `invoice_settings.default_payment_method`, else `default_source`, else the primary
 * subscription's `default_payment_method`. The first reference that is set decides: if it is not a card (a SEPA
 * mandate, a bank account) the customer has no default card, rather than an older card that is not what Stripe
 * charges. A reference that cannot be resolved yields no card either (unresolvedReferences lists it).
 */
export function pickDefaultCard(input: DefaultCardInput): CardFacts | undefined {
  const ref = defaultPaymentReference(input);
  const obj = ref === undefined ? undefined : resolve(ref, input);
  return obj ? cardFacts(obj) : undefined;
}

/** True when the default reference is an id the caller's lists do not contain. */
export function defaultPaymentUnresolved(input: DefaultCardInput): string | undefined {
  const ref = defaultPaymentReference(input);
  return typeof ref === 'string' && resolve(ref, input) === undefined ? ref : undefined;
}

/** Last second of the expiry month in UTC: the first second of the next month minus one (Date.UTC rolls 12 → Jan). */
export function cardExpiresAt(expMonth: number, expYear: number): number {
  return Date.UTC(expYear, expMonth, 1) / 1000 - 1;
}
