import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbKinds } from '../src/db/test-db.ts';
import { createHarness, signUserJwt, type Harness } from './helpers/harness.ts';

interface Boot {
  session_token: string;
  verified: boolean;
  contact: { id: string; role: 'user' | 'lead'; email: string | null; external_id: string | null };
}

describe.each(dbKinds())('messenger identity on %s', (kind) => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness(kind);
  });
  afterAll(async () => h?.close());

  const boot = (payload: Record<string, unknown>) =>
    h.server.inject({
      method: 'POST',
      url: '/messenger/boot',
      payload: { app_id: h.workspace.app_id, ...payload },
    });
  const as = (token: string) => ({ authorization: `Bearer ${token}` });

  it('refuses a JWT whose exp is in the past, and one signed with another secret', async () => {
    const expired = await new SignJWT({ user_id: 'jwt-user', email: 'jwt@example.com' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(h.messengerSecret));
    const late = await boot({ user_jwt: expired });
    expect(late.statusCode).toBe(401);
    expect(late.json()).toMatchObject({ error: { code: 'invalid_user_jwt' } });
    expect(late.json()).not.toHaveProperty('session_token');

    const forged = await signUserJwt('not-the-messenger-secret-at-all', { user_id: 'jwt-user' });
    const wrong = await boot({ user_jwt: forged });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json()).toMatchObject({ error: { code: 'invalid_user_jwt' } });

    // Neither created the user.
    const found = await h.request('token', { method: 'GET', url: '/api/contacts?external_id=jwt-user' });
    expect((found.json() as { data: unknown[] }).data).toEqual([]);
  });

  it('gives no session and no data to a user_id without a JWT', async () => {
    const users = await h.request('token', { method: 'GET', url: `/api/contacts/${h.ids.userContactId}` });
    const user = users.json() as { external_id: string; email: string };
    const res = await boot({ user_id: user.external_id });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'identity_verification_required' } });
    expect(res.body).not.toContain(user.email);
    expect(res.body).not.toContain(h.ids.userContactId);
    expect(res.json()).not.toHaveProperty('session_token');
  });

  it("resumes the same lead from the lead's session token", async () => {
    const first = (await boot({})).json() as Boot;
    expect(first).toMatchObject({ verified: false, contact: { role: 'lead' } });
    const started = await h.server.inject({
      method: 'POST',
      url: '/messenger/conversations',
      headers: as(first.session_token),
      payload: { body: 'Before I sign up' },
    });
    expect(started.statusCode).toBe(201);

    const again = (await boot({ session_token: first.session_token })).json() as Boot;
    expect(again.contact.id).toBe(first.contact.id);
    expect(again.verified).toBe(false);
    // Booting again with the token keeps the session: no new token, no new session row per page view.
    expect(again.session_token).toBe(first.session_token);
    await boot({ session_token: first.session_token });
    const sessions = await h.platform.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM messenger_sessions WHERE workspace_id = $1 AND contact_id = $2',
      [h.workspace.id, first.contact.id],
    );
    expect(sessions.rows[0]?.n).toBe(1);
    const list = await h.server.inject({
      method: 'GET',
      url: '/messenger/conversations',
      headers: as(again.session_token),
    });
    expect((list.json() as { conversations: unknown[] }).conversations).toHaveLength(1);

    // A session token of no known session starts a fresh lead.
    const fresh = (await boot({ session_token: 'ms_unknown' })).json() as Boot;
    expect(fresh.contact.id).not.toBe(first.contact.id);
  });

  it('merges a lead who later boots verified into the user, who keeps the conversation', async () => {
    const lead = (await boot({})).json() as Boot;
    const started = await h.server.inject({
      method: 'POST',
      url: '/messenger/conversations',
      headers: as(lead.session_token),
      payload: { body: 'Question as a visitor' },
    });
    const convId = (started.json() as { id: string }).id;

    const jwt = await signUserJwt(h.messengerSecret, {
      user_id: 'signed-up-1',
      email: 'signed.up@example.com',
    });
    const verified = await boot({ user_jwt: jwt, session_token: lead.session_token });
    expect(verified.statusCode).toBe(200);
    const user = verified.json() as Boot;
    expect(user).toMatchObject({
      verified: true,
      contact: { role: 'user', external_id: 'signed-up-1', email: 'signed.up@example.com' },
    });
    expect(user.contact.id).not.toBe(lead.contact.id);

    const mine = await h.server.inject({
      method: 'GET',
      url: `/messenger/conversations/${convId}`,
      headers: as(user.session_token),
    });
    expect(mine.statusCode).toBe(200);
    expect((mine.json() as { messages: { body: string }[] }).messages.map((m) => m.body)).toEqual([
      'Question as a visitor',
    ]);
    expect(
      (await h.request('teammate', { method: 'GET', url: `/api/contacts/${lead.contact.id}` })).statusCode,
    ).toBe(404);
    const team = await h.request('teammate', { method: 'GET', url: `/api/conversations/${convId}` });
    expect(team.json()).toMatchObject({ contact_id: user.contact.id });

    // The lead's old token, used directly, is no way into the user's conversations.
    const stale = await h.server.inject({
      method: 'GET',
      url: `/messenger/conversations/${convId}`,
      headers: as(lead.session_token),
    });
    expect(stale.statusCode).toBe(401);

    // Booting later with only the old anonymous token (e.g. after the host app logged the user out) must not
    // hand out the user: that needs the JWT again.
    const anon = await boot({ session_token: lead.session_token });
    expect(anon.statusCode).toBe(200);
    const anonBoot = anon.json() as Boot;
    expect(anonBoot.contact.role).toBe('lead');
    expect(anonBoot.contact.id).not.toBe(user.contact.id);
    expect(anon.body).not.toContain('signed.up@example.com');
    const anonList = await h.server.inject({
      method: 'GET',
      url: '/messenger/conversations',
      headers: as(anonBoot.session_token),
    });
    expect((anonList.json() as { conversations: unknown[] }).conversations).toEqual([]);
  });

  // QA: a host app whose user has a name over 255 characters kept that customer out of the messenger ("user_jwt
  // is not valid: Too big"). A verified JWT boots with the profile claim fitted; identity checks stay as they were.
  it('boots a verified user whose name or email is over its cap, cut or left out, with a warning', async () => {
    const before = h.logLines.length;
    // 254 + an emoji (two UTF-16 units) + more: a cut at 255 would split the emoji's surrogate pair. Long enough in
    // UTF-8 that the token itself is over the 4,096 characters the boot used to allow.
    const name = '山'.repeat(254) + '😀' + '山'.repeat(2000);
    const email = `${'x'.repeat(250)}@example.com`;
    const jwt = await signUserJwt(h.messengerSecret, { user_id: 'long-name-1', name, email });
    expect(jwt.length).toBeGreaterThan(4096);
    const res = await boot({ user_jwt: jwt });
    expect(res.statusCode, res.body).toBe(200);
    const booted = res.json() as Boot & { contact: { name: string } };
    expect(booted).toMatchObject({ verified: true, contact: { role: 'user', external_id: 'long-name-1' } });
    expect(booted.contact.name).toBe('山'.repeat(254));
    // A cut address would be someone else's (boots link users by email): it is left out instead.
    expect(booted.contact.email).toBeNull();
    const found = await h.request('token', { method: 'GET', url: '/api/contacts?external_id=long-name-1' });
    expect((found.json() as { data: { name: string }[] }).data[0]?.name).toBe('山'.repeat(254));

    const logged = h.logLines.slice(before);
    const warnings = logged
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({ field: 'name', limit: 255, action: 'cut' }),
      expect.objectContaining({ field: 'email', limit: 254, action: 'dropped' }),
    ]);
    for (const secretish of [jwt, jwt.split('.')[1]!, '山'.repeat(20), 'x'.repeat(50)])
      expect(logged.filter((l) => l.includes(secretish))).toEqual([]);
  });

  it('boots a verified user whose email is malformed or whose name is not text, without them, with a warning', async () => {
    const before = h.logLines.length;
    const jwt = await signUserJwt(h.messengerSecret, {
      user_id: 'bad-profile-1',
      email: 'not an address',
      name: 42,
    });
    const res = await boot({ user_jwt: jwt });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      verified: true,
      contact: { role: 'user', external_id: 'bad-profile-1', email: null },
    });
    const warnings = h.logLines
      .slice(before)
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.level === 40);
    expect(warnings).toEqual([
      expect.objectContaining({ field: 'name', action: 'dropped' }),
      expect.objectContaining({ field: 'email', action: 'dropped' }),
    ]);
    expect(h.logLines.slice(before).filter((l) => l.includes('not an address'))).toEqual([]);
  });

  it('still refuses a long-named JWT with a bad signature, no user_id or an over-long user_id', async () => {
    const name = 'n'.repeat(400);
    const tokens = [
      await signUserJwt('not-the-messenger-secret-at-all', { user_id: 'long-forged', name }),
      await signUserJwt(h.messengerSecret, { name }),
      await signUserJwt(h.messengerSecret, { user_id: 'u'.repeat(256), name }),
    ];
    for (const user_jwt of tokens) {
      const res = await boot({ user_jwt });
      expect(res.statusCode).toBe(401);
      expect(res.json()).toMatchObject({ error: { code: 'invalid_user_jwt', path: 'user_jwt' } });
      expect(res.json()).not.toHaveProperty('session_token');
    }
    const found = await h.request('token', { method: 'GET', url: '/api/contacts?external_id=long-forged' });
    expect((found.json() as { data: unknown[] }).data).toEqual([]);
  });

  it('refuses an unknown app_id and keeps messenger sessions out of the team API', async () => {
    const unknown = await h.server.inject({
      method: 'POST',
      url: '/messenger/boot',
      payload: { app_id: 'nope' },
    });
    expect(unknown.statusCode).toBe(404);
    for (const role of ['messenger_user', 'messenger_lead'] as const) {
      const res = await h.request(role, { method: 'GET', url: '/api/contacts' });
      expect([401, 403]).toContain(res.statusCode);
    }
  });
});
