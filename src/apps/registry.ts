import type { AppRegistry } from '../platform/apps/runtime.ts';
import { stripeApp } from './stripe/manifest.ts';

/**
 * The one explicit map of the apps this Settle ships. Only the composition root (src/cli) imports it; the
 * platform receives it at start-up and never imports an app.
 */
export const appRegistry: AppRegistry = { stripe: stripeApp };
