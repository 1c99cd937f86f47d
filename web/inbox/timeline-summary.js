// One line under a timeline entry: what a teammate reads at a glance. Metadata comes from any app or API caller, so
// this is generic: money shown with its currency, the fields that say what happened first, ids and flags left to
// the tooltip (which keeps every field).

/** Keys holding an amount in major units of the entry's `currency`, with the word said before it. */
const MONEY = new Map([
  ['amount', ''],
  ['price', ''],
  ['amount_due', 'due'],
  ['amount_paid', 'paid'],
  ['amount_refunded', 'refunded'],
  ['refund_amount', 'this refund'],
]);
/** Said first when present: what happened, then to what. */
const FIRST = ['status', 'description', 'failure_message', 'decline_reason', 'interval'];
/** Not worth the line: shown in the tooltip only. */
const QUIET = new Set(['livemode', 'currency', 'fully_refunded', 'interval_count']);

/** @param {unknown} v */
function text(v) {
  if (v === null || v === undefined) return '';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/**
 * @param {number} amount
 * @param {string} currency
 */
function money(amount, currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency: currency.toUpperCase() }).format(
      amount,
    );
  } catch {
    return `${amount} ${currency.toUpperCase()}`;
  }
}

/** @param {string} key */
const isId = (key) => key === 'id' || key.endsWith('_id') || key === 'subscription' || key === 'invoice';

/**
 * @param {Record<string, unknown> | null | undefined} metadata
 * @returns {{ line: string, full: string, test: boolean }}
 */
export function summarizeMetadata(metadata) {
  const entries = Object.entries(metadata ?? {});
  const full = entries.map(([k, v]) => `${k}: ${text(v)}`).join(' · ');
  const currency = typeof metadata?.currency === 'string' ? metadata.currency : null;
  const parts = [];
  // `amount` before `refund_amount` and the rest, whatever order the database gave the keys in.
  // The plan names the thing, then its price.
  if (metadata?.plan) parts.push(text(metadata.plan));
  /** @type {Set<string>} */
  const said = new Set();
  for (const [k, word] of MONEY) {
    const v = metadata?.[k];
    if (typeof v !== 'number') continue;
    said.add(k);
    // A single refund of the whole amount says the same thing twice.
    if (k === 'refund_amount' && v === metadata?.amount_refunded) continue;
    const shown = currency ? money(v, currency) : String(v);
    parts.push(word ? `${word} ${shown}` : shown);
  }
  for (const k of FIRST) {
    const v = text(metadata?.[k]);
    if (v) parts.push(v);
  }
  for (const [k, v] of entries) {
    if (said.has(k) || k === 'plan' || FIRST.includes(k) || QUIET.has(k) || isId(k)) continue;
    const t = text(v);
    if (t) parts.push(`${k.replace(/_/g, ' ')}: ${t}`);
  }
  return { line: parts.slice(0, 3).join(' · '), full, test: metadata?.livemode === false };
}
