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
//
// This file is the entry point the host page loads; it imports the rest of the widget (messenger.js and the
// modules beside it) from the same folder.
import { Messenger } from './messenger.js';

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
