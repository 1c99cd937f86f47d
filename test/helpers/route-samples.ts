// Valid requests for every route, over objects created in a harness: what the authorization and fuzz tests send,
// so that a refusal is due to authorization and a 400 is due to the one fault a test put in.
import { randomBytes } from 'node:crypto';
import { createApiToken } from '../../src/platform/teammates/service.ts';
import { createAttribute, updateAttribute } from '../../src/platform/attributes/service.ts';
import { createContact } from '../../src/platform/contacts/service.ts';
import type { Access } from '../../src/server/access.ts';
import { EXAMPLE_APP, SPARE_APP, signExampleWebhook } from './fixture-app.ts';
import { loginTeammate, teammatePassword, type Credentials, type Harness, type Role } from './harness.ts';

/** Objects every sample can point at. */
export interface World {
  h: Harness;
  userConversationId: string;
  leadConversationId: string;
  endpointId: string;
  exampleKey: string;
}

export interface SampleRequest {
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  /** Credentials to use instead of the role's own (a fresh session for a logout, say). */
  creds?: Credentials;
}

/** Which roles a route's access list admits (src/server/access.ts: 'teammate' admits admins too). */
export function allowedRoles(access: readonly Access[]): Role[] {
  const out: Role[] = [];
  const pub = access.includes('public');
  if (pub || access.includes('admin') || access.includes('teammate')) out.push('admin');
  if (pub || access.includes('teammate')) out.push('teammate');
  if (pub || access.includes('token')) out.push('token');
  if (pub || access.includes('messenger_user')) out.push('messenger_user');
  if (pub || access.includes('messenger_lead')) out.push('messenger_lead');
  if (pub) out.push('anonymous');
  return out;
}

export const routeKey = (r: { method: string; url: string }) => `${r.method} ${r.url}`;

const unique = () => randomBytes(4).toString('hex');

async function freshContact(w: World, role: 'user' | 'lead' = 'user'): Promise<string> {
  const row = await createContact(
    w.h.platform.db,
    w.h.workspace.id,
    role === 'user' ? { role, email: `c-${unique()}@example.com`, name: 'Fresh' } : { role },
  );
  return row.id;
}

async function freshDeadJob(w: World): Promise<string> {
  const res = await w.h.platform.db.query<{ id: number }>(
    `INSERT INTO jobs (workspace_id, queue, status, attempts, last_error, finished_at)
     VALUES ($1, 'platform:app-uninstall', 'dead', 8, 'boom', now()) RETURNING id`,
    [w.h.workspace.id],
  );
  return String(res.rows[0]?.id);
}

async function freshTag(w: World): Promise<string> {
  const res = await w.h.server.inject({
    method: 'POST',
    url: '/api/tags',
    headers: w.h.creds.token.headers,
    payload: { name: `tag-${unique()}` },
  });
  return (res.json() as { id: string }).id;
}

async function taggedContact(w: World): Promise<{ contactId: string; tagId: string }> {
  const contactId = await freshContact(w);
  const tagId = await freshTag(w);
  await w.h.server.inject({
    method: 'POST',
    url: `/api/contacts/${contactId}/tags`,
    headers: w.h.creds.token.headers,
    payload: { id: tagId },
  });
  return { contactId, tagId };
}

/** A custom attribute with a value on a contact; archived when it is for a delete (the step a delete needs). */
async function freshAttribute(w: World, archived: boolean): Promise<string> {
  const { db } = w.h.platform;
  const name = `attr_${unique()}`;
  // Through the service: no expression indexes, which a sample does not need.
  await createAttribute(db, w.h.workspace.id, { name, type: 'boolean' });
  await createContact(db, w.h.workspace.id, { role: 'lead', custom_attributes: { [name]: true } });
  if (archived) await updateAttribute(db, w.h.workspace.id, name, { archived: true });
  return name;
}

const everyone = { query: { field: 'role', operator: 'IN', value: ['user', 'lead'] } };

