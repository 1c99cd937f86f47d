// The messenger's home view: a greeting, the in-app message cards, a button to write, and the conversation list.
import { h, icon, shortTime } from '../shared/dom.js';
import { ICONS } from './icons.js';

/** @typedef {import('./api.js').Conv} Conv */

/**
 * @param {{ firstName: string | undefined, conversations: Conv[], cards: HTMLElement | null,
 *   onNew: () => void, onOpen: (id: string) => void }} opts `cards` are the in-app messages (outbound.js)
 */
export function homeView(opts) {
  const name = opts.firstName;
  const list = opts.conversations;
  return h(
    'div',
    { class: 'home' },
    h(
      'div',
      { class: 'hello' },
      h('h2', null, name ? `Hi ${name} 👋` : 'Hi there 👋'),
      h('p', null, 'Ask us anything, or share your feedback.'),
    ),
    opts.cards,
    h(
      'button',
      {
        type: 'button',
        class: 'primary-btn',
        'data-testid': 'settle-new',
        on: { click: () => opts.onNew() },
      },
      'Send us a message',
      icon(ICONS.send),
    ),
    list.length
      ? h(
          'div',
          { class: 'conv-list' },
          h('div', { class: 'section-title' }, 'Your conversations'),
          list.map((c) =>
            h(
              'button',
              {
                type: 'button',
                class: `conv${c.unread ? ' is-unread' : ''}`,
                dataset: { id: c.id },
                on: { click: () => opts.onOpen(c.id) },
              },
              h('span', { class: 'conv-preview' }, c.preview ?? 'Conversation'),
              h(
                'span',
                { class: 'conv-meta' },
                c.unread ? h('span', { class: 'conv-unread' }, `${c.unread} new`) : null,
                h('time', null, shortTime(c.last_message_at)),
              ),
            ),
          ),
        )
      : null,
  );
}
