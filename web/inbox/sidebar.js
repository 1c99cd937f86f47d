// The contact sidebar: identity, the saved segments the contact is in, attributes (Stripe ones grouped), app cards
// and recent timeline events.
import { api, describeError, fieldError } from './api.js';
import { summarizeMetadata } from './timeline-summary.js';
import { fullTime, h, hueOf, initials, replace, shortTime } from '../shared/dom.js';

/**
 * @typedef {{ id: string, role: 'user'|'lead', name: string|null, email: string|null, external_id: string|null,
 *   phone: string|null, created_at: number, last_seen_at: number|null,
 *   custom_attributes: Record<string, string|number|boolean> }} Contact
 * @typedef {{ name: string, data_type: string, label: string }} AttributeDef
 * @typedef {{ title: string, subtitle?: string, badge?: string,
 *   sections: { title: string, rows: { label: string, value: string }[] }[],
 *   actions?: CardAction[], empty_state?: string }} CardView
 * @typedef {{ id: string, label: string, input?: unknown,
 *   field?: { name: string, label: string, placeholder?: string } }} CardAction
 * @typedef {{ app_id: string, card_id: string, view: CardView|null, error: string|null }} Card
 * @typedef {{ id: string, event_name: string, created_at: number, metadata: Record<string, unknown> }} TimelineEvent
 * @typedef {{ id: string, name: string }} AttachedSegment
 */

// Unix seconds between 2000-01-01 and 2100-01-01: a number in that range on a date-ish key is a date.
const MIN_DATE = 946684800;
const MAX_DATE = 4102444800;

/**
 * @param {string} key
 * @param {unknown} value
 * @param {AttributeDef | undefined} def
 */
export function isDateAttribute(key, value, def) {
  if (typeof value !== 'number') return false;
  if (def) return def.data_type === 'date';
  return /(_at|_date|_on|_time)$/.test(key) && value >= MIN_DATE && value < MAX_DATE;
}

/**
 * "stripe_current_period_end" → "Current period end" (inside the Stripe group), "plan_name" → "Plan name".
 *
 * @param {string} key
 */
