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

/** Records a timeline event once: a repeated write with the same idempotency key is a no-op (returns false). */
export async function recordEvent(
  db: Queryable,
  workspaceId: string,
  event: {
    contactId: string;
    name: string;
    createdAt?: Date | undefined;
    metadata?: Record<string, unknown> | undefined;
    source?: string | undefined;
    idempotencyKey?: string | undefined;
  },
): Promise<boolean> {
  return eventRepository.insert(db, {
    workspace_id: workspaceId,
    id: newId(),
    contact_id: event.contactId,
    name: event.name,
    created_at: event.createdAt ?? new Date(),
    metadata: event.metadata ?? {},
    source: event.source ?? 'api',
    idempotency_key: event.idempotencyKey ?? null,
  });
}
