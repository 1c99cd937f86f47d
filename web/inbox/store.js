// The inbox's shared state: who is signed in, the three conversation lists, what is selected and the live stream.

/**
 * @typedef {'open'|'snoozed'|'closed'} State
 * @typedef {{ id: string, contact_id: string, state: State, read: boolean, last_message_at: number,
 *   assignee_id: string|null, snoozed_until: number|null, title: string|null,
 *   contact: { id: string, name: string|null, email: string|null }, preview: string|null }} ConversationSummary
 */

/** @type {State[]} */
export const STATES = ['open', 'snoozed', 'closed'];
export const TAB_LABEL = { open: 'Open', snoozed: 'Snoozed', closed: 'Closed' };
export const EMPTY = {
  open: ['No open conversations', 'You’re all caught up. New messages from the messenger show up here live.'],
  snoozed: [
    'Nothing snoozed',
    'Snooze a conversation to hide it until later; a reply from the customer wakes it.',
  ],
  closed: [
    'No closed conversations',
    'Conversations you close land here; a new message from the customer reopens them.',
  ],
};
export const PER_PAGE = 50;
/** The API's largest page (GET /api/conversations, per_page). */
export const MAX_PAGE = 150;

export const store = {
  /** @type {{ id: string, name: string, email: string, role: string } | null} */
  me: null,
  /** @type {Map<string, { id: string, name: string, email: string }>} */
  teammates: new Map(),
  /** @type {Map<string, import('./sidebar.js').AttributeDef>} */
  attributeDefs: new Map(),
  /** @type {State} */
  tab: 'open',
  /** @type {Record<State, ConversationSummary[]>} */
  lists: { open: [], snoozed: [], closed: [] },
  /** @type {Record<State, boolean>} */
  more: { open: false, snoozed: false, closed: false },
  /**
   * How many conversations of each list the teammate has asked to see (PER_PAGE more per "Load older"): every
   * reload fetches that many again, so a live update does not drop the older ones they loaded.
   * @type {Record<State, number>}
   */
  wanted: { open: PER_PAGE, snoozed: PER_PAGE, closed: PER_PAGE },
  loaded: false,
  /** @type {string | null} */
  selectedId: null,
  /** @type {string | null} contact shown in the sidebar */
  sidebarContactId: null,
  /** @type {EventSource | null} */
  stream: null,
};
