// Helpers for the emulator's own tests: a started emulator and an official SDK client pointed at it.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { startEmulator, type RunningEmulator, type StartOptions } from './index.ts';

export interface TestEmulator extends RunningEmulator {
  stripe: Stripe;
  client(key: string): Stripe;
  control(path: string, body?: unknown, method?: string): Promise<unknown>;
}

export async function startTestEmulator(opts: StartOptions = {}): Promise<TestEmulator> {
  const running = await startEmulator(opts);
  const client = (key: string): Stripe =>
    new Stripe(key, {
      host: '127.0.0.1',
      port: running.port,
      protocol: 'http',
      maxNetworkRetries: 0,
      telemetry: false,
    });
  return {
    ...running,
    stripe: client(running.key),
    client,
    async control(path, body, method) {
      const res = await fetch(`${running.url}/_emulator/${path}`, {
        method: method ?? (body === undefined ? 'GET' : 'POST'),
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return res.json();
    },
  };
}

/** The error a call fails with (the test fails if it succeeds). */
export async function catchErr(p: Promise<unknown>): Promise<Stripe.errors.StripeError> {
  try {
    await p;
  } catch (e) {
    return e as Stripe.errors.StripeError;
  }
  throw new Error('expected an error');
}

/** A customer whose default payment method is a Visa test card, so its subscriptions charge and turn active. */
export async function customerWithCard(stripe: Stripe, email: string): Promise<Stripe.Customer> {
  const c = await stripe.customers.create({ email });
  const pm = await stripe.paymentMethods.attach('pm_card_visa', { customer: c.id });
  await stripe.customers.update(c.id, { invoice_settings: { default_payment_method: pm.id } });
  return c;
}

export interface Received {
  body: string;
  headers: IncomingMessage['headers'];
  at: number;
}

/** A local webhook receiver; `respond` decides each status code. */
export async function startReceiver(
  respond: (n: number) => number = () => 200,
): Promise<{ url: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), headers: req.headers, at: Date.now() });
      res.writeHead(respond(n++));
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export async function until(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
