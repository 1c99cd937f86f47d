// The Settle messenger: a launcher and a chat panel that a host page embeds with
//
//   <script type="module" src="https://settle.example.com/messenger/widget.js" data-app-id="APP_ID"></script>
//
// and, for a signed-in user of the host app, `data-user-jwt="…"` (an HS256 JWT the host's server signs with the
// workspace's messenger secret). Anonymous visitors are leads; their session token is kept in localStorage so a
// returning visitor keeps their conversations. Everything renders inside a shadow root (no style leaks either
// way), and text from the API is only ever set as text, never parsed as HTML.
//
// Programmatic use: `window.SettleMessenger.open()`, `.close()`, `.shutdown()`.
import { clockTime, h, replace, shortTime } from '../shared/dom.js';
import { OutboundMessages } from './outbound.js';

const API = new URL(import.meta.url).origin;
const POLL_MS = 5000;

/**
 * @typedef {{ id: string, conversation_id: string, author: { type: string, id: string|null },
 *   kind: 'comment'|'note'|'card', body: string, created_at: number }} Message
 * @typedef {{ id: string, state: string, unread: number, last_message_at: number, preview?: string|null }} Conv
 */

const ICONS = {
  chat: ['M21 12a8 8 0 0 1-11.6 7.1L4 20.5l1.4-4.9A8 8 0 1 1 21 12z'],
  close: ['M18 6 6 18', 'M6 6l12 12'],
  back: ['M15 18l-6-6 6-6'],
  send: ['M22 2 11 13', 'M22 2 15 22l-4-9-9-4 20-7z'],
  chevron: ['M6 9l6 6 6-6'],
};

/**
 * @param {string[]} paths
 * @param {string} [cls]
 */
function svg(paths, cls = 'icon') {
  const ns = 'http://www.w3.org/2000/svg';
  const el = document.createElementNS(ns, 'svg');
  el.setAttribute('viewBox', '0 0 24 24');
  el.setAttribute('aria-hidden', 'true');
  el.setAttribute('class', cls);
  for (const d of paths) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    el.appendChild(p);
  }
  return el;
}

class MessengerError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   */
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** @param {unknown} err */
function friendly(err) {
  if (err instanceof MessengerError) {
    if (err.status === 0) return 'You seem to be offline. Check your connection and try again.';
    if (err.status >= 500) return 'Something went wrong on our side. Please try again.';
    return err.message.charAt(0).toUpperCase() + err.message.slice(1);
  }
  return 'Something went wrong. Please try again.';
}