export function humanize(key) {
  const s = key.replace(/^stripe_/, '').replace(/_/g, ' ');
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * "invoice.payment_failed" → "Invoice payment failed".
 *
 * @param {string} name
 */
function sentence(name) {
  const s = name.replace(/[_.-]+/g, ' ').trim();
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * @param {string} key
 * @param {string|number|boolean} value
 * @param {AttributeDef | undefined} def
 * @returns {string}
 */
export function formatAttribute(key, value, def) {
  if (isDateAttribute(key, value, def)) {
    const d = new Date(Number(value) * 1000);
    return d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
  }
  if (typeof value === 'boolean') return value ? 'Yes' : 'No';
  if (typeof value === 'number') return value.toLocaleString();
  return value;
}

/**
 * @param {[string, string | Node][]} rows
 */
function table(rows) {
  return h(
    'table',
    { class: 'kv' },
    h(
      'tbody',
      null,
      rows.map(([k, v]) => h('tr', null, h('th', { scope: 'row' }, k), h('td', null, v))),
    ),
  );
}

/**
 * @param {string} title
 * @param {...(Node | string | null | false | undefined | (Node|null|undefined|false)[])} body
 */
function section(title, ...body) {
  return h('section', { class: 'side-section' }, h('h3', null, title), ...body);
}

/**
 * Renders the sidebar for a contact. Cards and events load after the identity so the panel is useful at once.
 *
 * @param {HTMLElement} root
 * @param {Contact} contact
 * @param {Map<string, AttributeDef>} attributeDefs
 */
export function renderSidebar(root, contact, attributeDefs) {
  const name =
    contact.name || contact.email || (contact.role === 'lead' ? 'Anonymous visitor' : 'Unnamed user');
  const avatar = h('div', { class: 'avatar avatar-lg', 'aria-hidden': 'true' }, initials(name));
  avatar.style.setProperty('--hue', String(hueOf(contact.id)));

  /** @type {[string, string | Node][]} */
  const details = [
    ['Role', h('span', { class: `pill pill-${contact.role}` }, contact.role === 'user' ? 'User' : 'Lead')],
    ['Email', contact.email ?? '—'],
    ['External ID', contact.external_id ?? '—'],
  ];
  if (contact.phone) details.push(['Phone', contact.phone]);
  details.push(['First seen', fullTime(contact.created_at) || '—']);
  details.push(['Last seen', contact.last_seen_at ? fullTime(contact.last_seen_at) : '—']);

  /** @type {[string, string][]} */
  const general = [];
  /** @type {[string, string][]} */
  const stripe = [];
  const keys = Object.keys(contact.custom_attributes ?? {}).sort();
  for (const key of keys) {
    const value = contact.custom_attributes[key];
    if (value === undefined || value === null) continue;
    const def = attributeDefs.get(key);
    const label = def?.label && def.label !== key ? def.label.replace(/^Stripe:?\s*/i, '') : humanize(key);
    const row = /** @type {[string, string]} */ ([label, formatAttribute(key, value, def)]);
    (key.startsWith('stripe_') ? stripe : general).push(row);
  }

  const segmentsBox = h(
    'div',
    { class: 'segments', 'data-testid': 'contact-segments' },
    h('p', { class: 'muted small' }, 'Loading segments…'),
  );
  const cardsBox = h('div', { class: 'cards' }, h('p', { class: 'muted small' }, 'Loading apps…'));
  const eventsBox = h('div', { class: 'events' }, h('p', { class: 'muted small' }, 'Loading activity…'));

  replace(
    root,
    h(
      'div',
      { class: 'side-identity' },
      avatar,
      h(
        'div',
        { class: 'side-identity-text' },
        h('div', { class: 'side-name', 'data-testid': 'contact-name' }, name),
        contact.email && contact.email !== name
          ? h('div', { class: 'muted small ellipsis' }, contact.email)
          : null,
      ),
    ),
    section('Details', table(details)),
    section('Segments', segmentsBox),
    section(
      'Attributes',
      general.length ? table(general) : h('p', { class: 'muted small' }, 'No custom attributes yet.'),
    ),
    stripe.length ? section('Stripe', table(stripe)) : null,
    section('Apps', cardsBox),
    section('Recent activity', eventsBox),
  );

  void loadSegments(segmentsBox, contact);
  void loadCards(cardsBox, contact);
  void loadEvents(eventsBox, contact);
}

/**
 * The segments the contact matches now (evaluated by the server on each load).
 *
 * @param {HTMLElement} box
 * @param {Contact} contact
 */
async function loadSegments(box, contact) {
  try {
    const res = await api('GET', `/api/contacts/${encodeURIComponent(contact.id)}/segments`);
    /** @type {AttachedSegment[]} */
    const segments = res.data ?? [];
    if (segments.length === 0) {
      replace(box, h('p', { class: 'muted small' }, 'In no saved segment.'));
      return;
    }
    replace(
      box,
      h(
        'ul',
        { class: 'segment-list' },
        segments.map((s) => h('li', { class: 'segment-chip', dataset: { id: s.id }, title: s.name }, s.name)),
      ),
    );
  } catch (err) {
    // Quiet: segments are a hint beside the conversation, and the cause is one hover away.
    replace(box, h('p', { class: 'muted small', title: describeError(err) }, 'Couldn’t load segments.'));
  }
}

/**
 * @param {HTMLElement} box
 * @param {Contact} contact
 */
async function loadCards(box, contact) {
  try {
    const res = await api('GET', `/api/contacts/${encodeURIComponent(contact.id)}/cards`);
    /** @type {Card[]} */
    const cards = res.data ?? [];
    if (cards.length === 0) {
      replace(box, h('p', { class: 'empty-inline' }, 'No apps installed'));
      return;
    }
    replace(
      box,
      cards.map((c) => renderCard(c, contact)),
    );
  } catch (err) {
    replace(box, h('p', { class: 'form-error' }, `Couldn’t load app cards. ${describeError(err)}`));
  }
}

/**
 * @param {Card} card
 * @param {Contact} contact
 * @returns {HTMLElement}
 */
function renderCard(card, contact) {
  const el = h('div', { class: 'app-card', dataset: { app: card.app_id, card: card.card_id } });
  /** @type {CardView | null} the view shown, under which an action's message or error appears */
  let current = card.view;
  const fill = (/** @type {CardView | null} */ view, /** @type {string | null} */ error, note = '') => {
    current = view;
    if (error || !view) {
      replace(
        el,
        h('div', { class: 'app-card-head' }, h('strong', null, card.app_id)),
        h('p', { class: 'form-error small' }, error ?? 'This card has nothing to show.'),
      );
      return;
    }
    const hasRows = view.sections.some((s) => s.rows.length > 0);
    replace(
      el,
      h(
        'div',
        { class: 'app-card-head' },
        h('strong', null, view.title),
        view.badge ? h('span', { class: 'badge' }, view.badge) : null,
      ),
      view.subtitle ? h('div', { class: 'muted small' }, view.subtitle) : null,
      hasRows
        ? view.sections.map((s) =>
            h(
              'div',
              { class: 'app-card-section' },
              s.title ? h('div', { class: 'app-card-section-title' }, s.title) : null,
              table(s.rows.map((r) => [r.label, r.value])),
            ),
          )
        : h('p', { class: 'muted small' }, view.empty_state ?? 'Nothing to show for this contact.'),
      view.actions?.length
        ? h(
            'div',
            { class: 'app-card-actions' },
            view.actions.map((a) => (a.field ? fieldAction(a, a.field) : button(a))),
          )
        : null,
      note ? h('p', { class: 'small muted', role: 'status' }, note) : null,
    );
  };
  /**
   * Runs a card action and shows what it answered (a new view, or a message under the current one).
   *
   * @param {CardAction} a
   * @param {unknown} input
   * @param {string} [typed] what was typed in the action's text box: kept there when the action is refused
   */
  const run = async (a, input, typed) => {
    try {
      const out = await api(
        'POST',
        `/api/contacts/${encodeURIComponent(contact.id)}/cards/${encodeURIComponent(card.app_id)}/${encodeURIComponent(card.card_id)}/actions/${encodeURIComponent(a.id)}`,
        input === undefined ? {} : { input },
      );
      if (out && typeof out === 'object' && 'sections' in out) fill(out, null);
      else fill(current, null, String(out?.message ?? 'Done.'));
    } catch (err) {
      const named = a.field ? fieldError(err, [a.field]) : null;
      fill(current, null, named ? named.text : describeError(err));
      if (typed === undefined) return;
      // The card was drawn again: what was typed goes back in its box, marked, so a typo is fixed, not retyped.
      const box = /** @type {HTMLInputElement | null} */ (
        el.querySelector(`.app-card-field[data-action="${CSS.escape(a.id)}"] input`)
      );
      if (!box) return;
      box.value = typed;
      if (named) box.setAttribute('aria-invalid', 'true');
      box.focus();
    }
  };
  /** @param {CardAction} a */
  const button = (a) =>
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-sm',
        on: {
          click: async (/** @type {Event} */ ev) => {
            /** @type {HTMLButtonElement} */ (ev.currentTarget).disabled = true;
            await run(a, a.input);
          },
        },
      },
      a.label,
    );
  /**
   * A button with a one-line text box; what is typed goes as `input[field.name]`.
   *
   * @param {CardAction} a
   * @param {{ name: string, label: string, placeholder?: string }} field
   */
  const fieldAction = (a, field) => {
    const box = h('input', {
      class: 'app-card-input',
      'aria-label': field.label,
      placeholder: field.placeholder ?? '',
      autocomplete: 'off',
    });
    const form = h(
      'form',
      { class: 'app-card-field', dataset: { action: a.id } },
      box,
      h('button', { type: 'submit', class: 'btn btn-sm' }, a.label),
    );
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const base = a.input && typeof a.input === 'object' ? a.input : {};
      form.querySelector('button')?.setAttribute('disabled', '');
      await run(a, { ...base, [field.name]: box.value.trim() }, box.value);
    });
    return form;
  };
  fill(card.view, card.error);
  return el;
}

