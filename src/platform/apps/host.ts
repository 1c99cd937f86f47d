import type { Logger } from 'pino';
import type {
  AppHost,
  AppManifest,
  HostContact,
  RecordCollection,
  StoredRecord,
  TimelineEventInput,
} from '../../app-sdk/index.ts';
import { recordRepository, type RecordRow } from './record-repository.ts';
import type { Db } from '../../db/client.ts';
import type { JobQueue } from '../../jobs/queue.ts';
import type { SecretBox } from '../crypto/secret-box.ts';
import type { ConversationService } from '../conversations/service.ts';
import type { AttributeDefinitionCache } from '../attributes/definition-cache.ts';
import type { AttributeValue } from '../attributes/schemas.ts';
import { contactRepository, type ContactRow } from '../contacts/repository.ts';
import { createContact, normalizeEmail } from '../contacts/service.ts';
import { recordEvent, recordEvents } from '../events/service.ts';
import { appError } from './errors.ts';
import type { EndpointDirectory } from './endpoints.ts';
import type { InstallationCache } from './installations.ts';
import { secretRepository } from './repository.ts';
import { newId } from '../../shared/ids.ts';
import { lazyChild } from '../../shared/lazy-logger.ts';
import { reserveBudget } from '../rate-budgets/service.ts';

export interface HostDeps {
  publicUrl: string;
  db: Db;
  box: SecretBox;
  jobs: JobQueue;
  log: Logger;
  conversations: ConversationService;
  /** Webhook endpoints, cached (endpoints.ts). */
  endpoints: EndpointDirectory;
  /** Installations as jobs read them, cached (installations.ts). */
  installations: InstallationCache;
  /** Attribute definitions as apps' writes check them, cached (attributes/definition-cache.ts). */
  definitions: AttributeDefinitionCache;
}

export const declaresSecret = (m: AppManifest, name: string) =>
  m.secrets.some((s) => name === s || name.startsWith(`${s}:`));

export const secretContext = (workspaceId: string, appId: string, name: string) =>
  `app:${workspaceId}:${appId}:${name}`;
export const jobQueueName = (appId: string, name: string) => `app:${appId}:${name}`;

function toHostContact(row: ContactRow): HostContact {
  return {
    id: row.id,
    role: row.role,
    external_id: row.external_id,
    email: row.email,
    name: row.name,
    custom_attributes: row.custom_attributes,
  };
}

/** The platform as one app in one workspace sees it. */
const toRecord = <T>(r: RecordRow): StoredRecord<T> => ({
  key: r.key,
  data: r.data as T,
  version: r.version,
  deleted: r.deleted,
  updatedAt: Math.floor(r.updated_at.getTime() / 1000),
});

