import type { Queryable } from '../../db/client.ts';
import { newId } from '../../shared/ids.ts';
import { eventRepository, type ContactEventRow } from './repository.ts';

export interface TimelineEvent {
  type: 'event';
  id: string;
  event_name: string;
  contact_id: string;
  created_at: number;
  metadata: Record<string, unknown>;
  source: string;
}

export function toTimelineEvent(row: ContactEventRow): TimelineEvent {
  return {
    type: 'event',
    id: row.id,
    event_name: row.name,
    contact_id: row.contact_id,
    created_at: Math.floor(row.created_at.getTime() / 1000),
    metadata: row.metadata,
    source: row.source,
  };
}

export interface NewTimelineEvent {
  contactId: string;
  name: string;
  createdAt?: Date | undefined;
  metadata?: Record<string, unknown> | undefined;
  source?: string | undefined;
  idempotencyKey?: string | undefined;
}

const toRow = (event: NewTimelineEvent) => ({
  id: newId(),
  contact_id: event.contactId,
  name: event.name,
  created_at: event.createdAt ?? new Date(),
  metadata: event.metadata ?? {},
  source: event.source ?? 'api',
  idempotency_key: event.idempotencyKey ?? null,
});

/** Records a timeline event once: a repeated write with the same idempotency key is a no-op (returns false). */
export async function recordEvent(
  db: Queryable,
  workspaceId: string,
  event: NewTimelineEvent,
): Promise<boolean> {
  return eventRepository.insert(db, { workspace_id: workspaceId, ...toRow(event) });
}

/**
 * `recordEvent` for many events in one statement (an imported page of history): each idempotency key is recorded
 * once, however often it is given, in this call, earlier ones or concurrent ones. Returns how many were new. An
 * event on a contact that does not exist (deleted) fails the call, as it fails `recordEvent`, and none is recorded.
 */
export async function recordEvents(
  db: Queryable,
  workspaceId: string,
  events: readonly NewTimelineEvent[],
): Promise<number> {
  return eventRepository.insertMany(db, workspaceId, events.map(toRow));
}
