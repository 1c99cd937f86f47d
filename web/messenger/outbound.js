// In-app messages the team sent to this contact (`GET /messenger/outbound`), for the messenger widget: cards at
// the top of the home view and, while the panel is closed, a small popup above the launcher.
//
// "Opened" means the contact saw the message in the open panel (its card was rendered there) or clicked the
// popup: then `POST /messenger/outbound/:id/open` is sent, once. The server stops returning an opened message, so
// it is shown until dismissed on this page and not again after a reload. Closing the popup only hides the popup:
// the message waits, unopened, in the panel. Titles and bodies are set as text only (`h()`), never as HTML.
import { h } from '../shared/dom.js';

/**
 * @typedef {{ id: string, title: string, body: string, sent_at: number | null }} OutboundMessage
 * @typedef {(method: string, path: string) => Promise<any>} Request
 */

const CLOSE = ['M18 6 6 18', 'M6 6l12 12'];

/** @param {string[]} paths */
function closeIcon(paths) {
  const ns = 'http://www.w3.org/2000/svg';
  const el = document.createElementNS(ns, 'svg');
  el.setAttribute('viewBox', '0 0 24 24');
  el.setAttribute('aria-hidden', 'true');
  el.setAttribute('class', 'icon');
  for (const d of paths) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    el.appendChild(p);
  }
  return el;
}

export class OutboundMessages {
  /**
   * @param {{ request: Request, onChange: () => void, onPopupClick: () => void }} opts
   */
  constructor(opts) {
    this.request = opts.request;
    this.onChange = opts.onChange;
    this.onPopupClick = opts.onPopupClick;
    /** @type {Map<string, OutboundMessage>} what is shown, oldest first */
    this.items = new Map();
    /** @type {Set<string>} opens posted (or being posted): never posted again */
    this.opened = new Set();
    /** @type {Set<string>} dismissed on this page */
    this.dismissed = new Set();
    /** @type {Set<string>} popups closed without opening */
    this.popupClosed = new Set();
    this.loading = false;
    /** The popup above the launcher; the widget places it in its shadow root. */
    this.popup = h('div', { class: 'outbound-popup', hidden: true, 'data-testid': 'settle-outbound-popup' });
  }

  /** Fetches the unopened messages and adds new ones. A failure is logged and left to the next poll. */
  async refresh() {
    if (this.loading) return;
    this.loading = true;
    try {
      const res = await this.request('GET', '/messenger/outbound');
      /** @type {OutboundMessage[]} */
      const data = Array.isArray(res?.data) ? res.data : [];
      let added = false;
      for (const m of data) {
        if (!m || typeof m.id !== 'string' || this.items.has(m.id) || this.dismissed.has(m.id)) continue;
        this.items.set(m.id, {
          id: m.id,
          title: String(m.title ?? ''),
          body: String(m.body ?? ''),
          sent_at: m.sent_at ?? null,
        });
        added = true;
      }
      if (added) this.onChange();
    } catch (err) {
      console.warn('Settle messenger: could not load in-app messages; retrying on the next poll', err);
    } finally {
      this.loading = false;
    }
  }

  /** Messages to show in the panel, newest first. */
  visible() {
    return [...this.items.values()].filter((m) => !this.dismissed.has(m.id)).reverse();
  }

  /** Cards for the top of the home view, or null when there are none. */
  cards() {
    const list = this.visible();
    if (!list.length) return null;
    return h(
      'div',
      { class: 'outbound-list', 'data-testid': 'settle-outbound' },
      list.map((m) =>
        h(
          'div',
          { class: 'outbound-card', role: 'note', dataset: { id: m.id } },
          h(
            'div',
            { class: 'outbound-head' },
            h('strong', { class: 'outbound-title' }, m.title),
            h(
              'button',
              {
                type: 'button',
                class: 'outbound-close',
                'aria-label': 'Dismiss message',
                'data-testid': 'settle-outbound-dismiss',
                on: { click: () => this.dismiss(m.id) },
              },
              closeIcon(CLOSE),
            ),
          ),
          h('div', { class: 'outbound-body' }, m.body),
        ),
      ),
    );
  }

  /** The cards are on screen in the open panel: each message is opened, once. */
  markSeen() {
    for (const m of this.visible()) void this.open(m.id);
  }

  /** @param {string} id */
  async open(id) {
    if (this.opened.has(id)) return;
    this.opened.add(id);
    this.renderPopup(false);
    try {
      await this.request('POST', `/messenger/outbound/${encodeURIComponent(id)}/open`);
    } catch (err) {
      // A message stopped since it was fetched (409) or gone (404) is not opened again; a network or server
      // error is retried the next time it is seen.
      const status = /** @type {{ status?: number }} */ (err).status ?? 0;
      if (status === 0 || status >= 500) this.opened.delete(id);
      console.warn('Settle messenger: could not mark an in-app message opened', err);
    }
  }

  /** @param {string} id */
  dismiss(id) {
    this.dismissed.add(id);
    this.items.delete(id);
    this.onChange();
  }

  /**
   * Shows the newest unopened message above the launcher while the panel is closed.
   *
   * @param {boolean} panelClosed
   */
  renderPopup(panelClosed) {
    const m = panelClosed
      ? this.visible().find((x) => !this.opened.has(x.id) && !this.popupClosed.has(x.id))
      : undefined;
    this.popup.hidden = !m;
    while (this.popup.firstChild) this.popup.removeChild(this.popup.firstChild);
    if (!m) return;
    const open = h(
      'button',
      {
        type: 'button',
        class: 'outbound-popup-open',
        'aria-label': `Open message: ${m.title}`,
        on: { click: () => this.onPopupClick() },
      },
      h('strong', { class: 'outbound-title' }, m.title),
      h('span', { class: 'outbound-body' }, m.body),
    );
    const close = h(
      'button',
      {
        type: 'button',
        class: 'outbound-close',
        'aria-label': 'Close message',
        on: {
          click: () => {
            this.popupClosed.add(m.id);
            this.renderPopup(true);
          },
        },
      },
      closeIcon(CLOSE),
    );
    this.popup.append(open, close);
  }
}
