import { randomBytes } from 'node:crypto';
import type { Db } from '../../db/client.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { ConversationService } from '../conversations/service.ts';
import { contactRepository } from '../contacts/repository.ts';
import { createContact } from '../contacts/service.ts';
import { createTeammate } from '../teammates/service.ts';
import { workspaceRepository } from '../workspaces/repository.ts';
import { createWorkspace } from '../workspaces/service.ts';

export const DEMO_ADMIN_EMAIL = 'admin@settle.local';
/** The demo's teammate (role `teammate`), so the inbox can be tried as a teammate, not only as the admin. */
export const DEMO_TEAMMATE_EMAIL = 'sam@settle.local';

/** Demo users; their emails match the demo Stripe customers, so the Stripe app links them. */
export const demoUsers = [
  { name: 'Ada Lovelace', email: 'ada@example.com', external_id: 'user_ada' },
  { name: 'Grace Hopper', email: 'grace@example.com', external_id: 'user_grace' },
  { name: 'Alan Turing', email: 'alan@example.com', external_id: 'user_alan' },
  { name: 'Margaret Hamilton', email: 'margaret@example.com', external_id: 'user_margaret' },
  { name: 'Linus Torvalds', email: 'linus@example.com', external_id: 'user_linus' },
  { name: 'Katherine Johnson', email: 'katherine@example.com', external_id: 'user_katherine' },
] as const;

const demoConversations: {
  email: string;
  messages: { from: 'contact' | 'teammate' | 'note'; body: string }[];
}[] = [
  {
    email: 'alan@example.com',
    messages: [
      { from: 'contact', body: 'My last payment failed and now my account says past due. What happened?' },
    ],
  },
  {
    email: 'grace@example.com',
    messages: [
      { from: 'contact', body: 'When does my trial end, and what will I be charged after it?' },
      { from: 'teammate', body: 'Hi Grace! Let me check your trial for you.' },
    ],
  },
  {
    email: 'linus@example.com',
    messages: [
      {
        from: 'contact',
        body: 'Thanks for refunding the add-on last week. Can I switch to monthly billing?',
      },
      {
        from: 'note',
        body: 'He is on the yearly plan with the 20% coupon; check proration before offering.',
      },
    ],
  },
  {
    email: 'ada@example.com',
    messages: [{ from: 'contact', body: 'Can I get an invoice with our VAT number on it?' }],
  },
];

export interface DemoResult {
  workspaceId: string;
  adminEmail: string;
  adminPassword: string;
  teammateEmail: string;
  teammatePassword: string;
  appId: string;
}

/** Seeds an empty database with a workspace, an admin, contacts and conversations. Does nothing if one exists. */
export async function seedDemo(
  db: Db,
  box: SecretBox,
  conversations: ConversationService,
): Promise<DemoResult | undefined> {
  if (await workspaceRepository.first(db)) return undefined;
  const ws = await createWorkspace(db, box, 'Demo workspace');
  const adminPassword = randomBytes(9).toString('base64url');
  const admin = await createTeammate(db, ws.id, {
    email: DEMO_ADMIN_EMAIL,
    name: 'Demo Admin',
    role: 'admin',
    password: adminPassword,
  });
  const teammatePassword = randomBytes(9).toString('base64url');
  await createTeammate(db, ws.id, {
    email: DEMO_TEAMMATE_EMAIL,
    name: 'Sam Support',
    role: 'teammate',
    password: teammatePassword,
  });
  for (const u of demoUsers) await createContact(db, ws.id, { role: 'user', ...u });
  await createContact(db, ws.id, { role: 'lead', name: 'Visitor from Berlin' });
  for (const c of demoConversations) {
    const contact = (await contactRepository.findByEmail(db, ws.id, c.email))[0];
    if (!contact) continue;
    const [first, ...rest] = c.messages;
    if (!first) continue;
    const { conversation } = await conversations.start(ws.id, contact.id, {
      authorType: 'contact',
      authorId: contact.id,
      kind: 'comment',
      body: first.body,
    });
    for (const m of rest) {
      await conversations.addMessage(ws.id, conversation.id, {
        authorType: m.from === 'contact' ? 'contact' : 'teammate',
        authorId: m.from === 'contact' ? contact.id : admin.id,
        kind: m.from === 'note' ? 'note' : 'comment',
        body: m.body,
      });
    }
  }
  return {
    workspaceId: ws.id,
    adminEmail: DEMO_ADMIN_EMAIL,
    adminPassword,
    teammateEmail: DEMO_TEAMMATE_EMAIL,
    teammatePassword,
    appId: ws.app_id,
  };
}
