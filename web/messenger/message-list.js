// An open conversation's messages, each shown once (the stream, polls and sends can all bring the same one);
// internal notes never are. Bodies are set as text only (`h()`), never as HTML.
import { clockTime, h } from '../shared/dom.js';

/** @typedef {import('./api.js').Message} Message */

export class MessageList {
  /**
   * @param {string} workspaceName
   * @param {Message[]} messages
   */
  constructor(workspaceName, messages) {
    this.workspaceName = workspaceName;
    /** @type {Set<string>} */
    this.shownIds = new Set();
    this.el = h('div', {
      class: 'messages',
      'aria-live': 'polite',
      'data-testid': 'settle-messages',
    });
    if (messages.length === 0) {
      this.el.appendChild(
        h(
          'div',
          { class: 'intro' },
          h('strong', null, `Message ${workspaceName}`),
          h('span', null, 'Tell us what you need and we’ll get back to you here.'),
        ),
      );
    }
    for (const m of messages) this.append(m, false);
  }

  /**
   * @param {Message} m
   * @param {boolean} [scroll]
   */
  append(m, scroll = true) {
    const el = this.el;
    if (this.shownIds.has(m.id) || m.kind === 'note') return;
    this.shownIds.add(m.id);
    el.querySelector('.intro')?.remove();
    const mine = m.author.type === 'contact';
    const who = mine ? 'You' : m.author.type === 'agent' ? `${this.workspaceName} AI` : this.workspaceName;
    el.appendChild(
      h(
        'div',
        {
          class: `msg ${mine ? 'mine' : 'theirs'}${m.kind === 'card' ? ' card' : ''}`,
          dataset: { id: m.id },
        },
        h('div', { class: 'bubble' }, m.body),
        h('div', { class: 'meta' }, `${who} · ${clockTime(m.created_at)}`),
      ),
    );
    if (scroll) el.scrollTop = el.scrollHeight;
  }
}