async function freshSegment(w: World): Promise<string> {
  const res = await w.h.server.inject({
    method: 'POST',
    url: '/api/segments',
    headers: w.h.creds.token.headers,
    payload: { name: `seg-${unique()}`, ...everyone },
  });
  return (res.json() as { id: string }).id;
}

async function freshOutbound(w: World): Promise<string> {
  const res = await w.h.server.inject({
    method: 'POST',
    url: '/api/outbound',
    headers: w.h.creds.token.headers,
    payload: { segment_id: await freshSegment(w), title: 'News', body: 'We shipped a thing' },
  });
  return (res.json() as { id: string }).id;
}

/** A message marked sent (as its send job leaves it), without running the job. */
async function sentOutbound(w: World): Promise<string> {
  const id = await freshOutbound(w);
  await w.h.platform.db.query(
    `UPDATE outbound_messages SET status = 'sent', sent_at = now(), finished_at = now() WHERE workspace_id = $1 AND id = $2`,
    [w.h.workspace.id, id],
  );
  return id;
}

async function messengerOutbound(w: World, role: Role): Promise<string> {
  const id = await sentOutbound(w);
  const contactId = role === 'messenger_lead' ? w.h.ids.leadContactId : w.h.ids.userContactId;
  await w.h.platform.db.query(
    'INSERT INTO outbound_deliveries (workspace_id, message_id, contact_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
    [w.h.workspace.id, id, contactId],
  );
  return id;
}

type Builder = (w: World, role: Role) => Promise<SampleRequest>;

