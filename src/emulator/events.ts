// Events: a snapshot of the object at the time of the change, `previous_attributes` for updates, kept 30 days.
import type Stripe from 'stripe';
import type { Account } from './account.ts';
import type { Emulator } from './emulator.ts';
import type { IdSource } from './ids.ts';

export const API_VERSION = '2026-10-28.endive';
export const EVENT_RETENTION_SECONDS = 30 * 86_400;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && (v as { object?: unknown }).object !== 'list'
  );
}

/** Stripe's `previous_attributes`: the old values of the fields that changed, nested objects diffed by key. */
export function previousAttributes(before: unknown, after: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isPlainObject(before) || !isPlainObject(after)) return out;
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const k of keys) {
    const b = before[k];
    const a = after[k];
    if (JSON.stringify(a) === JSON.stringify(b)) continue;
    if (isPlainObject(b) && isPlainObject(a) && !('id' in b)) out[k] = previousAttributes(b, a);
    else out[k] = b === undefined ? null : b;
  }
  return out;
}

export function snapshot<T>(obj: T): T {
  return JSON.parse(JSON.stringify(obj)) as T;
}

export interface EmitOptions {
  previous?: Record<string, unknown>;
  requestId?: string | null;
  idempotencyKey?: string | null;
  /** A past time, for history written straight into the store (demo data); the clock's now otherwise. */
  created?: number;
  /** Where the event's id comes from: a seeded source keeps loaded history the same on every start. */
  ids?: IdSource;
}

export function emitEvent(
  emu: Emulator,
  acct: Account,
  type: Stripe.Event.Type,
  object: { id: string; object: string },
  opts: EmitOptions = {},
): Stripe.Event {
  const endpoints = [...acct.webhookEndpoints.values()].filter(
    (e) => e.status === 'enabled' && (e.enabled_events.includes('*') || e.enabled_events.includes(type)),
  );
  const event = {
    id: (opts.ids ?? emu.ids)('evt'),
    object: 'event',
    api_version: API_VERSION,
    created: opts.created ?? emu.clock.now(),
    data: {
      object: snapshot(object),
      ...(opts.previous ? { previous_attributes: snapshot(opts.previous) } : {}),
    },
    livemode: acct.livemode,
    pending_webhooks: endpoints.length,
    request: { id: opts.requestId ?? null, idempotency_key: opts.idempotencyKey ?? null },
    type,
  } as Stripe.Event;
  acct.events.insert(event);
  emu.webhooks.enqueue(acct, event, endpoints);
  return event;
}
