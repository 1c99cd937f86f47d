// Wiring: an Emulator with every resource registered and the clock-driven work hooked up.
import { makeCtx } from './context.ts';
import { Emulator, type EmulatorCoreOptions } from './emulator.ts';
import { registerCatalog } from './resources/catalog.ts';
import { registerCustomers } from './resources/customers.ts';
import { registerInvoices } from './resources/invoices.ts';
import { registerPaymentMethods } from './resources/payment-methods.ts';
import { registerPaymentIntents } from './resources/payment-intents.ts';
import { registerPayments } from './resources/payments.ts';
import { registerPlatform } from './resources/platform.ts';
import { advanceSubscriptions } from './resources/renewals.ts';
import { registerSubscriptions } from './resources/subscriptions.ts';
import { expireCheckoutSessions, registerCheckout } from './resources/checkout.ts';
import { registerPortal } from './resources/portal.ts';

export function createEmulator(opts: EmulatorCoreOptions = {}): Emulator {
  const emu = new Emulator(opts);
  const r = emu.router;
  registerCustomers(r);
  registerCatalog(r);
  registerPaymentMethods(r);
  registerPaymentIntents(r);
  registerPayments(r);
  registerSubscriptions(r);
  registerInvoices(r);
  registerCheckout(r);
  registerPortal(r);
  registerPlatform(r);
  emu.onTick((acct) => {
    const ctx = makeCtx(emu, acct);
    advanceSubscriptions(ctx);
    expireCheckoutSessions(ctx);
  });
  return emu;
}