class Messenger {
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
    /** @type {Set<string>} */
    this.shownIds = new Set();
    this.streamAbort = new AbortController();
    this.streamConnected = false;
    this.pollTimer = 0;
    this.alive = true;
    this.sending = false;
    /** @type {Map<string, string>} drafts by conversation id ('' for a new one) */
    this.drafts = new Map();
    /** @type {string | null} */
    this.bootError = null;
    /** @type {HTMLDivElement | null} the open thread's messages */
    this.messagesEl = null;
    /** @type {HTMLTextAreaElement | null} */
    this.input = null;
    this.outbound = new OutboundMessages({
      request: (method, path) => this.request(method, path),
      onChange: () => this.renderOutbound(),
      onPopupClick: () => {
        this.saveDraft();
        this.view = { name: 'home' };
        this.open();
      },
    });
    const shell = this.buildShell();
    this.host = shell.host;
    this.badge = shell.badge;
    this.launcher = shell.launcher;
    this.titleEl = shell.titleEl;
    this.subtitleEl = shell.subtitleEl;
    this.backBtn = shell.backBtn;
    this.body = shell.body;
    this.panel = shell.panel;
  }

  // -------------------------------------------------------------------------------------------------------------
  // HTTP

  /**
   * @param {string} method
   * @param {string} path
   * @param {unknown} [body]
   * @param {boolean} [auth]
   */
  async request(method, path, body, auth = true) {
    /** @type {Record<string, string>} */
    const headers = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (auth && this.token) headers.authorization = `Bearer ${this.token}`;
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        credentials: 'omit',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch {
      throw new MessengerError(0, 'network_error', 'offline');
    }
    /** @type {any} */
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const e = data?.error ?? {};
      throw new MessengerError(
        res.status,
        String(e.code ?? 'error'),
        String(e.message ?? `HTTP ${res.status}`),
      );
    }
    return data;
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
    this.connectStream();
  }

  shutdown() {
    this.alive = false;
    this.streamAbort.abort();
    clearTimeout(this.pollTimer);
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

  // -------------------------------------------------------------------------------------------------------------
  // Live updates: fetch-streamed SSE (EventSource cannot send the Authorization header), polling while it's down

  async connectStream() {
    let delay = 1000;
    while (this.alive) {
      try {
        const res = await fetch(`${API}/messenger/stream`, {
          headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' },
          credentials: 'omit',
          signal: this.streamAbort.signal,
        });
        if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
        this.setStreaming(true);
        delay = 1000;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let sep;
          while ((sep = buffer.indexOf('\n\n')) !== -1) {
            const chunk = buffer.slice(0, sep);
            buffer = buffer.slice(sep + 2);
            this.onStreamChunk(chunk);
          }
        }
      } catch {
        if (!this.alive) return;
      }
      this.setStreaming(false);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  }

  /** @param {boolean} on */
  setStreaming(on) {
    const was = this.streamConnected;
    this.streamConnected = on;
    clearTimeout(this.pollTimer);
    if (!on) this.pollTimer = window.setTimeout(() => void this.poll(), POLL_MS);
    // Coming back: catch up on what was missed while disconnected.
    else if (!was) void this.poll(true);
  }

  /** @param {boolean} [once] */
  async poll(once = false) {
    if (!this.alive) return;
    await Promise.all([this.loadConversations(), this.outbound.refresh()]);
    if (this.isOpen && this.view.name === 'thread') await this.refreshThread(this.view.id);
    if (!once && !this.streamConnected && this.alive)
      this.pollTimer = window.setTimeout(() => void this.poll(), POLL_MS);
  }

  /** @param {string} chunk */
  onStreamChunk(chunk) {
    let event = 'message';
    let data = '';
    for (const line of chunk.split('\n')) {
      if (line.startsWith(':')) continue;
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    // The server's relay between Settle processes was down: messages may be missing, so catch up.
    if (event === 'resync') return void this.poll(true);
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

  buildShell() {
    const host = h('div', { id: 'settle-messenger' });
    const root = host.attachShadow({ mode: 'open' });
    const css = h('link', { rel: 'stylesheet', href: new URL('./widget.css', import.meta.url).href });
    const badge = h('span', { class: 'badge', 'data-testid': 'settle-badge', hidden: true });
    const launcher = h(
      'button',
      {
        type: 'button',
        class: 'launcher',
        'aria-label': 'Open chat',
        'aria-expanded': 'false',
        'data-testid': 'settle-launcher',
        on: { click: () => (this.isOpen ? this.close() : this.open()) },
      },
      svg(ICONS.chat, 'icon icon-chat'),
      svg(ICONS.chevron, 'icon icon-chevron'),
      badge,
    );
    const titleEl = h('div', { class: 'title' }, 'Support');
    const subtitleEl = h('div', { class: 'subtitle' }, 'We usually reply within a few minutes');
    const backBtn = h(
      'button',
      {
        type: 'button',
        class: 'icon-btn',
        'aria-label': 'Back to conversations',
        on: { click: () => this.go({ name: 'home' }) },
      },
      svg(ICONS.back),
    );
    const header = h(
      'header',
      { class: 'header' },
      backBtn,
      h('div', { class: 'header-text' }, titleEl, subtitleEl),
      h(
        'button',
        { type: 'button', class: 'icon-btn', 'aria-label': 'Close chat', on: { click: () => this.close() } },
        svg(ICONS.close),
      ),
    );
    const body = h('div', { class: 'body' });
    const panel = h(
      'div',
      { class: 'panel', role: 'dialog', 'aria-label': 'Chat', hidden: true, 'data-testid': 'settle-panel' },
      header,
      body,
    );
    panel.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.close();
    });
    const wrap = h('div', { class: 'wrap' }, panel, this.outbound.popup, launcher);
    // Hidden until the stylesheet arrives, so the host page never sees an unstyled flash.
    wrap.hidden = true;
    css.addEventListener('load', () => (wrap.hidden = false));
    css.addEventListener('error', () => (wrap.hidden = false));
    root.append(css, wrap);
    document.body.appendChild(host);
    return { host, badge, launcher, titleEl, subtitleEl, backBtn, body, panel };
  }

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
    const name = this.contact?.name?.split(' ')[0];
    const list = this.conversations;
    replace(
      this.body,
      h(
        'div',
        { class: 'home' },
        h(
          'div',
          { class: 'hello' },
          h('h2', null, name ? `Hi ${name} 👋` : 'Hi there 👋'),
          h('p', null, 'Ask us anything, or share your feedback.'),
        ),
        this.outbound.cards(),
        h(
          'button',
          {
            type: 'button',
            class: 'primary-btn',
            'data-testid': 'settle-new',
            on: { click: () => this.go({ name: 'new' }) },
          },
          'Send us a message',
          svg(ICONS.send),
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
                    on: { click: () => this.go({ name: 'thread', id: c.id }) },
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
      ),
    );
    // On screen in the open panel: the contact has seen them.
    if (this.isOpen) this.outbound.markSeen();
  }

  /** @param {string} id */
  async renderThread(id) {
    replace(this.body, h('div', { class: 'notice' }, 'Loading…'));
    try {
      const conv = await this.loadThread(id);
      if (!(this.view.name === 'thread' && this.view.id === id)) return;
      this.renderCompose(id, conv.messages);
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
    this.shownIds.clear();
    this.messagesEl = h('div', {
      class: 'messages',
      'aria-live': 'polite',
      'data-testid': 'settle-messages',
    });
    if (messages.length === 0) {
      this.messagesEl.appendChild(
        h(
          'div',
          { class: 'intro' },
          h('strong', null, `Message ${this.workspaceName}`),
          h('span', null, 'Tell us what you need and we’ll get back to you here.'),
        ),
      );
    }
    for (const m of messages) this.appendMessage(m, false);

    const input = h('textarea', {
      class: 'input',
      rows: '1',
      placeholder: 'Write a message…',
      'aria-label': 'Message',
      maxlength: '20000',
      'data-testid': 'settle-input',
    });
    input.value = this.drafts.get(id ?? '') ?? '';
    const sendBtn = h(
      'button',
      { type: 'submit', class: 'send-btn', 'aria-label': 'Send', 'data-testid': 'settle-send' },
      svg(ICONS.send),
    );
    const error = h('div', { class: 'send-error', role: 'alert', hidden: true });
    const form = h('form', { class: 'composer' }, h('div', { class: 'composer-row' }, input, sendBtn), error);
    const autosize = () => {
      input.style.height = 'auto';
      input.style.height = `${Math.min(input.scrollHeight, 120)}px`;
    };
    input.addEventListener('input', () => {
      error.hidden = true;
      autosize();
    });
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const body = input.value.trim();
      if (!body || this.sending) return;
      this.sending = true;
      sendBtn.disabled = true;
      error.hidden = true;
      try {
        if (id === null) {
          const conv = await this.request('POST', '/messenger/conversations', { body });
          this.drafts.delete('');
          this.conversations.unshift({ ...conv, preview: body });
          input.value = '';
          this.view = { name: 'thread', id: conv.id };
          this.renderCompose(conv.id, conv.messages);
          this.focusInput();
        } else {
          const msg = await this.request(
            'POST',
            `/messenger/conversations/${encodeURIComponent(id)}/messages`,
            { body },
          );
          this.drafts.delete(id);
          input.value = '';
          autosize();
          this.appendMessage(msg);
        }
      } catch (err) {
        error.textContent = `Not sent. ${friendly(err)}`;
        error.hidden = false;
      } finally {
        this.sending = false;
        sendBtn.disabled = false;
      }
    });
    this.input = input;
    replace(this.body, this.messagesEl, form);
    requestAnimationFrame(() => {
      autosize();
      if (this.messagesEl) this.messagesEl.scrollTop = this.messagesEl.scrollHeight;
    });
    this.focusInput();
  }

  focusInput() {
    requestAnimationFrame(() => this.input?.focus());
  }

  saveDraft() {
    if (!this.input || !this.input.isConnected) return;
    const key = this.view.name === 'thread' ? this.view.id : this.view.name === 'new' ? '' : null;
    if (key === null) return;
    if (this.input.value) this.drafts.set(key, this.input.value);
    else this.drafts.delete(key);
  }

  /**
   * @param {Message} m
   * @param {boolean} [scroll]
   */
  appendMessage(m, scroll = true) {
    const el = this.messagesEl;
    if (!el || this.shownIds.has(m.id) || m.kind === 'note') return;
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

/** The `<script>` that loaded this module, for its data attributes. */
function ownScript() {
  const scripts = /** @type {NodeListOf<HTMLScriptElement>} */ (document.querySelectorAll('script[src]'));
  for (const s of scripts) if (s.src === import.meta.url) return s;
  return /** @type {HTMLScriptElement | null} */ (document.querySelector('script[data-app-id]'));
}

function init() {
  const w = /** @type {any} */ (window);
  if (w.SettleMessenger) return; // loaded twice: keep the first
  const script = ownScript();
  const appId = script?.dataset.appId;
  if (!appId) {
    console.warn('Settle messenger: add data-app-id="…" to the <script> tag that loads widget.js');
    return;
  }
  const m = new Messenger({ appId, userJwt: script?.dataset.userJwt });
  w.SettleMessenger = {
    open: () => m.open(),
    close: () => m.close(),
    shutdown: () => {
      m.shutdown();
      delete w.SettleMessenger;
    },
  };
  void m.boot();
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init, { once: true });
else init();