/** Valid requests by route; a route missing here still gets `{}` as its body and made-up ids. */
export const samples: Record<string, Builder> = {
  'GET /healthz': async () => ({ url: '/healthz' }),
  'GET /api/workspace': async () => ({ url: '/api/workspace' }),
  'PATCH /api/workspace': async () => ({ url: '/api/workspace', payload: { name: 'Renamed workspace' } }),
  'POST /api/workspace/messenger_secret': async () => ({ url: '/api/workspace/messenger_secret' }),
  'POST /api/auth/login': async (w) => ({
    url: '/api/auth/login',
    payload: { email: w.h.emails.teammate, password: teammatePassword },
  }),
  'POST /api/auth/logout': async (w, role) => ({
    url: '/api/auth/logout',
    // Logging out ends the session, so an allowed call uses a session of its own.
    creds:
      role === 'admin' || role === 'teammate'
        ? await loginTeammate(w.h.server, role === 'admin' ? w.h.emails.admin : w.h.emails.teammate)
        : undefined,
  }),
  'GET /api/me': async () => ({ url: '/api/me' }),
  'GET /api/teammates': async () => ({ url: '/api/teammates' }),
  'POST /api/teammates': async () => ({
    url: '/api/teammates',
    payload: { email: `t-${unique()}@test.local`, name: 'New', role: 'teammate', password: 'long enough pw' },
  }),
  'PATCH /api/teammates/:id': async (w) => ({
    url: `/api/teammates/${w.h.ids.teammateId}`,
    payload: { name: 'Mate renamed' },
  }),
  'GET /api/tokens': async () => ({ url: '/api/tokens' }),
  'POST /api/tokens': async () => ({ url: '/api/tokens', payload: { name: 'script' } }),
  'DELETE /api/tokens/:id': async (w) => ({
    url: `/api/tokens/${(await createApiToken(w.h.platform.db, w.h.workspace.id, 'doomed')).id}`,
  }),
  'GET /api/data_attributes': async () => ({ url: '/api/data_attributes' }),
  'POST /api/data_attributes': async () => ({
    url: '/api/data_attributes',
    payload: { name: `attr_${unique()}`, type: 'string', label: 'Attr', description: 'd' },
  }),
  'PUT /api/data_attributes/:id': async (w) => ({
    url: `/api/data_attributes/${await freshAttribute(w, false)}`,
    payload: { archived: true, label: 'Old', description: 'no longer used' },
  }),
  'DELETE /api/data_attributes/:id': async (w) => ({
    url: `/api/data_attributes/${await freshAttribute(w, true)}`,
  }),
  'GET /api/contacts': async () => ({ url: '/api/contacts?per_page=10' }),
  'POST /api/contacts': async () => ({
    url: '/api/contacts',
    payload: {
      role: 'user',
      email: `p-${unique()}@example.com`,
      external_id: `x-${unique()}`,
      name: 'Pat',
      phone: '+1 555',
      last_seen_at: 1_700_000_000,
    },
  }),
  'GET /api/contacts/:id': async (w) => ({ url: `/api/contacts/${w.h.ids.userContactId}` }),
  'PUT /api/contacts/:id': async (w) => ({
    url: `/api/contacts/${w.h.ids.userContactId}`,
    payload: { name: 'User Renamed', phone: '+44 20' },
  }),
  'DELETE /api/contacts/:id': async (w) => ({ url: `/api/contacts/${await freshContact(w)}` }),
  'POST /api/contacts/:id/archive': async (w) => ({ url: `/api/contacts/${await freshContact(w)}/archive` }),
  'POST /api/contacts/:id/unarchive': async (w) => ({
    url: `/api/contacts/${await freshContact(w)}/unarchive`,
  }),
  'POST /api/contacts/merge': async (w) => ({
    url: '/api/contacts/merge',
    payload: { from: await freshContact(w, 'lead'), into: await freshContact(w, 'user') },
  }),
  'POST /api/events': async (w) => ({
    url: '/api/events',
    payload: {
      event_name: 'signed_up',
      contact_id: w.h.ids.userContactId,
      created_at: 1_700_000_000,
      metadata: { plan: 'pro' },
      idempotency_key: `k-${unique()}`,
    },
  }),
  'GET /api/contacts/:id/events': async (w) => ({ url: `/api/contacts/${w.h.ids.userContactId}/events` }),
  'GET /api/conversations': async () => ({ url: '/api/conversations?state=all' }),
  'POST /api/conversations': async (w) => ({
    url: '/api/conversations',
    payload: { contact_id: w.h.ids.userContactId, body: 'Hello from the team' },
  }),
  'GET /api/conversations/:id': async (w) => ({ url: `/api/conversations/${w.userConversationId}` }),
  'POST /api/conversations/:id/reply': async (w) => ({
    url: `/api/conversations/${w.userConversationId}/reply`,
    payload: { type: 'comment', body: 'A reply' },
  }),
  'POST /api/conversations/:id/state': async (w) => ({
    url: `/api/conversations/${w.userConversationId}/state`,
    payload: { state: 'snoozed', snoozed_until: 1_900_000_000 },
  }),
  'POST /api/conversations/:id/assign': async (w) => ({
    url: `/api/conversations/${w.userConversationId}/assign`,
    payload: { assignee_id: w.h.ids.teammateId },
  }),
  'POST /api/conversations/:id/read': async (w) => ({
    url: `/api/conversations/${w.userConversationId}/read`,
  }),
  'GET /api/stream': async () => ({ url: '/api/stream' }),
  'POST /messenger/boot': async (w) => ({
    url: '/messenger/boot',
    payload: { app_id: w.h.workspace.app_id },
  }),
  'GET /messenger/conversations': async () => ({ url: '/messenger/conversations' }),
  'POST /messenger/conversations': async () => ({
    url: '/messenger/conversations',
    payload: { body: 'Hi there' },
  }),
  'GET /messenger/conversations/:id': async (w, role) => ({
    url: `/messenger/conversations/${role === 'messenger_lead' ? w.leadConversationId : w.userConversationId}`,
  }),
  'POST /messenger/conversations/:id/messages': async (w, role) => ({
    url: `/messenger/conversations/${role === 'messenger_lead' ? w.leadConversationId : w.userConversationId}/messages`,
    payload: { body: 'One more thing' },
  }),
  'GET /messenger/stream': async () => ({ url: '/messenger/stream' }),
  'GET /api/tags': async () => ({ url: '/api/tags' }),
  'POST /api/tags': async () => ({ url: '/api/tags', payload: { name: `Tag ${unique()}` } }),
  'GET /api/tags/:id': async (w) => ({ url: `/api/tags/${await freshTag(w)}` }),
  'DELETE /api/tags/:id': async (w) => ({ url: `/api/tags/${await freshTag(w)}` }),
  'GET /api/contacts/:contact_id/tags': async (w) => ({ url: `/api/contacts/${w.h.ids.userContactId}/tags` }),
  'POST /api/contacts/:contact_id/tags': async (w) => ({
    url: `/api/contacts/${await freshContact(w)}/tags`,
    payload: { id: await freshTag(w) },
  }),
  'DELETE /api/contacts/:contact_id/tags/:tag_id': async (w) => {
    const t = await taggedContact(w);
    return { url: `/api/contacts/${t.contactId}/tags/${t.tagId}` };
  },
  'GET /api/events': async (w) => ({
    url: `/api/events?type=user&intercom_user_id=${w.h.ids.userContactId}`,
  }),
  'GET /api/contacts/find_by_external_id/:external_id': async (w) => {
    const ext = `ext-${unique()}`;
    await createContact(w.h.platform.db, w.h.workspace.id, { role: 'user', external_id: ext });
    return { url: `/api/contacts/find_by_external_id/${ext}` };
  },
  'POST /api/contacts/search': async () => ({
    url: '/api/contacts/search',
    payload: { ...everyone, pagination: { per_page: 5 } },
  }),
  'GET /api/segments': async () => ({ url: '/api/segments' }),
  'POST /api/segments': async () => ({
    url: '/api/segments',
    payload: { name: `Seg ${unique()}`, ...everyone },
  }),
  'GET /api/segments/:id': async (w) => ({ url: `/api/segments/${await freshSegment(w)}` }),
  'PUT /api/segments/:id': async (w) => ({
    url: `/api/segments/${await freshSegment(w)}`,
    payload: { name: `Renamed ${unique()}` },
  }),
  'DELETE /api/segments/:id': async (w) => ({ url: `/api/segments/${await freshSegment(w)}` }),
  'GET /api/segments/:id/contacts': async (w) => ({ url: `/api/segments/${await freshSegment(w)}/contacts` }),
  'GET /api/contacts/:id/segments': async (w) => ({ url: `/api/contacts/${w.h.ids.userContactId}/segments` }),
  'GET /api/outbound': async () => ({ url: '/api/outbound' }),
  'POST /api/outbound': async (w) => ({
    url: '/api/outbound',
    payload: { segment_id: await freshSegment(w), title: 'Hello', body: 'A message' },
  }),
  'GET /api/outbound/:id': async (w) => ({ url: `/api/outbound/${await freshOutbound(w)}` }),
  'POST /api/outbound/:id/send': async (w) => ({ url: `/api/outbound/${await freshOutbound(w)}/send` }),
  'POST /api/outbound/:id/stop': async (w) => ({ url: `/api/outbound/${await sentOutbound(w)}/stop` }),
  'GET /messenger/outbound': async () => ({ url: '/messenger/outbound' }),
  'POST /messenger/outbound/:id/open': async (w, role) => ({
    url: `/messenger/outbound/${await messengerOutbound(w, role)}/open`,
  }),
  'GET /api/apps': async () => ({ url: '/api/apps' }),
  'POST /api/apps/:id/install': async () => ({
    url: `/api/apps/${EXAMPLE_APP}/install`,
    payload: { settings: { greeting: 'Hi', threshold: 5 } },
  }),
  'POST /api/apps/:id/uninstall': async (w) => {
    // Uninstalling the spare app leaves the example app, which other samples use, alone.
    await w.h.platform.apps.install(w.h.workspace.id, SPARE_APP, {});
    return { url: `/api/apps/${SPARE_APP}/uninstall`, payload: { keep_data: true } };
  },
  'GET /api/apps/:id/settings': async () => ({ url: `/api/apps/${EXAMPLE_APP}/settings` }),
  'PUT /api/apps/:id/settings': async () => ({
    url: `/api/apps/${EXAMPLE_APP}/settings`,
    payload: { settings: { greeting: 'Hey', threshold: 7 } },
  }),
  'PUT /api/apps/:id/secrets/:name': async (w) => ({
    url: `/api/apps/${EXAMPLE_APP}/secrets/api_key`,
    payload: { value: w.exampleKey },
  }),
  'POST /api/apps/:id/actions/:action': async () => ({
    url: `/api/apps/${EXAMPLE_APP}/actions/rename_greeting`,
    payload: { greeting: 'Hello' },
  }),
  'GET /api/apps/:id/views/:view': async () => ({ url: `/api/apps/${EXAMPLE_APP}/views/state` }),
  'GET /api/contacts/:id/cards': async (w) => ({ url: `/api/contacts/${w.h.ids.userContactId}/cards` }),
  'POST /api/contacts/:contact_id/cards/:app/:card/actions/:action': async (w) => ({
    url: `/api/contacts/${w.h.ids.userContactId}/cards/${EXAMPLE_APP}/summary/actions/upgrade`,
    payload: { input: { plan: 'gold' } },
  }),
  'GET /api/jobs': async () => ({ url: '/api/jobs?status=dead&per_page=5' }),
  'POST /api/jobs/:id/retry': async (w) => ({ url: `/api/jobs/${await freshDeadJob(w)}/retry` }),
  'POST /webhooks/example/:endpoint': async (w) => {
    const body = JSON.stringify({ id: `evt_${unique()}`, contact_id: w.h.ids.userContactId });
    return {
      url: `/webhooks/example/${w.endpointId}`,
      payload: body,
      headers: {
        'content-type': 'application/json',
        'x-example-signature': signExampleWebhook(w.exampleKey, body),
      },
    };
  },
};

