// The emulator's state: accounts by key, the clock, ids, test knobs, webhook delivery. The HTTP server is a thin
// layer over this, and the in-process API (startEmulator) hands it out for tests.
import { Account } from './account.ts';
import { Clock } from './clock.ts';
import { Random, RateLimiter, type Latency } from './faults.ts';
import { randomIds, seededIds, type IdSource } from './ids.ts';
import { Router } from './router.ts';
import { WebhookDispatcher } from './webhooks.ts';

export interface EmulatorCoreOptions {
  seed?: number;
  defaultKey?: string;
}

export const KEY_PATTERN = /^(sk_test|sk_live|rk_test|rk_live)_[0-9A-Za-z_]{1,200}$/;

export class Emulator {
  readonly clock = new Clock();
  ids: IdSource;
  readonly accounts = new Map<string, Account>();
  readonly webhooks: WebhookDispatcher;
  readonly rateLimiter = new RateLimiter();
  readonly random: Random;
  readonly router = new Router();
  readonly defaultKey: string;
  latency: Latency = { fixedMs: 0, jitterMs: 0 };
  /** Public base URL (set once the server listens); hosted Checkout and portal URLs point here. */
  baseUrl = 'http://127.0.0.1';
  private readonly mutationListeners: Array<() => void> = [];
  private readonly tickHandlers: Array<(acct: Account) => void> = [];

  constructor(opts: EmulatorCoreOptions = {}) {
    this.ids = opts.seed !== undefined ? seededIds(opts.seed) : randomIds();
    this.random = new Random(opts.seed ?? 1);
    this.webhooks = new WebhookDispatcher(opts.seed ?? 1);
    this.defaultKey = opts.defaultKey ?? 'sk_test_emulator';
    this.clock.onChange(() => this.tick());
  }

  account(key: string): Account {
    let a = this.accounts.get(key);
    if (!a) {
      a = new Account(key);
      this.accounts.set(key, a);
    }
    return a;
  }

  onMutation(fn: () => void): void {
    this.mutationListeners.push(fn);
  }

  mutated(): void {
    for (const fn of this.mutationListeners) fn();
  }

  /** Work that happens with time: renewals, trial ends, Checkout expiry. Runs when the clock moves. */
  onTick(fn: (acct: Account) => void): void {
    this.tickHandlers.push(fn);
  }

  tick(): void {
    // Every change emits an event, so the event count tells whether a tick changed anything worth saving.
    const count = (): number => [...this.accounts.values()].reduce((n, a) => n + a.events.size, 0);
    const before = count();
    for (const acct of this.accounts.values()) for (const fn of this.tickHandlers) fn(acct);
    if (count() !== before) this.mutated();
  }

  reset(): void {
    for (const a of this.accounts.values()) a.clear();
    this.accounts.clear();
    this.rateLimiter.reset();
    this.webhooks.resetFaults();
    this.webhooks.clearLog();
    this.latency = { fixedMs: 0, jitterMs: 0 };
    this.clock.unfreeze();
    this.clock.set(Math.floor(Date.now() / 1000));
    this.mutated();
  }
}
