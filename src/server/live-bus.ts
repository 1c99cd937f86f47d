import { EventEmitter } from 'node:events';

export interface LiveEvent {
  type: string;
  workspace_id: string;
  conversation_id?: string;
  contact_id?: string;
  data?: unknown;
}

/**
 * In-process fan-out of changes to open inboxes and messengers (server-sent events). One process sees the
 * changes it makes; several API processes on one PostgreSQL would need LISTEN/NOTIFY behind this same interface.
 */
export class LiveBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  publish(event: LiveEvent): void {
    this.emitter.emit(event.workspace_id, event);
  }
  subscribe(workspaceId: string, fn: (e: LiveEvent) => void): () => void {
    this.emitter.on(workspaceId, fn);
    return () => this.emitter.off(workspaceId, fn);
  }
}
