// The thread's header: back link, the contact's name and the conversation's state, the assignee, and the actions
// (snooze, close, reopen). An action's failure shows in a banner the thread places above the messages.
import { describeError } from './api.js';
import { contactName } from './thread-messages.js';
import { fullTime, h, icon, replace } from '../shared/dom.js';

/**
 * @typedef {import('./thread-messages.js').ConversationDetail} ConversationDetail
 * @typedef {import('./thread-messages.js').Teammate} Teammate
 * @typedef {{
 *   teammates: () => Map<string, Teammate>,
 *   setState: (id: string, state: 'open'|'snoozed'|'closed', snoozedUntil?: number) => Promise<void>,
 *   assign: (id: string, assigneeId: string | null) => Promise<void>,
 *   backHref: () => string,
 * }} HeaderDeps
 */

const ICON_CLOSE = ['M20 6 9 17l-5-5'];
const ICON_SNOOZE = ['M12 6v6l4 2', 'M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z'];
const ICON_PERSON = ['M20 21a8 8 0 0 0-16 0', 'M12 13a5 5 0 1 0 0-10 5 5 0 0 0 0 10z'];
const ICON_BACK = ['M15 18l-6-6 6-6'];
const ICON_REOPEN = ['M3 12a9 9 0 1 0 3-6.7', 'M3 4v5h5'];

/** Unix seconds of tomorrow 09:00 local time. */
export function tomorrowMorning(now = new Date()) {
  const d = new Date(now);
  d.setDate(d.getDate() + 1);
  d.setHours(9, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

export class ThreadHeader {
  /**
   * @param {HeaderDeps} deps
   * @param {() => ConversationDetail | null} current the conversation the thread shows
   */
  constructor(deps, current) {
    this.deps = deps;
    this.current = current;
    this.el = h('div', { class: 'thread-header' });
    this.actionError = h('p', { class: 'banner banner-error', role: 'alert', hidden: true });
  }

  render() {
    const conv = this.current();
    if (!conv) return;
    const teammates = this.deps.teammates();
    const name = contactName(conv.contact);

    const assign = h(
      'select',
      { class: 'select', 'aria-label': 'Assignee', 'data-testid': 'assign' },
      h('option', { value: '' }, 'Unassigned'),
      [...teammates.values()].map((t) =>
        h('option', { value: t.id, selected: t.id === conv.assignee_id }, t.name),
      ),
    );
    assign.addEventListener('change', () =>
      this.run(() => this.deps.assign(conv.id, assign.value || null), assign),
    );

    /** @type {HTMLElement[]} */
    const actions = [];
    if (conv.state === 'open') {
      const menu = h(
        'details',
        { class: 'menu' },
        h(
          'summary',
          { class: 'btn btn-sm', 'aria-haspopup': 'menu', title: 'Snooze' },
          icon(ICON_SNOOZE),
          h('span', { class: 'btn-label' }, 'Snooze'),
        ),
        h(
          'div',
          { class: 'menu-items', role: 'menu' },
          h(
            'button',
            {
              type: 'button',
              role: 'menuitem',
              on: {
                click: () =>
                  this.run(() =>
                    this.deps.setState(conv.id, 'snoozed', Math.floor(Date.now() / 1000) + 3600),
                  ),
              },
            },
            'For 1 hour',
          ),
          h(
            'button',
            {
              type: 'button',
              role: 'menuitem',
              on: { click: () => this.run(() => this.deps.setState(conv.id, 'snoozed', tomorrowMorning())) },
            },
            'Until tomorrow, 9:00',
          ),
        ),
      );
      actions.push(
        menu,
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-sm btn-primary',
            'data-testid': 'close',
            title: 'Close conversation',
            on: { click: () => this.run(() => this.deps.setState(conv.id, 'closed')) },
          },
          icon(ICON_CLOSE),
          h('span', { class: 'btn-label' }, 'Close'),
        ),
      );
    } else {
      actions.push(
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-sm',
            'data-testid': 'reopen',
            on: { click: () => this.run(() => this.deps.setState(conv.id, 'open')) },
          },
          icon(ICON_REOPEN),
          h('span', { class: 'btn-label' }, conv.state === 'snoozed' ? 'Unsnooze' : 'Reopen'),
        ),
      );
    }

    const stateLabel =
      conv.state === 'snoozed'
        ? `Snoozed until ${fullTime(conv.snoozed_until)}`
        : conv.state === 'closed'
          ? 'Closed'
          : 'Open';

    replace(
      this.el,
      h(
        'a',
        {
          class: 'thread-back btn btn-ghost btn-sm',
          href: this.deps.backHref(),
          'aria-label': 'Back to the list',
        },
        icon(ICON_BACK),
      ),
      h(
        'div',
        { class: 'thread-title' },
        h('h2', { class: 'ellipsis', 'data-testid': 'thread-title', title: name }, name),
        h(
          'div',
          { class: 'thread-sub' },
          h('span', { class: `state-pill state-${conv.state}` }, stateLabel),
          conv.contact.email && conv.contact.email !== name
            ? h('span', { class: 'muted small ellipsis' }, conv.contact.email)
            : null,
        ),
      ),
      h(
        'div',
        { class: 'thread-actions' },
        h('label', { class: 'assign', title: 'Assignee' }, icon(ICON_PERSON), assign),
        actions,
      ),
    );
  }

  /**
   * Runs a header action, showing its failure above the messages.
   *
   * @param {() => Promise<void>} fn
   * @param {HTMLSelectElement} [select] restored to the conversation's assignee on failure
   */
  async run(fn, select) {
    this.actionError.hidden = true;
    this.el.querySelectorAll('details[open]').forEach((d) => d.removeAttribute('open'));
    try {
      await fn();
    } catch (err) {
      this.actionError.textContent = describeError(err);
      this.actionError.hidden = false;
      const conv = this.current();
      if (select && conv) select.value = conv.assignee_id ?? '';
    }
  }
}
