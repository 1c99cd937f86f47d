// What the Settings → Stripe sections share: the app's API base, the view they re-render, and a form's error line.
import { h } from '../shared/dom.js';
import { describeError, fieldError } from './api.js';

/**
 * The settings view a section belongs to: its element, and `render` to load and draw everything again (after an
 * action changed something).
 *
 * @typedef {{ root: HTMLElement, render: () => Promise<void> }} SettingsHost
 */

export const STRIPE_BASE = '/api/apps/stripe';

/**
 * A form's error line, hidden until `show` gets an error (or a message of its own). With `fields`, an API error
 * whose `path` names one of them (`api_base`, `input.api_base`, `settings.metadata_key`) is told with that field's
 * label instead of the wire name, and the field is marked invalid and focused, as a form says which box to fix.
 *
 * @param {{ input: HTMLInputElement, label: string }[]} [fields]
 */
export function errorLine(fields = []) {
  const el = h('p', { class: 'form-error', role: 'alert', hidden: true });
  /** @type {HTMLInputElement | null} */
  let marked = null;
  return {
    el,
    /** @param {unknown} err */
    show(err) {
      const named = fieldError(
        err,
        fields.map((f) => ({ ...f, name: f.input.name })),
      );
      if (named) {
        el.textContent = named.text;
        marked = named.field.input;
        marked.setAttribute('aria-invalid', 'true');
        marked.focus();
      } else el.textContent = typeof err === 'string' ? err : describeError(err);
      el.hidden = false;
    },
    clear() {
      el.hidden = true;
      marked?.removeAttribute('aria-invalid');
      marked = null;
    },
  };
}
