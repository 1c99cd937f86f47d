// Live updates: fetch-streamed SSE (EventSource cannot send the Authorization header), polling while it's down.
import { API } from './api.js';

const POLL_MS = 5000;
/**
 * A Settle process sends `resync` to every stream it serves at once (its relay between processes was down), and a
 * restart drops them all at once: thousands of widgets must not ask again in the same instant. Catch-up polls are
 * spread over this window, reconnects over half to one and a half times their backoff.
 */
const RESYNC_SPREAD_MS = 3000;

export class LiveUpdates {
  /**
   * @param {{ token: () => string | null, refresh: () => Promise<void>,
   *   onEvent: (event: string, data: string) => void }} opts `refresh` fetches what may have changed (each poll,
   *   and once to catch up); `onEvent` gets each streamed event but `resync`, which is a catch-up
   */
  constructor(opts) {
    this.token = opts.token;
    this.refresh = opts.refresh;
    this.onEvent = opts.onEvent;
    this.streamAbort = new AbortController();
    this.streamConnected = false;
    this.pollTimer = 0;
    this.resyncTimer = 0;
    this.alive = true;
  }

  async connectStream() {
    let delay = 1000;
    while (this.alive) {
      try {
        const res = await fetch(`${API}/messenger/stream`, {
          headers: { authorization: `Bearer ${this.token()}`, accept: 'text/event-stream' },
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
      await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
      delay = Math.min(delay * 2, 30_000);
    }
  }

  stop() {
    this.alive = false;
    this.streamAbort.abort();
    clearTimeout(this.pollTimer);
    clearTimeout(this.resyncTimer);
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
    await this.refresh();
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
    if (event === 'resync') {
      clearTimeout(this.resyncTimer);
      this.resyncTimer = window.setTimeout(() => void this.poll(true), Math.random() * RESYNC_SPREAD_MS);
      return;
    }
    this.onEvent(event, data);
  }
}
