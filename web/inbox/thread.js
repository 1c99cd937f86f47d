// The conversation pane: header with actions, the messages, and the composer (reply or internal note).
import { describeError } from './api.js';
import { clockTime, fullTime, h, hueOf, icon, initials, replace } from '../shared/dom.js';

/**
 * @typedef {{ id: string, name: string, email: string }} Teammate
 * @typedef {{ id: string, conversation_id: string, author: { type: 'contact'|'teammate'|'agent'|'system', id: string|null },
 *   kind: 'comment'|'note'|'card', body: string, card: { app_id?: string, type?: string } | null, created_at: number,
 *   seq: number }} Message
 * @typedef {{ id: string, contact_id: string, state: 'open'|'snoozed'|'closed', snoozed_until: number|null,
 *   assignee_id: string|null, read: boolean, title: string|null, created_at: number,
 *   contact: import('./sidebar.js').Contact, messages: Message[] }} ConversationDetail
 * @typedef {{ body: string, mode: 'comment'|'note' }} Draft
 * @typedef {{
 *   teammates: () => Map<string, Teammate>,
 *   send: (id: string, type: 'comment'|'note', body: string) => Promise<Message>,
 *   setState: (id: string, state: 'open'|'snoozed'|'closed', snoozedUntil?: number) => Promise<void>,
 *   assign: (id: string, assigneeId: string | null) => Promise<void>,
 *   backHref: () => string,
 * }} ThreadDeps
 */

const ICON_CLOSE = ['M20 6 9 17l-5-5'];
const ICON_SNOOZE = ['M12 6v6l4 2', 'M12 22a10 10 0 1 0 0-20 10 10 0 0 0 0 20z'];
const ICON_PERSON = ['M20 21a8 8 0 0 0-16 0', 'M12 13a5 5 0 1 0 0-10 5 5 0 0 0 0 10z'];
const ICON_BACK = ['M15 18l-6-6 6-6'];
const ICON_REOPEN = ['M3 12a9 9 0 1 0 3-6.7', 'M3 4v5h5'];

/** @param {ConversationDetail['contact']} c */
export function contactName(c) {
  return c.name || c.email || (c.role === 'lead' ? 'Anonymous visitor' : 'Unnamed user');
}

/** Unix seconds of tomorrow 09:00 local time. */
export function tomorrowMorning(now = new Date()) {
  const d = new Date(now);
  d.setDate(d.getDate() + 1);
  d.setHours(9, 0, 0, 0);
  return Math.floor(d.getTime() / 1000);
}

export class ThreadView {
  /**
   * @param {HTMLElement} root
   * @param {ThreadDeps} deps
   */
  constructor(root, deps) {
    this.root = root;
    this.deps = deps;
    /** @type {Map<string, Draft>} */
    this.drafts = new Map();
    /** @type {ConversationDetail | null} */
    this.conv = null;
    /** @type {Set<string>} */
    this.messageIds = new Set();
    this.header = h('div', { class: 'thread-header' });
    this.actionError = h('p', { class: 'banner banner-error', role: 'alert', hidden: true });
    this.messages = h('div', { class: 'messages', 'aria-live': 'polite', tabindex: '-1' });
    this.composer = this.buildComposer();
    this.empty('Select a conversation', 'Pick one from the list, or use j and k to move through it.');
  }

  /**
   * @param {string} title
   * @param {string} [text]
   */
  empty(title, text) {
    this.conv = null;
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
    this.saveDraft();
    this.conv = null;
    this.messageIds.clear();
    replace(this.root, h('div', { class: 'empty-state' }, h('p', { class: 'muted' }, text)));
  }

  /** @param {ConversationDetail} conv */
  show(conv) {
    const same = this.conv?.id === conv.id;
    if (!same) this.saveDraft();
    this.conv = conv;
    this.renderHeader();
    const atBottom = this.isAtBottom();
    const scrollTop = this.messages.scrollTop;
    this.messageIds.clear();
    replace(this.messages);
    if (conv.messages.length === 0)
      this.messages.appendChild(h('p', { class: 'muted center' }, 'No messages.'));
    for (const m of conv.messages) this.addMessageEl(m);
    if (!same) {
      this.actionError.hidden = true;
      this.restoreDraft();
      replace(this.root, this.header, this.actionError, this.messages, this.composer.form);
      this.scrollToBottom();
    } else if (atBottom) this.scrollToBottom();
    else this.messages.scrollTop = scrollTop;
  }

  /** @param {Partial<ConversationDetail>} patch */
  update(patch) {
    if (!this.conv) return;
    Object.assign(this.conv, patch);
    this.renderHeader();
  }

