/**
 * The webhook endpoint (DESIGN.md §3.6): verify the signature on the raw body, hand the event to a job keyed by
 * the event id, answer 200. Nothing is written before the signature holds, and a repeated event id adds no work.
 */
import type { AppHost, WebhookRequest } from '../../app-sdk/index.ts';
import { webhookSecret } from './connections.ts';
import { verifyStripeSignature } from './signature.ts';
import { stores } from './store.ts';

const reject = (status: number, code: string, message: string) => ({
  status,
  body: { error: { code, message } },
});

interface EventShape {
  id: string;
  type: string;
  created: number;
  data: { object: { id?: string; object?: string } };
}

function isEvent(v: unknown): v is EventShape {
  const e = v as Partial<EventShape> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.id === 'string' &&
    typeof e.type === 'string' &&
    typeof e.created === 'number' &&
    typeof e.data?.object === 'object' &&
    e.data.object !== null
  );
}

/**
 * The connection and signing secret behind an endpoint, kept a few seconds per process: at thousands of events
 * per second, two queries and an AES-GCM open per request are most of the endpoint's work. A disconnected
 * endpoint is refused by the platform (its endpoint row is gone) before this runs, so the cache cannot keep one
 * alive; a job enqueued for a connection removed meanwhile finds no connection and does nothing.
 */
const CACHE_MS = 10_000;
const endpointCache = new Map<string, { at: number; connectionId: string; secret: string | undefined }>();

async function endpointInfo(host: AppHost, endpoint: string) {
  const key = `${host.workspaceId}:${endpoint}`;
  const hit = endpointCache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit;
  const conn = (await stores(host).connections.find('b', endpoint, { limit: 1 }))[0];
  if (!conn) return undefined;
  const info = {
    at: Date.now(),
    connectionId: conn.data.id,
    secret: await host.secret(webhookSecret(conn.data.id)),
  };
  if (endpointCache.size > 1000) endpointCache.clear();
  endpointCache.set(key, info);
  return info;
}

export async function handleWebhook(host: AppHost, req: WebhookRequest) {
  const receivedAt = Date.now();
  const info = await endpointInfo(host, req.endpoint);
  if (!info) return reject(404, 'not_found', 'no such webhook endpoint');
  const { secret, connectionId } = info;
  if (!secret) return reject(400, 'invalid_signature', 'this endpoint has no signing secret');
  const verdict = verifyStripeSignature({
    header: req.headers['stripe-signature'],
    rawBody: req.rawBody,
    secret,
    now: Math.floor(Date.now() / 1000),
  });
  if (!verdict.ok) {
    host.log.warn('stripe webhook rejected', { connection: connectionId, reason: verdict.reason });
    return reject(400, 'invalid_signature', `signature check failed: ${verdict.reason}`);
  }
  let event: unknown;
  try {
    event = JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    return reject(400, 'invalid_json', 'the body is not JSON');
  }
  if (!isEvent(event)) return reject(400, 'invalid_event', 'the body is not a Stripe event');
  // The same dedupe key as the `/v1/events` catch-up (catch-up.ts): however an event arrives, it is applied once.
  const { created } = await host.jobs.enqueue(
    'apply_event',
    { connectionId, event, receivedAt },
    { dedupeKey: `event:${connectionId}:${event.id}` },
  );
  return { status: 200, body: { received: true, duplicate: !created } };
}