/** A request for any route: its sample if there is one, else made-up ids and an empty body. */
export async function sampleFor(
  w: World,
  route: { method: string; url: string; body?: unknown; hasBody?: boolean },
  role: Role,
): Promise<SampleRequest & { known: boolean }> {
  const build = samples[routeKey(route)];
  if (build) return { ...(await build(w, role)), known: true };
  const url = route.url.replace(/:[a-z_]+/g, () => 'does-not-exist');
  return { url, payload: route.body || route.hasBody ? {} : undefined, known: false };
}

/** Objects the samples point at: a conversation for each messenger session, a webhook endpoint, a secret. */
export async function createWorld(h: Harness): Promise<World> {
  const exampleKey = `sk_example_${randomBytes(12).toString('hex')}`;
  await h.platform.apps.install(h.workspace.id, EXAMPLE_APP, { greeting: 'Hi' });
  await h.platform.apps.host(h.workspace.id, EXAMPLE_APP).setSecret('api_key', exampleKey);
  const endpoint = await h.platform.apps.host(h.workspace.id, EXAMPLE_APP).webhooks.createEndpoint();
  const start = async (role: Role) => {
    const res = await h.request(role, {
      method: 'POST',
      url: '/messenger/conversations',
      payload: { body: `Hello from ${role}` },
    });
    if (res.statusCode !== 201) throw new Error(`could not start a conversation: ${res.body}`);
    return (res.json() as { id: string }).id;
  };
  return {
    h,
    userConversationId: await start('messenger_user'),
    leadConversationId: await start('messenger_lead'),
    endpointId: endpoint.id,
    exampleKey,
  };
}
