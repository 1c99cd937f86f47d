// Test controls under /_emulator/ (JSON in, JSON out). They exist only on the emulator, never on Stripe.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KEY_PATTERN, type Emulator } from './emulator.ts';
import { loadSnapshot, normalizeSnapshot } from './snapshot.ts';

function json(res: ServerResponse, status: number, body: unknown): true {
  const s = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(s) });
  res.end(s);
  return true;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

export function controlsHandler(emu: Emulator) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<boolean> => {
    if (!url.pathname.startsWith('/_emulator/')) return false;
    const route = `${req.method ?? 'GET'} ${url.pathname.slice('/_emulator'.length)}`;
    let input: Record<string, unknown> = {};
    if (body) {
      try {
        const parsed = JSON.parse(body) as unknown;
        input = Array.isArray(parsed) ? { stripe_objects: parsed } : (parsed as Record<string, unknown>);
      } catch {
        return json(res, 400, { error: { message: 'Controls take a JSON body.' } });
      }
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const key =
      (typeof input.key === 'string' ? input.key : undefined) ??
      url.searchParams.get('key') ??
      bearer ??
      emu.defaultKey;
    if (!KEY_PATTERN.test(key)) return json(res, 400, { error: { message: 'Invalid key.' } });
    switch (route) {
      case 'GET /health':
        return json(res, 200, { ok: true, now: emu.clock.now() });
      case 'POST /reset':
        emu.reset();
        return json(res, 200, { ok: true });
      case 'POST /snapshot': {
        let count: number;
        try {
          count = loadSnapshot(emu, emu.account(key), normalizeSnapshot(input));
        } catch (err) {
          return json(res, 400, { error: { message: (err as Error).message } });
        }
        return json(res, 200, { loaded: count, account: emu.account(key).id });
      }
      case 'GET /clock':
        return json(res, 200, { now: emu.clock.now(), frozen: emu.clock.isFrozen() });
      case 'POST /clock': {
        if (input.freeze === true) emu.clock.freeze(num(input.now));
        else if (input.freeze === false) emu.clock.unfreeze();
        if (num(input.now) !== undefined && input.freeze !== true) emu.clock.set(num(input.now) as number);
        if (num(input.advance) !== undefined) emu.clock.advance(num(input.advance) as number);
        else emu.tick();
        return json(res, 200, { now: emu.clock.now(), frozen: emu.clock.isFrozen() });
      }
      case 'GET /rate_limits':
        return json(res, 200, { ...emu.rateLimiter.limits, refused: emu.rateLimiter.refused });
      case 'POST /rate_limits':
        emu.rateLimiter.limits = {
          global: num(input.global) ?? null,
          perEndpoint: num(input.per_endpoint) ?? null,
          endpoints: (input.endpoints as Record<string, number> | undefined) ?? {},
        };
        return json(res, 200, emu.rateLimiter.limits);
      case 'POST /latency':
        emu.latency = { fixedMs: num(input.fixed_ms) ?? 0, jitterMs: num(input.jitter_ms) ?? 0 };
        return json(res, 200, emu.latency);
      case 'POST /webhook_faults':
        emu.webhooks.setFaults(
          {
            ...(num(input.drop) !== undefined ? { drop: num(input.drop) } : {}),
            ...(num(input.duplicate) !== undefined ? { duplicate: num(input.duplicate) } : {}),
            ...(num(input.delay_ms) !== undefined ? { delayMs: num(input.delay_ms) } : {}),
            ...(num(input.reorder_window_ms) !== undefined
              ? { reorderWindowMs: num(input.reorder_window_ms) }
              : {}),
            ...(num(input.retry_base_ms) !== undefined ? { retryBaseMs: num(input.retry_base_ms) } : {}),
            ...(num(input.max_attempts) !== undefined ? { maxAttempts: num(input.max_attempts) } : {}),
          },
          num(input.seed),
        );
        return json(res, 200, emu.webhooks.faults);
      case 'GET /webhook_deliveries': {
        const acct = emu.account(key);
        return json(res, 200, { data: emu.webhooks.log.filter((d) => d.account === acct.id) });
      }
      case 'POST /webhooks/flush':
        await emu.webhooks.idle();
        return json(res, 200, { ok: true });
      default:
        return json(res, 404, { error: { message: `No emulator control ${route}` } });
    }
  };
}
