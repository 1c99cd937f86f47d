// What the Settings → Stripe sections share: the app's API base, the view they re-render, and a form's error line.
import { h } from '../shared/dom.js';
import { describeError } from './api.js';

/**
 * The settings view a section belongs to: its element, and `render` to load and draw everything again (after an
 * action changed something).
 *
 * @typedef {{ root: HTMLElement, render: () => Promise<void> }} SettingsHost
 */

export const STRIPE_BASE = '/api/apps/stripe';

/** A form's error line, hidden until `show` gets an error (or a message of its own). */
export function errorLine() {
  const el = h('p', { class: 'form-error', role: 'alert', hidden: true });
  return {
    el,
    /** @param {unknown} err */
    show(err) {
      el.textContent = typeof err === 'string' ? err : describeError(err);
      el.hidden = false;
    },
    clear() {
      el.hidden = true;
    },
  };
}
