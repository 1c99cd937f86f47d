import { describe, expect, it } from 'vitest';
import { KeyedQueue } from './keyed-queue.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
const tick = () => new Promise((r) => setTimeout(r, 0));

/** Records which tasks run, and lets the test end each one. */
function harness(lanes: number) {
  const q = new KeyedQueue(lanes);
  const log: string[] = [];
  const running = new Set<string>();
  let most = 0;
  const gates = new Map<string, ReturnType<typeof deferred>>();
  const push = (name: string, keys: string[]) => {
    const gate = deferred();
    gates.set(name, gate);
    return q.push(keys, async () => {
      running.add(name);
      most = Math.max(most, running.size);
      log.push(`start ${name}`);
      await gate.promise;
      running.delete(name);
      log.push(`end ${name}`);
    });
  };
  const end = async (name: string) => {
    gates.get(name)?.resolve();
    await tick();
  };
  return { q, log, running, push, end, most: () => most };
}

describe('KeyedQueue', () => {
  it('runs tasks sharing a key one after another, in the order queued', async () => {
    const h = harness(4);
    const done = [h.push('a', ['k']), h.push('b', ['k']), h.push('c', ['k'])];
    await tick();
    expect([...h.running]).toEqual(['a']);
    await h.end('a');
    expect([...h.running]).toEqual(['b']);
    await h.end('b');
    await h.end('c');
    await Promise.all(done);
    expect(h.log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('runs tasks with no key in common side by side, at most `lanes` at once', async () => {
    const h = harness(2);
    const done = ['a', 'b', 'c', 'd'].map((n) => h.push(n, [n]));
    await tick();
    expect([...h.running].sort()).toEqual(['a', 'b']);
    await h.end('b');
    expect([...h.running].sort()).toEqual(['a', 'c']);
    await h.end('a');
    await h.end('c');
    await h.end('d');
    await Promise.all(done);
    expect(h.most()).toBe(2);
  });

  it('never lets a later task overtake an earlier one waiting for a key they share', async () => {
    const h = harness(4);
    const done = [h.push('a', ['k1']), h.push('b', ['k1', 'k2']), h.push('c', ['k2']), h.push('d', ['k3'])];
    await tick();
    // b waits for a (k1); c needs k2, which b will take first; d is free.
    expect([...h.running].sort()).toEqual(['a', 'd']);
    await h.end('a');
    expect([...h.running].sort()).toEqual(['b', 'd']);
    await h.end('b');
    expect([...h.running].sort()).toEqual(['c', 'd']);
    await h.end('c');
    await h.end('d');
    await Promise.all(done);
  });

  it('runs a step alone: the others running end first and nothing new starts meanwhile', async () => {
    const q = new KeyedQueue(2);
    const log: string[] = [];
    const other = deferred();
    const step = deferred();
    const p1 = q.push(['a'], async () => {
      log.push('other start');
      await other.promise;
      log.push('other end');
    });
    const p2 = q.push(['b'], async (ctx) => {
      log.push('asker start');
      await ctx.alone(async () => {
        log.push('alone start');
        await step.promise;
        log.push('alone end');
      });
      log.push('asker end');
    });
    await tick();
    const p3 = q.push(['c'], async () => void log.push('late'));
    await tick();
    // The step waits for the other task; the late task waits for the step.
    expect(log).toEqual(['other start', 'asker start']);
    other.resolve();
    await tick();
    expect(log).toEqual(['other start', 'asker start', 'other end', 'alone start']);
    step.resolve();
    await Promise.all([p1, p2, p3]);
    // Once the step has ended, the late task may start beside the rest of the asker.
    expect(log.slice(4).sort()).toEqual(['alone end', 'asker end', 'late']);
    expect(log[4]).toBe('alone end');
  });

  it('runs two steps asked for at once one after the other (neither waits for the other task)', async () => {
    const q = new KeyedQueue(2);
    const log: string[] = [];
    const inStep = new Set<string>();
    const task = (name: string) =>
      q.push([name], async (ctx) => {
        await tick();
        await ctx.alone(async () => {
          expect(inStep.size).toBe(0);
          inStep.add(name);
          log.push(`alone ${name}`);
          await tick();
          inStep.delete(name);
        });
      });
    await Promise.all([task('a'), task('b')]);
    expect(log.sort()).toEqual(['alone a', 'alone b']);
  });

  it('reports a failed task to its caller and goes on with the rest', async () => {
    const q = new KeyedQueue(1);
    const failed = q.push(['k'], async () => {
      throw new Error('page failed');
    });
    const ran: string[] = [];
    const next = q.push(['k'], async () => void ran.push('next'));
    await expect(failed).rejects.toThrow('page failed');
    await next;
    await q.idle();
    expect(ran).toEqual(['next']);
  });

  it('resolves idle once everything queued has ended', async () => {
    const q = new KeyedQueue(2);
    await q.idle();
    const gate = deferred();
    let ended = false;
    void q.push(['k'], async () => {
      await gate.promise;
      ended = true;
    });
    const idle = q.idle().then(() => ended);
    gate.resolve();
    expect(await idle).toBe(true);
  });

  it('refuses a lane count below one', () => {
    expect(() => new KeyedQueue(0)).toThrow('lanes must be a positive integer, got 0');
  });
});
