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

export async function handleWebhook(host: AppHost, req: WebhookRequest) {
  const conn = (await stores(host).connections.find('b', req.endpoint, { limit: 1 }))[0];
  if (!conn) return reject(404, 'not_found', 'no such webhook endpoint');
  const secret = await host.secret(webhookSecret(conn.data.id));
  if (!secret) return reject(400, 'invalid_signature', 'this endpoint has no signing secret');
  const verdict = verifyStripeSignature({
    header: req.headers['stripe-signature'],
    rawBody: req.rawBody,
    secret,
    now: Math.floor(Date.now() / 1000),
  });
  if (!verdict.ok) {
    host.log.warn('stripe webhook rejected', { connection: conn.data.id, reason: verdict.reason });
    return reject(400, 'invalid_signature', `signature check failed: ${verdict.reason}`);
  }
  let event: unknown;
  try {
    event = JSON.parse(req.rawBody.toString('utf8'));
  } catch {
    return reject(400, 'invalid_json', 'the body is not JSON');
  }
  if (!isEvent(event)) return reject(400, 'invalid_event', 'the body is not a Stripe event');
  const { created } = await host.jobs.enqueue(
    'apply_event',
    { connectionId: conn.data.id, event },
    { dedupeKey: `event:${conn.data.id}:${event.id}` },
  );
  return { status: 200, body: { received: true, duplicate: !created } };
}
