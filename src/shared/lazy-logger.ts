import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

const LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

/**
 * A child logger that pino makes only when it is first needed: a line that passes the level, or anything but a
 * level method. Pino runs its redaction (compose.ts: wildcard paths, so that a secret is censored at any depth)
 * over a child's bindings when the child is made, at ~30 µs a child; every request made one or two children
 * (the request's, the app host's) that mostly never log, and at thousands of webhooks a second that was a tenth of
 * the process's CPU. A line that is written goes through a real child, redacted exactly as before.
 */
export function lazyChild(parent: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
  // Options (a level, serializers) change how the child logs: made at once, as pino makes it.
  if (options && Object.keys(options).length > 0) return parent.child(bindings, options);
  let real: Logger | undefined;
  const made = (): Logger => (real ??= parent.child(bindings));
  return new Proxy(parent, {
    get(target, prop) {
      // Decided when called, not when read: Fastify reads every level method of a request's child to check it.
      if (typeof prop === 'string' && LEVELS.has(prop)) {
        return (...args: unknown[]) => {
          if (!(real ?? target).isLevelEnabled(prop)) return;
          const r = made();
          (r[prop as 'info'] as (...a: unknown[]) => void)(...args);
        };
      }
      if (prop === 'child' && !real) {
        return (more: Bindings, opts?: ChildLoggerOptions) =>
          lazyChild(parent, { ...bindings, ...more }, opts);
      }
      if (prop === 'bindings' && !real) return () => ({ ...target.bindings(), ...bindings });
      // Until it is made, the child logs at its parent's level.
      if (prop === 'level' && !real) return target.level;
      if (prop === 'isLevelEnabled' && !real) return (level: string) => target.isLevelEnabled(level);
      const r = made();
      const v: unknown = Reflect.get(r, prop, r);
      return typeof v === 'function' ? (v as (...args: unknown[]) => unknown).bind(r) : v;
    },
    set(_target, prop, value) {
      return Reflect.set(made(), prop, value);
    },
  });
}
