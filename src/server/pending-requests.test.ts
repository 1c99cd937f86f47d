import Fastify from 'fastify';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { trackPendingRequests } from './pending-requests.ts';
import { openEventStream } from './sse.ts';

describe('pending requests', () => {
  const apps: ReturnType<typeof Fastify>[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function serve() {
    const app = Fastify();
    apps.push(app);
    const gates: (() => void)[] = [];
    app.get('/slow', async () => {
      await new Promise<void>((resolve) => gates.push(resolve));
      return { ok: true };
    });
    app.get('/stream', (req, reply) => openEventStream(req, reply, () => () => undefined));
    const pending = trackPendingRequests(app.server, { busyAt: 2, holdMs: 150 });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    return { base, pending, openGates: () => gates.splice(0).forEach((g) => g()) };
  }

  const until = async (cond: () => boolean) => {
    for (let i = 0; i < 200 && !cond(); i++) await sleep(10);
    expect(cond()).toBe(true);
  };

  it('counts requests until they are answered, and says busy from busyAt on and for holdMs after', async () => {
    const s = await serve();
    const first = fetch(`${s.base}/slow`);
    await until(() => s.pending.count() === 1);
    expect(s.pending.busy()).toBe(false);
    const second = fetch(`${s.base}/slow`);
    await until(() => s.pending.count() === 2);
    expect(s.pending.busy()).toBe(true);
    s.openGates();
    await Promise.all([first, second]);
    await until(() => s.pending.count() === 0);
    // Still busy a moment after the wave, so a job does not start in the dip before the next one.
    expect(s.pending.busy()).toBe(true);
    await sleep(200);
    expect(s.pending.busy()).toBe(false);
  });

  it('stops counting a request whose client went away unanswered', async () => {
    const s = await serve();
    const req = http.get(`${s.base}/slow`);
    req.on('error', () => undefined);
    await until(() => s.pending.count() === 1);
    req.destroy();
    await until(() => s.pending.count() === 0);
    s.openGates();
  });

  it('counts an event stream only until its headers are out, though it stays open', async () => {
    const s = await serve();
    const ctrl = new AbortController();
    const res = await fetch(`${s.base}/stream`, { signal: ctrl.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    await until(() => s.pending.count() === 0);
    const again = await fetch(`${s.base}/stream`, { signal: ctrl.signal });
    expect(again.status).toBe(200);
    expect(s.pending.count()).toBe(0);
    ctrl.abort();
  });
});
