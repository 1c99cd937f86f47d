// A request context outside HTTP: clock ticks (renewals), the hosted Checkout page, test controls.
import type Stripe from 'stripe';
import type { Account } from './account.ts';
import type { Emulator } from './emulator.ts';
import { emitEvent } from './events.ts';
import type { Ctx } from './router.ts';

export function makeCtx(
  emu: Emulator,
  acct: Account,
  requestId: string | null = null,
  idempotencyKey: string | null = null,
): Ctx {
  return {
    emu,
    acct,
    now: emu.clock.now(),
    requestId: requestId ?? '',
    idempotencyKey,
    emit(
      type: Stripe.Event.Type,
      object: { id: string; object: string },
      previous?: Record<string, unknown>,
    ) {
      emitEvent(emu, acct, type, object, { previous, requestId, idempotencyKey });
    },
  };
}