/**
 * @param {HTMLElement} box
 * @param {Contact} contact
 */
async function loadEvents(box, contact) {
  try {
    const res = await api('GET', `/api/contacts/${encodeURIComponent(contact.id)}/events?per_page=8`);
    /** @type {TimelineEvent[]} */
    const events = res.events ?? [];
    if (events.length === 0) {
      replace(box, h('p', { class: 'empty-inline' }, 'No activity recorded yet.'));
      return;
    }
    replace(
      box,
      h(
        'ol',
        { class: 'timeline' },
        events.map((e) => {
          const meta = summarizeMetadata(e.metadata);
          return h(
            'li',
            null,
            h(
              'div',
              { class: 'timeline-row' },
              h(
                'span',
                { class: 'timeline-name' },
                sentence(e.event_name),
                meta.test ? h('span', { class: 'badge badge-test' }, 'test') : null,
              ),
              h('time', { class: 'muted small', title: fullTime(e.created_at) }, shortTime(e.created_at)),
            ),
            meta.line || meta.full
              ? h('div', { class: 'muted small ellipsis timeline-meta', title: meta.full }, meta.line)
              : null,
          );
        }),
      ),
    );
  } catch (err) {
    replace(box, h('p', { class: 'form-error small' }, `Couldn’t load activity. ${describeError(err)}`));
  }
}
