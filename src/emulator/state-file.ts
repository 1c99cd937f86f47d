// Persisting the emulator's objects so a restarted emulator keeps them: one JSON file, written debounced and on
// close. Holds test-mode secrets of a local emulator only (webhook signing secrets), never real keys' data.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type Stripe from 'stripe';
import type { AnyObject, PendingProration } from './account.ts';
import type { Emulator } from './emulator.ts';
import { ORDER } from './snapshot.ts';

// Every collection, dependencies first (the snapshot's load order), then what snapshots never hold.
const KINDS = [...ORDER, 'checkout.session', 'billing_portal.session', 'event', 'webhook_endpoint'];

interface AccountState {
  key: string;
  objects: AnyObject[];
  discounts: Stripe.Discount[];
  priceTiers?: Array<[string, Stripe.Price.Tier[]]>;
  pending: Array<[string, PendingProration[]]>;
  secrets: Array<[string, string]>;
  lineItems: Array<[string, Stripe.LineItem[]]>;
  deletedCustomers?: string[];
  setUpCards?: string[];
  pendingAuthentications?: Array<[string, { returnUrl: string | null }]>;
  invoiceSeq: number;
}

interface StateFile {
  version: 1;
  clock: { now: number; frozen: boolean };
  accounts: AccountState[];
}

export function saveState(emu: Emulator, path: string): void {
  const state: StateFile = {
    version: 1,
    clock: { now: emu.clock.now(), frozen: emu.clock.isFrozen() },
    accounts: [...emu.accounts.values()].map((a) => ({
      key: a.key,
      objects: KINDS.flatMap((k) => [...(a.collection(k)?.values() ?? [])]),
      discounts: [...a.discounts.values()],
      priceTiers: [...a.priceTiers.entries()],
      pending: [...a.pendingProrations.entries()],
      secrets: [...a.endpointSecrets.entries()],
      lineItems: [...a.checkoutLineItems.entries()],
      deletedCustomers: [...a.deletedCustomers],
      setUpCards: [...a.setUpCards],
      pendingAuthentications: [...a.pendingAuthentications.entries()],
      invoiceSeq: a.invoiceSeq,
    })),
  };
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
  renameSync(tmp, path);
}

export function loadState(emu: Emulator, path: string): boolean {
  if (!existsSync(path)) return false;
  const state = JSON.parse(readFileSync(path, 'utf8')) as StateFile;
  if (state.version !== 1) return false;
  if (state.clock.frozen) emu.clock.freeze(state.clock.now);
  for (const s of state.accounts) {
    const a = emu.account(s.key);
    for (const o of s.objects) a.save(o);
    for (const d of s.discounts) a.discounts.set(d.id, d);
    for (const [k, v] of s.priceTiers ?? []) a.priceTiers.set(k, v);
    for (const [k, v] of s.pending) a.pendingProrations.set(k, v);
    for (const [k, v] of s.secrets) a.endpointSecrets.set(k, v);
    for (const [k, v] of s.lineItems ?? []) a.checkoutLineItems.set(k, v);
    for (const id of s.deletedCustomers ?? []) a.deletedCustomers.add(id);
    for (const id of s.setUpCards ?? []) a.setUpCards.add(id);
    for (const [k, v] of s.pendingAuthentications ?? []) a.pendingAuthentications.set(k, v);
    a.invoiceSeq = s.invoiceSeq;
  }
  return true;
}

export function debounced(fn: () => void, ms: number): { trigger(): void; flush(): void; cancel(): void } {
  let timer: NodeJS.Timeout | null = null;
  return {
    trigger() {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        fn();
      }, ms);
      timer.unref();
    },
    flush() {
      if (timer) clearTimeout(timer);
      timer = null;
      fn();
    },
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
    },
  };
}
