// The messenger's frame: the shadow root (no style leaks either way), the launcher with its unread badge, and the
// panel's header and body. The views render into `body`.
import { h, icon } from '../shared/dom.js';
import { ICONS } from './icons.js';

/**
 * Builds the frame and adds it to the page.
 *
 * @param {{ popup: HTMLElement, onLauncher: () => void, onBack: () => void, onClose: () => void }} opts `popup`
 *   is the in-app message popup above the launcher (outbound.js)
 */
export function buildShell(opts) {
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
      on: { click: () => opts.onLauncher() },
    },
    icon(ICONS.chat, 'icon icon-chat'),
    icon(ICONS.chevron, 'icon icon-chevron'),
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
      on: { click: () => opts.onBack() },
    },
    icon(ICONS.back),
  );
  const header = h(
    'header',
    { class: 'header' },
    backBtn,
    h('div', { class: 'header-text' }, titleEl, subtitleEl),
    h(
      'button',
      { type: 'button', class: 'icon-btn', 'aria-label': 'Close chat', on: { click: () => opts.onClose() } },
      icon(ICONS.close),
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
    if (e.key === 'Escape') opts.onClose();
  });
  const wrap = h('div', { class: 'wrap' }, panel, opts.popup, launcher);
  // Hidden until the stylesheet arrives, so the host page never sees an unstyled flash.
  wrap.hidden = true;
  css.addEventListener('load', () => (wrap.hidden = false));
  css.addEventListener('error', () => (wrap.hidden = false));
  root.append(css, wrap);
  document.body.appendChild(host);
  return { host, badge, launcher, titleEl, subtitleEl, backBtn, body, panel };
}
