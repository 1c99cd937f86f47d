// A Settle server over a fresh test database, with a workspace and one principal of every kind, for tests that
// drive the HTTP API (fastify.inject: no port needed).
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { SignJWT } from 'jose';
import { loadConfig } from '../../src/config/env.ts';
import { createTestDb, type DbKind, type TestDb } from '../../src/db/test-db.ts';
import type { AppRegistry } from '../../src/platform/apps/runtime.ts';
import { createContact } from '../../src/platform/contacts/service.ts';
import { createApiToken, createTeammate } from '../../src/platform/teammates/service.ts';
import {
  openMessengerSecret,
  createWorkspace,
  type Workspace,
} from '../../src/platform/workspaces/service.ts';
import { workspaceRepository } from '../../src/platform/workspaces/repository.ts';
import { buildServer } from '../../src/server/app.ts';
import { composePlatform, createLogger } from '../../src/server/compose.ts';
import type { Platform } from '../../src/server/platform.ts';

export type Role = 'admin' | 'teammate' | 'token' | 'messenger_user' | 'messenger_lead' | 'anonymous';
export const roles: Role[] = ['admin', 'teammate', 'token', 'messenger_user', 'messenger_lead', 'anonymous'];

export interface Credentials {
  headers: Record<string, string>;
}

export interface Harness {
  kind: DbKind;
  testDb: TestDb;
  platform: Platform;
  server: FastifyInstance;
  workspace: Workspace;
  messengerSecret: string;
  /** Every line the server logged, for tests that prove secrets never reach the logs. */
  logLines: string[];
  creds: Record<Role, Credentials>;
  ids: { adminId: string; teammateId: string; userContactId: string; leadContactId: string };
  emails: { admin: string; teammate: string };
  request(role: Role, opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export const testMasterKey = randomBytes(32);

/** The password of every teammate the harness creates. */
export const teammatePassword = 'correct horse battery';

/** Logs a teammate in and returns the cookie and CSRF headers of the new session. */
export async function loginTeammate(server: FastifyInstance, email: string): Promise<Credentials> {
  const res = await server.inject({
    method: 'POST',
    url: '/api/auth/login',
    payload: { email, password: teammatePassword },
  });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.body}`);
  const cookie = res.cookies.find((c) => c.name === 'settle_session');
  const csrf = (res.json() as { csrf_token: string }).csrf_token;
  return { headers: { cookie: `settle_session=${cookie?.value}`, 'x-csrf-token': csrf } };
}

export async function signUserJwt(
  secret: string,
  claims: Record<string, unknown>,
  expiresIn = '1h',
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

export async function createHarness(kind: DbKind, opts: { registry?: AppRegistry } = {}): Promise<Harness> {
  const testDb = await createTestDb(kind);
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  });
  const config = { ...loadConfig({}), dataDir: '/nonexistent', logLevel: 'debug' as const };
  const platform = await composePlatform({
    config,
    db: testDb.db,
    registry: opts.registry ?? {},
    log: createLogger('debug', sink),
    masterKey: testMasterKey,
  });
  const server = await buildServer(platform);
  await server.ready();

  const workspace = await createWorkspace(
    platform.db,
    platform.box,
    `Test ${randomBytes(3).toString('hex')}`,
  );
  const wsRow = await workspaceRepository.get(platform.db, workspace.id);
  const messengerSecret = openMessengerSecret(platform.box, wsRow!);
  const suffix = randomBytes(4).toString('hex');
  const password = teammatePassword;
  const admin = await createTeammate(platform.db, workspace.id, {
    email: `admin-${suffix}@test.local`,
    name: 'Admin',
    role: 'admin',
    password,
  });
  const mate = await createTeammate(platform.db, workspace.id, {
    email: `mate-${suffix}@test.local`,
    name: 'Mate',
    role: 'teammate',
    password,
  });
  const token = await createApiToken(platform.db, workspace.id, 'test');

  const login = (email: string) => loginTeammate(server, email);

  const user = await createContact(platform.db, workspace.id, {
    role: 'user',
    external_id: `u-${suffix}`,
    email: `user-${suffix}@example.com`,
    name: 'User',
  });
  const userJwt = await signUserJwt(messengerSecret, { user_id: user.external_id, email: user.email });
  const bootUser = await server.inject({
    method: 'POST',
    url: '/messenger/boot',
    payload: { app_id: workspace.app_id, user_jwt: userJwt },
  });
  const bootLead = await server.inject({
    method: 'POST',
    url: '/messenger/boot',
    payload: { app_id: workspace.app_id },
  });
  if (bootUser.statusCode !== 200 || bootLead.statusCode !== 200)
    throw new Error(`messenger boot failed: ${bootUser.body} ${bootLead.body}`);
  const userBoot = bootUser.json() as { session_token: string; contact: { id: string } };
  const leadBoot = bootLead.json() as { session_token: string; contact: { id: string } };

  const creds: Record<Role, Credentials> = {
    admin: await login(admin.email),
    teammate: await login(mate.email),
    token: { headers: { authorization: `Bearer ${token.token}` } },
    messenger_user: { headers: { authorization: `Bearer ${userBoot.session_token}` } },
    messenger_lead: { headers: { authorization: `Bearer ${leadBoot.session_token}` } },
    anonymous: { headers: {} },
  };

  return {
    kind,
    testDb,
    platform,
    server,
    workspace,
    messengerSecret,
    logLines,
    creds,
    ids: {
      adminId: admin.id,
      teammateId: mate.id,
      userContactId: userBoot.contact.id,
      leadContactId: leadBoot.contact.id,
    },
    emails: { admin: admin.email, teammate: mate.email },
    request(role, o) {
      return server.inject({
        ...o,
        headers: { ...creds[role].headers, ...(o.headers as Record<string, string> | undefined) },
      });
    },
    async close() {
      await platform.jobs.stopAll();
      await server.close();
      await testDb.close();
    },
  };
}