export function createHost(deps: HostDeps, manifest: AppManifest, workspaceId: string): AppHost {
  const { db, box } = deps;
  const appId = manifest.id;
  const declared = new Set(manifest.attributes.map((a) => a.name));
  // A host is made per request and per job run; most never log (lazy-logger.ts).
  const log = lazyChild(deps.log, { app: appId, workspace: workspaceId });
  /** An app writes only the attributes it declared, with values their definitions accept. */
  const checkWrites = (writes: readonly Record<string, AttributeValue>[]) => {
    for (const values of writes) {
      for (const name of Object.keys(values)) {
        if (!declared.has(name)) throw new Error(`app ${appId} did not declare attribute ${name}`);
      }
    }
    return deps.definitions.checkMany(workspaceId, writes, appId);
  };
  /** A timeline entry as the events module records it: the app's own key space and source. */
  const toEvent = (contactId: string, event: TimelineEventInput) => {
    if (!manifest.events.includes(event.name))
      throw new Error(`app ${appId} did not declare event ${event.name}`);
    return {
      contactId,
      name: event.name,
      createdAt: event.createdAt,
      metadata: event.metadata,
      source: appId,
      idempotencyKey: `${appId}:${event.idempotencyKey}`,
    };
  };
  return {
    workspaceId,
    appId,
    async settings<T>() {
      const row = await deps.installations.get(workspaceId, appId);
      return manifest.settings.parse(row?.settings ?? {}) as T;
    },
    async secret(name) {
      const sealed = await secretRepository.get(db, workspaceId, appId, name);
      return sealed === undefined ? undefined : box.open(sealed, secretContext(workspaceId, appId, name));
    },
    async setSecret(name, value) {
      // `api_key` also covers `api_key:<suffix>` (one key per connected account), as the SDK documents.
      if (!declaresSecret(manifest, name))
        throw appError('unknown_secret', `${appId} declares no secret ${name}`, 'name');
      await secretRepository.put(
        db,
        workspaceId,
        appId,
        name,
        box.seal(value, secretContext(workspaceId, appId, name)),
      );
    },
    contacts: {
      async get(id) {
        const row = await contactRepository.get(db, workspaceId, id);
        return row ? toHostContact(row) : undefined;
      },
      async existing(ids) {
        return contactRepository.existingIds(db, workspaceId, ids);
      },
      async findByEmail(email) {
        const rows = await contactRepository.findByEmail(db, workspaceId, normalizeEmail(email) ?? '');
        return rows.map(toHostContact);
      },
      async findByExternalId(externalId) {
        const row = await contactRepository.getByExternalId(db, workspaceId, externalId);
        return row ? toHostContact(row) : undefined;
      },
      async findByEmails(emails) {
        const normalised = [...new Set(emails.map((e) => normalizeEmail(e)).filter((e) => e !== null))];
        return (await contactRepository.findByEmails(db, workspaceId, normalised)).map(toHostContact);
      },
      async findByExternalIds(externalIds) {
        return (await contactRepository.findByExternalIds(db, workspaceId, [...new Set(externalIds)])).map(
          toHostContact,
        );
      },
      async createUsers(inputs) {
        const checked = inputs.some((i) => i.attributes)
          ? await checkWrites(inputs.map((i) => i.attributes ?? {}))
          : [];
        const wanted = inputs.map((i, n) => {
          const email = i.email.trim();
          const normalised = normalizeEmail(email);
          if (!normalised) throw new Error(`app ${appId} created a user with no email`);
          return {
            id: newId(),
            email,
            email_normalized: normalised,
            name: i.name ?? null,
            custom_attributes: checked[n]?.set ?? {},
          };
        });
        // One new contact per address: the first input of an address makes it, later ones answer it.
        const first = new Map<string, (typeof wanted)[number]>();
        for (const w of wanted) if (!first.has(w.email_normalized)) first.set(w.email_normalized, w);
        const made = await db.transaction(async (tx) => {
          const inserted = await contactRepository.insertUsersIfAbsent(tx, workspaceId, [...first.values()]);
          const byAddress = new Map(inserted.map((r) => [r.email_normalized as string, r]));
          const lost = [...first.keys()].filter((a) => !byAddress.has(a));
          // An address another writer created first: its oldest user, as findByEmail orders them.
          for (const r of await contactRepository.findByEmails(tx, workspaceId, lost)) {
            const a = r.email_normalized as string;
            if (r.role === 'user' && !byAddress.has(a)) byAddress.set(a, r);
          }
          return { byAddress, inserted: new Set(inserted.map((r) => r.id)) };
        });
        return wanted.map((w) => {
          const row = made.byAddress.get(w.email_normalized);
          // The user that held the address was deleted between our insert and our read (deletions take no lock):
          // the caller's job fails and is retried, and then creates the contact.
          if (!row) throw new Error(`the user contact for an address ${appId} created vanished meanwhile`);
          return { ...toHostContact(row), created: made.inserted.has(row.id) && row.id === w.id };
        });
      },
      async create(input) {
        return toHostContact(await createContact(db, workspaceId, input, appId));
      },
      async setAttributes(contactId, values) {
        const [checked] = await checkWrites([values]);
        await contactRepository.update(db, workspaceId, contactId, {}, checked);
      },
      async setAttributesMany(updates) {
        if (updates.length === 0) return;
        const checked = await checkWrites(updates.map((u) => u.values));
        // One contact: the prepared single-row update (every applied event writes one), cheaper than the batch form.
        if (updates.length === 1) {
          await contactRepository.update(db, workspaceId, updates[0]!.contactId, {}, checked[0]);
          return;
        }
        const rows = updates.map((u, n) => ({
          id: u.contactId,
          ...(checked[n] as (typeof checked)[number]),
        }));
        await contactRepository.updateAttributesMany(db, workspaceId, rows);
      },
    },
    timeline: {
      async record(contactId, event) {
        return recordEvent(db, workspaceId, toEvent(contactId, event));
      },
      async recordMany(entries) {
        // Every name checked before anything is written: one undeclared event refuses the whole call.
        const events = entries.map((e) => toEvent(e.contactId, e.event));
        return recordEvents(db, workspaceId, events);
      },
    },
    conversations: {
      async addCard(conversationId, card) {
        if (!manifest.cards.messenger.some((c) => c.type === card.type)) {
          throw new Error(`app ${appId} did not declare messenger card ${card.type}`);
        }
        await deps.conversations.addMessage(workspaceId, conversationId, {
          authorType: 'system',
          authorId: appId,
          kind: 'card',
          body: card.text,
          card: { app_id: appId, type: card.type, data: card.data },
        });
      },
      async addNote(conversationId, body) {
        await deps.conversations.addMessage(workspaceId, conversationId, {
          authorType: 'system',
          authorId: appId,
          kind: 'note',
          body,
        });
      },
    },
    jobs: {
      enqueue(name, payload, opts = {}) {
        if (!(name in manifest.jobs)) throw new Error(`app ${appId} declares no job ${name}`);
        return deps.jobs.enqueue({ workspaceId, queue: jobQueueName(appId, name), payload, ...opts });
      },
    },
    recordVersions(probes) {
      return recordRepository.versions(db, { workspaceId, appId }, probes);
    },
    async readRecords(probes) {
      const rows = await recordRepository.readMany(db, { workspaceId, appId }, probes);
      return rows.map((rs) => rs.map((r) => toRecord<unknown>(r)));
    },
    records<T>(collection: string): RecordCollection<T> {
      const scope = { workspaceId, appId, collection };
      return {
        name: collection,
        async get(key) {
          const r = await recordRepository.get(db, scope, key);
          return r ? toRecord<T>(r) : undefined;
        },
        put(key, data, opts = {}) {
          return recordRepository.put(db, scope, {
            key,
            data,
            version: opts.version ?? 0,
            index_a: opts.a ?? null,
            index_b: opts.b ?? null,
            deleted: false,
          });
        },
        async remove(key, opts = {}) {
          const current = await recordRepository.get(db, scope, key);
          return recordRepository.put(db, scope, {
            key,
            data: current?.data ?? null,
            version: opts.version ?? current?.version ?? 0,
            index_a: current?.index_a ?? null,
            index_b: current?.index_b ?? null,
            deleted: true,
          });
        },
        putMany(records) {
          return recordRepository.putMany(
            db,
            scope,
            records.map((r) => ({
              key: r.key,
              data: r.data,
              version: r.version ?? 0,
              index_a: r.a ?? null,
              index_b: r.b ?? null,
            })),
          );
        },
        async getMany(keys) {
          return (await recordRepository.getMany(db, scope, keys)).map((r) => toRecord<T>(r));
        },
        countMany(index, values) {
          return recordRepository.countMany(db, scope, { index, values });
        },
        async findMany(index, values) {
          return (await recordRepository.findMany(db, scope, { index, values })).map((r) => toRecord<T>(r));
        },
        async find(index, value, opts = {}) {
          return (await recordRepository.find(db, scope, { index, value, limit: opts.limit ?? 100 })).map(
            (r) => toRecord<T>(r),
          );
        },
        async list(opts = {}) {
          return (
            await recordRepository.list(db, scope, { after: opts.after, limit: opts.limit ?? 100 })
          ).map((r) => toRecord<T>(r));
        },
        async listWithout(other, opts = {}) {
          const q = {
            other,
            prefix: opts.prefix ?? '',
            indexed: opts.indexed ?? null,
            after: opts.after,
            limit: opts.limit ?? 100,
          };
          return (await recordRepository.listWithout(db, scope, q)).map((r) => toRecord<T>(r));
        },
        count() {
          return recordRepository.count(db, scope);
        },
        async purge(prefix) {
          if (prefix.length === 0) throw new Error('purge needs a key prefix');
          return recordRepository.purgePrefix(db, scope, prefix);
        },
      };
    },
    budget: {
      reserve(buckets, opts) {
        // Workspace '' is the installation-wide scope (rate_budgets has no foreign key to workspaces).
        const scope = { workspaceId: opts?.acrossWorkspaces ? '' : workspaceId, scope: `app:${appId}` };
        return reserveBudget(db, scope, buckets);
      },
    },
    webhooks: {
      async createEndpoint() {
        const id = newId();
        await deps.endpoints.insert(workspaceId, id, appId);
        const hook = manifest.webhooks[0];
        const path = (hook?.path ?? `${appId}/:endpoint`).replace(':endpoint', id);
        return { id, url: `${deps.publicUrl}/webhooks/${path}` };
      },
      async deleteEndpoint(id) {
        await deps.endpoints.delete(workspaceId, id);
      },
    },
    log: {
      info: (msg, data) => log.info(data ?? {}, msg),
      warn: (msg, data) => log.warn(data ?? {}, msg),
      error: (msg, data) => log.error(data ?? {}, msg),
    },
  };
}