  /** @param {Message} m */
  append(m) {
    if (!this.conv || m.conversation_id !== this.conv.id || this.messageIds.has(m.id)) return;
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

  renderHeader() {
    const conv = this.conv;
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
      this.header,
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
    this.header.querySelectorAll('details[open]').forEach((d) => d.removeAttribute('open'));
    try {
      await fn();
    } catch (err) {
      this.actionError.textContent = describeError(err);
      this.actionError.hidden = false;
      if (select && this.conv) select.value = this.conv.assignee_id ?? '';
    }
  }

  /** @param {Message} m */
  addMessageEl(m) {
    this.messageIds.add(m.id);
    const conv = this.conv;
    if (!conv) return;
    const teammates = this.deps.teammates();
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
      this.messages.appendChild(
        h(
          'div',
          { class: 'msg msg-system', dataset: { messageId: m.id }, title: fullTime(m.created_at) },
          h('span', null, m.body),
        ),
      );
      return;
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
    this.messages.appendChild(
      h(
        'div',
        { class: `msg ${cls}`, dataset: { messageId: m.id, kind: m.kind, author: m.author.type } },
        avatar,
        h('div', { class: 'msg-main' }, meta, h('div', { class: 'msg-bubble' }, m.body)),
      ),
    );
  }

  buildComposer() {
    const textarea = h('textarea', {
      class: 'composer-input',
      rows: '3',
      'aria-label': 'Message',
      'data-testid': 'composer',
    });
    const error = h('p', { class: 'form-error composer-error', role: 'alert', hidden: true });
    const send = h('button', { type: 'submit', class: 'btn btn-primary', 'data-testid': 'send' }, 'Send');
    const replyTab = h('button', { type: 'button', class: 'composer-tab', 'aria-pressed': 'true' }, 'Reply');
    const noteTab = h('button', { type: 'button', class: 'composer-tab', 'aria-pressed': 'false' }, 'Note');
    const form = h(
      'form',
      { class: 'composer', novalidate: true },
      h('div', { class: 'composer-tabs', role: 'group', 'aria-label': 'Message type' }, replyTab, noteTab),
      textarea,
      h(
        'div',
        { class: 'composer-footer' },
        error,
        h('span', { class: 'muted small composer-hint' }, 'Ctrl + Enter to send'),
        send,
      ),
    );
    /** @type {'comment'|'note'} */
    let mode = 'comment';
    const setMode = (/** @type {'comment'|'note'} */ m) => {
      mode = m;
      form.classList.toggle('is-note', m === 'note');
      replyTab.setAttribute('aria-pressed', String(m === 'comment'));
      noteTab.setAttribute('aria-pressed', String(m === 'note'));
      const who = this.conv ? contactName(this.conv.contact) : 'the customer';
      textarea.placeholder =
        m === 'note' ? 'Add an internal note — only your team sees it' : `Reply to ${who}…`;
      send.textContent = m === 'note' ? 'Add note' : 'Send';
      this.saveDraft();
    };
    replyTab.addEventListener('click', () => {
      setMode('comment');
      textarea.focus();
    });
    noteTab.addEventListener('click', () => {
      setMode('note');
      textarea.focus();
    });
    textarea.addEventListener('input', () => {
      error.hidden = true;
      this.saveDraft();
    });
    textarea.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        form.requestSubmit();
      } else if (e.key === 'Escape') textarea.blur();
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const conv = this.conv;
      if (!conv || send.disabled) return;
      const body = textarea.value.trim();
      if (!body) {
        error.textContent = mode === 'note' ? 'Write a note first.' : 'Write a reply first.';
        error.hidden = false;
        return;
      }
      send.disabled = true;
      error.hidden = true;
      form.classList.add('is-sending');
      try {
        const msg = await this.deps.send(conv.id, mode, body);
        // The draft belongs to the conversation it was written in, even if the view moved on meanwhile.
        this.drafts.delete(conv.id);
        if (this.conv?.id === conv.id) {
          textarea.value = '';
          this.append(msg);
        }
      } catch (err) {
        if (this.conv?.id === conv.id) {
          error.textContent = `Not sent: ${describeError(err)} Your message is kept below.`;
          error.hidden = false;
        }
      } finally {
        send.disabled = false;
        form.classList.remove('is-sending');
      }
    });
    return { form, textarea, error, setMode, getMode: () => mode };
  }

  saveDraft() {
    if (!this.conv || !this.composer) return;
    const body = this.composer.textarea.value;
    const mode = this.composer.getMode();
    if (body || mode === 'note') this.drafts.set(this.conv.id, { body, mode });
    else this.drafts.delete(this.conv.id);
  }

  restoreDraft() {
    if (!this.conv) return;
    const d = this.drafts.get(this.conv.id);
    this.composer.textarea.value = d?.body ?? '';
    this.composer.error.hidden = true;
    this.composer.setMode(d?.mode ?? 'comment');
  }
}
