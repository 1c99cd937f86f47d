import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Channel, Db } from '../db/client.ts';

export interface LiveEvent {
  /** Besides the domain's events, `resync`: events may have been lost (relay outage), reload what is shown. */
  type: string;
  workspace_id: string;
  conversation_id?: string;
  contact_id?: string;
  data?: unknown;
  /**
   * Set when `data` was cut to its ids and kind because it came from another process and did not fit in a
   * notification (a long message): listeners reload what the event names instead.
   */
  data_omitted?: boolean;
}

/** PostgreSQL's limit is 8,000 bytes a notification; the envelope and escaping need some of it. */
const MAX_NOTIFY_BYTES = 7_500;
const CHANNEL = 'settle_live';

/**
 * Fan-out of changes to open inboxes and messengers (server-sent events). Every process delivers its own events at
 * once; on PostgreSQL it also relays them to the other Settle processes through LISTEN/NOTIFY (`relay`), so a
 * teammate whose inbox is served by one process sees a reply a customer sent through another. Until session 14
 * each process saw only its own changes.
 */
export class LiveBus {
  private readonly emitter = new EventEmitter();
  private readonly origin = randomUUID();
  private channel: Channel | null = null;
  private log: Logger | null = null;
  private warned = false;
  /** The relay connection was lost: once it is back, this process's streams reload (they may have missed events). */
  private outage = false;
  /** An event of this process could not be relayed: once back, the other processes' streams reload too. */
  private dropped = false;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /**
   * Relays events between processes over the database (PostgreSQL; a PGlite database has one process). Resolves
   * once this process listens; start-up need not wait for it.
   */
  relay(db: Db, log: Logger): Promise<void> {
    if (!db.channel) return Promise.resolve();
    if (this.channel) return this.channel.listening;
    this.log = log;
    this.channel = db.channel(CHANNEL, {
      message: (payload) => this.received(payload),
      state: (up, err) => {
        if (!up) {
          this.outage = true;
          log.warn({ err: err?.message }, 'live events: relay connection lost; reconnecting');
          return;
        }
        log.info('live events: relaying between processes');
        if (this.outage) this.resync();
      },
    });
    return this.channel.listening;
  }

  /** While relaying: resolves once this process listens. Null when events stay in this process (PGlite). */
  get relaying(): Promise<void> | null {
    return this.channel?.listening ?? null;
  }

  publish(event: LiveEvent): void {
    this.emitter.emit(event.workspace_id, event);
    if (!this.channel) return;
    let payload = JSON.stringify({ o: this.origin, e: event });
    if (Buffer.byteLength(payload) > MAX_NOTIFY_BYTES) {
      // What listeners filter on stays (a message's kind: notes never reach a messenger); the rest is reloaded.
      const d = (event.data ?? {}) as { id?: unknown; conversation_id?: unknown; kind?: unknown };
      const data = { id: d.id, conversation_id: d.conversation_id, kind: d.kind };
      payload = JSON.stringify({ o: this.origin, e: { ...event, data, data_omitted: true } });
    }
    this.channel.notify(payload).catch((err: Error) => {
      // Other processes miss this event; their streams are told to reload once the relay is back (`resync`).
      this.dropped = true;
      if (this.warned) return;
      this.warned = true;
      this.log?.warn({ err: err.message }, 'live events: could not relay an event to other processes');
    });
  }

  subscribe(workspaceId: string, fn: (e: LiveEvent) => void): () => void {
    this.emitter.on(workspaceId, fn);
    return () => this.emitter.off(workspaceId, fn);
  }

  /**
   * After an outage of the relay: every open stream of this process gets a `resync` event (its page reloads what it
   * shows), and so do the other processes' streams if an event of this process could not be relayed meanwhile.
   */
  private resync(): void {
    this.outage = false;
    this.emitResync();
    if (!this.dropped || !this.channel) return;
    this.dropped = false;
    this.channel.notify(JSON.stringify({ o: this.origin, r: 1 })).catch(() => (this.dropped = true));
  }

  private emitResync(): void {
    for (const ws of this.emitter.eventNames()) {
      if (typeof ws === 'string')
        this.emitter.emit(ws, { type: 'resync', workspace_id: ws } satisfies LiveEvent);
    }
  }

  private received(payload: string): void {
    let msg: { o?: unknown; e?: LiveEvent; r?: unknown };
    try {
      msg = JSON.parse(payload) as typeof msg;
    } catch {
      return;
    }
    if (msg.o === this.origin) return;
    if (msg.r === 1) return this.emitResync();
    if (!msg.e || typeof msg.e.workspace_id !== 'string') return;
    this.warned = false;
    this.emitter.emit(msg.e.workspace_id, msg.e);
  }
}
