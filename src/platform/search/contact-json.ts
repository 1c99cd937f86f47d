import type { ContactRow } from './repository.ts';

/**
 * The contact as search returns it. Stand-in until the contacts module's serializer exists: when merging,
 * point `serializeContact` at it (service.ts imports only this name).
 */
export interface SearchContact {
  type: 'contact';
  id: string;
  role: 'user' | 'lead';
  external_id: string | null;
  email: string | null;
  name: string | null;
  phone: string | null;
  created_at: number;
  updated_at: number;
  last_seen_at: number | null;
  custom_attributes: Record<string, unknown>;
}

const unix = (d: Date | null): number | null => (d ? Math.floor(d.getTime() / 1000) : null);

export function serializeContact(row: ContactRow): SearchContact {
  return {
    type: 'contact',
    id: row.id,
    role: row.role,
    external_id: row.external_id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    created_at: unix(row.created_at) ?? 0,
    updated_at: unix(row.updated_at) ?? 0,
    last_seen_at: unix(row.last_seen_at),
    custom_attributes: row.custom_attributes,
  };
}
