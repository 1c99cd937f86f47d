// A thread's messages: who wrote each one (the contact, a teammate, the AI agent, an app's card or Settle itself)
// and how it shows (bubble, internal note, card, or a centred status line).
import { clockTime, fullTime, h, hueOf, initials } from '../shared/dom.js';

/**
 * @typedef {{ id: string, name: string, email: string }} Teammate
 * @typedef {{ id: string, conversation_id: string, author: { type: 'contact'|'teammate'|'agent'|'system', id: string|null },
 *   kind: 'comment'|'note'|'card', body: string, card: { app_id?: string, type?: string } | null, created_at: number,
 *   seq: number }} Message
 * @typedef {{ id: string, contact_id: string, state: 'open'|'snoozed'|'closed', snoozed_until: number|null,
 *   assignee_id: string|null, read: boolean, title: string|null, created_at: number,
 *   contact: import('./sidebar.js').Contact, messages: Message[] }} ConversationDetail
 */

/** @param {ConversationDetail['contact']} c */
export function contactName(c) {
  return c.name || c.email || (c.role === 'lead' ? 'Anonymous visitor' : 'Unnamed user');
}

/**
 * The element showing one message of `conv`.
 *
 * @param {Message} m
 * @param {ConversationDetail} conv
 * @param {Map<string, Teammate>} teammates
 * @returns {HTMLElement}
 */
export function messageEl(m, conv, teammates) {
  let cls = 'msg-contact';
  let author = contactName(conv.contact);
  let avatarKey = conv.contact.id;
  if (m.author.type === 'teammate') {
    cls = 'msg-teammate';
    author = (m.author.id && teammates.get(m.author.id)?.name) || 'Team';
    avatarKey = m.author.id ?? 'team';
  } else if (m.author.type === 'agent') {
    cls = 'msg-teammate msg-agent';
    author = 'AI agent';
    avatarKey = 'agent';
  } else if (m.author.type === 'system') {
    // Cards are sent to the customer on the team's side; other system messages are centred status lines.
    cls = m.kind === 'card' ? 'msg-teammate' : 'msg-system';
    author = m.kind === 'card' && m.card?.app_id ? m.card.app_id : 'Settle';
    avatarKey = `app:${author}`;
  }
  if (m.kind === 'note') cls += ' msg-note';
  if (m.kind === 'card') cls += ' msg-card';

  if (m.author.type === 'system' && m.kind !== 'card') {
    return h(
      'div',
      { class: 'msg msg-system', dataset: { messageId: m.id }, title: fullTime(m.created_at) },
      h('span', null, m.body),
    );
  }

  const avatar = h('div', { class: 'avatar', 'aria-hidden': 'true' }, initials(author));
  avatar.style.setProperty('--hue', String(hueOf(avatarKey)));
  const meta = h(
    'div',
    { class: 'msg-meta' },
    h('span', { class: 'msg-author' }, author),
    m.kind === 'note' ? h('span', { class: 'msg-tag' }, 'Internal note') : null,
    m.kind === 'card'
      ? h('span', { class: 'msg-tag' }, m.card?.type ? `Card · ${m.card.type}` : 'Card')
      : null,
    h('time', { title: fullTime(m.created_at) }, clockTime(m.created_at)),
  );
  return h(
    'div',
    { class: `msg ${cls}`, dataset: { messageId: m.id, kind: m.kind, author: m.author.type } },
    avatar,
    h('div', { class: 'msg-main' }, meta, h('div', { class: 'msg-bubble' }, m.body)),
  );
}
