import type { TagRow } from './repository.ts';

export function toTag(row: TagRow) {
  return { type: 'tag', id: row.id, name: row.name, created_at: Math.floor(row.created_at.getTime() / 1000) };
}

/** A contact's tags as Intercom nests them in the contact object. */
export function contactTagList(contactId: string, tags: readonly TagRow[]) {
  return {
    type: 'list',
    data: tags.map((t) => ({ type: 'tag', id: t.id, name: t.name, url: `/tags/${t.id}` })),
    url: `/contacts/${contactId}/tags`,
    total_count: tags.length,
    has_more: false,
  };
}
