// Live updates: the server-sent event stream, its status light, and what each event refreshes.
import { api } from './api.js';
import { scheduleRefresh } from './conversation-list.js';
import { markReadQuietly, reloadOpenConversation, thread } from './open-conversation.js';
import { store } from './store.js';

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

function setLive(/** @type {'live'|'connecting'|'offline'} */ status) {
  const el = $('live-status');
  el.dataset.status = status;
  $('live-text').textContent =
    status === 'live' ? 'Live' : status === 'connecting' ? 'Connecting…' : 'Offline';
}

let streamOpenedOnce = false;

export function connectStream() {
  store.stream?.close();
  setLive('connecting');
  const es = new EventSource('/api/stream');
  store.stream = es;
  es.addEventListener('open', () => {
    setLive('live');
    // After a reconnect, catch up on whatever happened while the stream was down.
    if (streamOpenedOnce) {
      scheduleRefresh();
      void reloadOpenConversation();
    }
    streamOpenedOnce = true;
  });
  es.addEventListener('error', () => {
    if (es.readyState === EventSource.CLOSED) {
      setLive('offline');
      // Closed for good (e.g. the session expired): find out why, then try again later.
      setTimeout(async () => {
        if (store.stream !== es) return;
        try {
          await api('GET', '/api/me');
          connectStream();
        } catch {
          // A 401 shows the login screen; a network error retries on the next cycle.
          if (store.stream === es && !$('app').hidden) setTimeout(connectStream, 5000);
        }
      }, 3000);
    } else setLive('connecting');
  });
  es.addEventListener('message.created', (ev) => {
    const e = parseEvent(ev);
    const msg = e?.data;
    if (!msg) return;
    if (e.data_omitted) {
      // Relayed from another Settle process without its body (too long for a notification): reload instead.
      if (msg.conversation_id === store.selectedId) void reloadOpenConversation();
    } else if (msg.conversation_id === store.selectedId) {
      thread.append(msg);
      if (msg.author?.type === 'contact' && document.visibilityState === 'visible')
        void markReadQuietly(msg.conversation_id);
    }
    scheduleRefresh();
  });
  es.addEventListener('conversation.created', () => scheduleRefresh());
  // The server's relay between Settle processes was down: events may be missing, so reload what is shown.
  es.addEventListener('resync', () => {
    scheduleRefresh();
    void reloadOpenConversation();
  });
  es.addEventListener('conversation.updated', (ev) => {
    const e = parseEvent(ev);
    scheduleRefresh();
    if (e?.conversation_id && e.conversation_id === store.selectedId) void reloadOpenConversation();
  });
}

/** @param {Event} ev */
function parseEvent(ev) {
  try {
    return JSON.parse(/** @type {MessageEvent} */ (ev).data);
  } catch {
    return null;
  }
}
