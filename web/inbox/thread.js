// The conversation pane: header with actions, the messages, and the composer (reply or internal note). The parts
// are built in thread-header.js, thread-messages.js and thread-composer.js; this view switches conversations and
// keeps the scroll position.
import { createComposer } from './thread-composer.js';
import { ThreadHeader } from './thread-header.js';
import { messageEl } from './thread-messages.js';
import { h, replace } from '../shared/dom.js';

/**
 * @typedef {import('./thread-messages.js').Teammate} Teammate
 * @typedef {import('./thread-messages.js').Message} Message
 * @typedef {import('./thread-messages.js').ConversationDetail} ConversationDetail
 * @typedef {{
 *   teammates: () => Map<string, Teammate>,
 *   send: (id: string, type: 'comment'|'note', body: string) => Promise<Message>,
 *   setState: (id: string, state: 'open'|'snoozed'|'closed', snoozedUntil?: number) => Promise<void>,
 *   assign: (id: string, assigneeId: string | null) => Promise<void>,
 *   backHref: () => string,
 * }} ThreadDeps
 */

export class ThreadView {
  /**
   * @param {HTMLElement} root
   * @param {ThreadDeps} deps
   */
  constructor(root, deps) {
    this.root = root;
    this.deps = deps;
    /** @type {ConversationDetail | null} */
    this.conv = null;
    /** @type {Set<string>} */
    this.messageIds = new Set();
    /** @type {Message[]} live messages that came while a conversation was loading: shown with it */
    this.early = [];
    this.header = new ThreadHeader(deps, () => this.conv);
    this.messages = h('div', { class: 'messages', 'aria-live': 'polite', tabindex: '-1' });
    this.composer = createComposer(
      deps,
      () => this.conv,
      (m) => this.append(m),
    );
    this.empty('Select a conversation', 'Pick one from the list, or use j and k to move through it.');
  }

  /**
   * @param {string} title
   * @param {string} [text]
   */
  empty(title, text) {
    this.conv = null;
    this.early = [];
    this.messageIds.clear();
    replace(
      this.root,
      h(
        'div',
        { class: 'empty-state' },
        h('div', { class: 'empty-illustration', 'aria-hidden': 'true' }),
        h('h2', null, title),
        text ? h('p', null, text) : null,
      ),
    );
  }

  /** @param {string} text */
  loading(text = 'Loading conversation…') {
    // Forget the shown conversation: if the one that loads next is that same conversation (j, k, j pressed
    // faster than the loads), show() must rebuild the thread instead of updating the detached elements.
    this.composer.saveDraft();
    this.conv = null;
    this.early = [];
    this.messageIds.clear();
    replace(this.root, h('div', { class: 'empty-state' }, h('p', { class: 'muted' }, text)));
  }

  /** @param {ConversationDetail} conv */
  show(conv) {
    const same = this.conv?.id === conv.id;
    if (!same) this.composer.saveDraft();
    // The answer may have been read before a message the stream brought meanwhile (while it loaded, or since the
    // last show of this conversation): messages are never deleted, so a newer one it lacks is kept.
    const last = conv.messages.reduce((n, m) => Math.max(n, m.seq), 0);
    const later = [...(same && this.conv ? this.conv.messages : []), ...this.early]
      .filter((m) => m.conversation_id === conv.id && m.seq > last)
      .sort((a, b) => a.seq - b.seq)
      .filter((m, i, all) => i === 0 || all[i - 1]?.id !== m.id);
    this.early = [];
    conv.messages.push(...later);
    this.conv = conv;
    this.header.render();
    const atBottom = this.isAtBottom();
    const scrollTop = this.messages.scrollTop;
    this.messageIds.clear();
    replace(this.messages);
    if (conv.messages.length === 0)
      this.messages.appendChild(h('p', { class: 'muted center' }, 'No messages.'));
    for (const m of conv.messages) this.addMessageEl(m);
    if (!same) {
      this.header.actionError.hidden = true;
      this.composer.restoreDraft();
      replace(this.root, this.header.el, this.header.actionError, this.messages, this.composer.form);
      this.scrollToBottom();
    } else if (atBottom) this.scrollToBottom();
    else this.messages.scrollTop = scrollTop;
  }

  /** @param {Partial<ConversationDetail>} patch */
  update(patch) {
    if (!this.conv) return;
    Object.assign(this.conv, patch);
    this.header.render();
  }

  /** @param {Message} m */
  append(m) {
    if (!this.conv) return void this.early.push(m);
    if (m.conversation_id !== this.conv.id || this.messageIds.has(m.id)) return;
    const atBottom = this.isAtBottom();
    this.conv.messages.push(m);
    this.messages.querySelector('.center')?.remove();
    this.addMessageEl(m);
    if (atBottom || m.author.type === 'teammate') this.scrollToBottom();
  }

  focusComposer() {
    if (this.conv) this.composer.textarea.focus();
  }

  isAtBottom() {
    const el = this.messages;
    return el.scrollHeight - el.scrollTop - el.clientHeight < 80;
  }

  scrollToBottom() {
    requestAnimationFrame(() => {
      this.messages.scrollTop = this.messages.scrollHeight;
    });
  }

  /** @param {Message} m */
  addMessageEl(m) {
    this.messageIds.add(m.id);
    const conv = this.conv;
    if (!conv) return;
    this.messages.appendChild(messageEl(m, conv, this.deps.teammates()));
  }
}
