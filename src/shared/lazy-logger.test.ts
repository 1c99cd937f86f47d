import { describe, expect, it, vi } from 'vitest';
import { createLogger } from '../server/compose.ts';
import { lazyChild } from './lazy-logger.ts';

function logger(level: 'warn' | 'info') {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger(level, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines, made: vi.spyOn(log, 'child') };
}

describe('lazyChild', () => {
  it('makes no child for lines below the level, and writes the others with its bindings, redacted', () => {
    const { log, lines, made } = logger('warn');
    const child = lazyChild(log, { app: 'stripe', workspace: 'ws_1' });
    child.info({ n: 1 }, 'not written');
    child.debug('not written');
    lazyChild(child, { reqId: 'req-1' }).info('not written either');
    // Reading the methods (as Fastify does to check a logger) makes no child either.
    expect([child.fatal, child.error, child.warn, child.child].every((f) => typeof f === 'function')).toBe(
      true,
    );
    expect(child.isLevelEnabled('info')).toBe(false);
    expect(made).not.toHaveBeenCalled();
    expect(lines).toEqual([]);

    child.warn({ api_key: 'sk_test_secret', connection: { webhook_secret: 'whsec_x' } }, 'written');
    child.error('again');
    expect(made).toHaveBeenCalledTimes(1);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({
      app: 'stripe',
      workspace: 'ws_1',
      msg: 'written',
      api_key: '[redacted]',
      connection: { webhook_secret: '[redacted]' },
    });
    expect(lines[1]).toMatchObject({ app: 'stripe', workspace: 'ws_1', msg: 'again' });
  });

  it('redacts secrets passed as bindings, as a child made at once would', () => {
    const { log, lines } = logger('info');
    lazyChild(log, { token: 'tok_secret', reqId: 'req-1' }).info('hello');
    expect(lines[0]).toMatchObject({ token: '[redacted]', reqId: 'req-1', msg: 'hello' });
  });

  it('passes bindings down to its own children and reports them', () => {
    const { log, lines, made } = logger('info');
    const child = lazyChild(log, { reqId: 'req-7' }).child({ app: 'stripe' });
    expect(child.bindings()).toMatchObject({ reqId: 'req-7', app: 'stripe' });
    child.info('nested');
    expect(made).toHaveBeenCalledTimes(1);
    expect(lines[0]).toMatchObject({ reqId: 'req-7', app: 'stripe', msg: 'nested' });
  });

  it('follows a level set on it, and honours a level given as an option', () => {
    const { log, lines } = logger('warn');
    const child = lazyChild(log, { reqId: 'req-1' });
    child.level = 'debug';
    child.debug('now written');
    expect(lines.map((l) => l.msg)).toEqual(['now written']);
    expect(log.level).toBe('warn');

    lazyChild(log, { reqId: 'req-2' }, { level: 'error' }).warn('below the option level');
    expect(lines).toHaveLength(1);
  });
});
