// The messenger itself: the visitor's session, their conversations, and which view the panel shows. The frame,
// the views, the send box, the transport and the live updates are in their own modules; this one ties them
// together. widget.js starts it from the host page's <script>.
import { h, replace } from '../shared/dom.js';
import { friendly, MessengerError, request } from './api.js';
import { Composer } from './composer.js';
import { homeView } from './home-view.js';
import { LiveUpdates } from './live.js';
import { MessageList } from './message-list.js';
import { OutboundMessages } from './outbound.js';
import { buildShell } from './shell.js';

/**
 * @typedef {import('./api.js').Message} Message
 * @typedef {import('./api.js').Conv} Conv
 */

export class Messenger {
  /**
   * @param {{ appId: string, userJwt?: string | null }} opts
   */
  constructor(opts) {
    this.appId = opts.appId;
    this.userJwt = opts.userJwt || null;
    this.storageKey = `settle.messenger.${this.appId}.session`;
    /** @type {string | null} */
    this.token = null;
    /** @type {{ id: string, name: string|null, email: string|null, role: string } | null} */
    this.contact = null;
    this.workspaceName = 'Support';
    /** @type {Conv[]} */
    this.conversations = [];
    /** @type {{ name: 'home' } | { name: 'new' } | { name: 'thread', id: string }} */
    this.view = { name: 'home' };
    this.isOpen = false;
    /** @type {string | null} */
    this.bootError = null;
    /** @type {MessageList | null} the open thread's messages */
    this.thread = null;
    /** @type {Message[]} what the stream brought while the open thread was loading */
    this.early = [];
    this.live = new LiveUpdates({
      token: () => this.token,
      refresh: () => this.refresh(),
      onEvent: (event, data) => this.onStreamEvent(event, data),
    });
    this.composer = new Composer({
      request: (method, path, body) => this.request(method, path, body),
      onStarted: (conv, body) => {
        this.conversations.unshift({ ...conv, preview: body });
        this.view = { name: 'thread', id: conv.id };
        this.renderCompose(conv.id, conv.messages);
        this.composer.focus();
      },
      onSent: (msg) => this.appendMessage(msg),
    });
    this.outbound = new OutboundMessages({
      request: (method, path) => this.request(method, path),
      onChange: () => this.renderOutbound(),
      onPopupClick: () => {
        this.saveDraft();
        this.view = { name: 'home' };
        this.open();
      },
    });
    const shell = buildShell({
      popup: this.outbound.popup,
      onLauncher: () => (this.isOpen ? this.close() : this.open()),
      onBack: () => this.go({ name: 'home' }),
      onClose: () => this.close(),
    });
    this.host = shell.host;
    this.badge = shell.badge;
    this.launcher = shell.launcher;
    this.titleEl = shell.titleEl;
    this.subtitleEl = shell.subtitleEl;
    this.backBtn = shell.backBtn;
    this.body = shell.body;
    this.panel = shell.panel;
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {boolean} [auth]
   */
  request(method, path, body, auth = true) {
    return request(method, path, body, auth ? this.token : null);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Session

  async boot() {
    let stored = null;
    try {
      stored = localStorage.getItem(this.storageKey);
    } catch {
      // Storage can be blocked (privacy modes); the visitor then gets a fresh session each visit.
    }
    try {
      const res = await this.request(
        'POST',
        '/messenger/boot',
        {
          app_id: this.appId,
          ...(this.userJwt ? { user_jwt: this.userJwt } : {}),
          ...(stored ? { session_token: stored } : {}),
        },
        false,
      );
      this.token = res.session_token;
      this.contact = res.contact;
      this.workspaceName = res.workspace?.name || 'Support';
      try {
        // A lead keeps their session across visits. A verified user's session comes from the host's JWT on each
        // page load, so it is not stored: the next person on a shared computer must not inherit it. Booting as a
        // user merged the earlier lead into them, so the lead token is dropped too.
        if (res.verified) localStorage.removeItem(this.storageKey);
        else localStorage.setItem(this.storageKey, res.session_token);
      } catch {
        // See above.
      }
    } catch (err) {
      this.bootError = friendly(err);
      if (err instanceof MessengerError && err.code === 'unknown_app')
        this.bootError = 'This messenger is not set up correctly (unknown app id).';
      this.renderPanel();
      return;
    }
    this.renderHeader();
    await Promise.all([this.loadConversations(), this.outbound.refresh()]);
    if (this.isOpen) {
      // Opened while booting: same rule as open(), nothing to list means straight to writing.
      if (this.view.name === 'home' && this.conversations.length === 0 && !this.outbound.visible().length)
        this.view = { name: 'new' };
      this.renderPanel();
    }
    void this.live.connectStream();
  }

  shutdown() {
    this.live.stop();
    this.host.remove();
  }

  // -------------------------------------------------------------------------------------------------------------
  // Data

  async loadConversations() {
    try {
      const res = await this.request('GET', '/messenger/conversations');
      this.conversations = res.conversations;
      this.renderBadge();
      if (this.isOpen && this.view.name === 'home') this.renderPanel();
    } catch {
      // Shown as stale data; the next poll or stream event tries again.
    }
  }

  /** @param {string} id */
  async loadThread(id) {
    const res = await this.request('GET', `/messenger/conversations/${encodeURIComponent(id)}`);
    // Reading the conversation marks it read for this contact.
    const c = this.conversations.find((x) => x.id === id);
    if (c) c.unread = 0;
    this.renderBadge();
    return res;
  }

  /** Fetches what may have changed: on each poll while the stream is down, and once to catch up. */
  async refresh() {
    await Promise.all([this.loadConversations(), this.outbound.refresh()]);
    if (this.isOpen && this.view.name === 'thread') await this.refreshThread(this.view.id);
  }

  /**
   * @param {string} event
   * @param {string} data
   */
  onStreamEvent(event, data) {
    if (event !== 'message.created' || !data) return;
    let parsed;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    /** @type {Message | undefined} */
    const msg = parsed?.data;
    if (!msg || msg.kind === 'note') return;
    const viewing = this.isOpen && this.view.name === 'thread' && this.view.id === msg.conversation_id;
    if (viewing && parsed.data_omitted) {
      // Relayed from another Settle process without its body (too long for a notification): reload the thread.
      void this.loadThread(msg.conversation_id).catch(() => undefined);
    } else if (viewing) {
      this.appendMessage(msg);
      // Fetching the thread marks the new message read.
      if (msg.author.type !== 'contact') void this.loadThread(msg.conversation_id).catch(() => undefined);
    }
    void this.loadConversations();
  }

  // -------------------------------------------------------------------------------------------------------------
  // DOM

  renderHeader() {
    this.titleEl.textContent = this.workspaceName;
    this.panel.setAttribute('aria-label', `Chat with ${this.workspaceName}`);
  }

  renderBadge() {
    const n = this.conversations.reduce((sum, c) => sum + (c.unread || 0), 0);
    this.badge.textContent = n > 9 ? '9+' : String(n);
    this.badge.hidden = n === 0 || this.isOpen;
    this.launcher.setAttribute('aria-label', n ? `Open chat, ${n} unread` : 'Open chat');
  }

  /** In-app messages changed: the home view shows them as cards, the closed widget as a popup. */
  renderOutbound() {
    this.outbound.renderPopup(!this.isOpen);
    if (this.isOpen && this.view.name === 'home' && this.token && !this.bootError) this.renderHome();
  }

  open() {
    this.isOpen = true;
    this.panel.hidden = false;
    this.launcher.classList.add('is-open');
    this.launcher.setAttribute('aria-expanded', 'true');
    // With nothing to show, go straight to writing a message.
    if (
      this.view.name === 'home' &&
      this.token &&
      this.conversations.length === 0 &&
      !this.outbound.visible().length
    )
      this.view = { name: 'new' };
    this.renderPanel();
    this.renderBadge();
    this.outbound.renderPopup(false);
  }

  close() {
    this.saveDraft();
    this.isOpen = false;
    this.panel.hidden = true;
    this.launcher.classList.remove('is-open');
    this.launcher.setAttribute('aria-expanded', 'false');
    this.renderBadge();
    this.outbound.renderPopup(true);
    this.launcher.focus();
  }

  /** @param {Messenger['view']} view */
  go(view) {
    this.saveDraft();
    this.view = view;
    this.renderPanel();
    if (view.name === 'home') void this.loadConversations();
  }

  renderPanel() {
    if (this.bootError) {
      this.backBtn.hidden = true;
      replace(this.body, h('div', { class: 'notice error' }, this.bootError));
      return;
    }
    if (!this.token) {
      replace(this.body, h('div', { class: 'notice' }, 'Connecting…'));
      return;
    }
    this.backBtn.hidden = this.view.name === 'home';
    this.subtitleEl.textContent =
      this.view.name === 'home' ? 'We usually reply within a few minutes' : 'The team will reply here';
    if (this.view.name === 'home') this.renderHome();
    else if (this.view.name === 'new') this.renderCompose(null, []);
    else void this.renderThread(this.view.id);
  }

  renderHome() {
    replace(
      this.body,
      homeView({
        firstName: this.contact?.name?.split(' ')[0],
        conversations: this.conversations,
        cards: this.outbound.cards(),
        onNew: () => this.go({ name: 'new' }),
        onOpen: (id) => this.go({ name: 'thread', id }),
      }),
    );
    // On screen in the open panel: the contact has seen them.
    if (this.isOpen) this.outbound.markSeen();
  }

  /** @param {string} id */
  async renderThread(id) {
    // Until the thread is on screen, messages the stream brings wait in `early`: the answer being loaded may have
    // been read before they were written, and would otherwise replace them.
    this.thread = null;
    this.early = [];
    replace(this.body, h('div', { class: 'notice' }, 'Loading…'));
    try {
      const conv = await this.loadThread(id);
      if (!(this.view.name === 'thread' && this.view.id === id)) return;
      this.renderCompose(id, conv.messages);
      for (const m of this.early.splice(0)) if (m.conversation_id === id) this.appendMessage(m);
    } catch (err) {
      if (!(this.view.name === 'thread' && this.view.id === id)) return;
      replace(this.body, h('div', { class: 'notice error' }, friendly(err)));
    }
  }

  /** @param {string} id */
  async refreshThread(id) {
    try {
      const conv = await this.loadThread(id);
      if (this.view.name === 'thread' && this.view.id === id)
        for (const m of conv.messages) this.appendMessage(m);
    } catch {
      // Polling retries.
    }
  }

  /**
   * The message list and the send box; `id` null is a new conversation.
   *
   * @param {string | null} id
   * @param {Message[]} messages
   */
  renderCompose(id, messages) {
    this.thread = new MessageList(this.workspaceName, messages);
    const { form, autosize } = this.composer.render(id);
    replace(this.body, this.thread.el, form);
    requestAnimationFrame(() => {
      autosize();
      if (this.thread) this.thread.el.scrollTop = this.thread.el.scrollHeight;
    });
    this.composer.focus();
  }

  saveDraft() {
    const key = this.view.name === 'thread' ? this.view.id : this.view.name === 'new' ? '' : null;
    if (key === null) return;
    this.composer.saveDraft(key);
  }

  /**
   * @param {Message} m
   * @param {boolean} [scroll]
   */
  appendMessage(m, scroll = true) {
    if (this.thread) this.thread.append(m, scroll);
    else this.early.push(m);
  }
}
