/**
 * The app SDK: everything an app may import from Settle. Apps declare themselves with `defineApp` and reach the
 * platform only through the `AppHost` they are handed; they never import platform modules.
 */
import type { z } from 'zod';
import { AppError } from '../shared/errors.ts';

/**
 * An error an action, view or card action throws for the caller to fix: answered with its status and
 * `{error: {code, message, path}}` (e.g. 400 `invalid_api_key` at `api_key`). Messages must never hold secrets.
 */
export class ActionError extends AppError {
  constructor(status: 400 | 404 | 409 | 422 | 502 | 503, code: string, message: string, path?: string) {
    super(code, message, status, path);
    this.name = 'ActionError';
  }
}

export type AttributeType = 'string' | 'number' | 'boolean' | 'date';
export type AttributeValue = string | number | boolean;

export interface AttributeSpec {
  name: string;
  type: AttributeType;
  label: string;
  description?: string;
}

export interface HostContact {
  id: string;
  role: 'user' | 'lead';
  external_id: string | null;
  email: string | null;
  name: string | null;
  custom_attributes: Record<string, AttributeValue>;
}

/** What a sidebar card shows: sections of label/value rows plus actions the inbox renders as buttons. */
export interface CardView {
  title: string;
  subtitle?: string;
  badge?: string;
  sections: { title: string; rows: { label: string; value: string }[] }[];
  /**
   * Buttons; `input`, when given, is sent to the action as it is (a choice the view offers). With `field`, the
   * button comes with a one-line text box, and what the teammate types is sent as `input[field.name]` (beside
   * the properties of an object `input`); the action checks it like any input.
   */
  actions?: {
    id: string;
    label: string;
    input?: unknown;
    field?: { name: string; label: string; placeholder?: string };
  }[];
  refreshed_at?: number;
  empty_state?: string;
}

export interface SidebarCardSpec {
  id: string;
  title: string;
  load(host: AppHost, contact: HostContact): Promise<CardView>;
  actions?: Record<
    string,
    (host: AppHost, contact: HostContact, input: unknown) => Promise<CardView | { message: string }>
  >;
}

export interface MessengerCardSpec {
  /** The card `type` the messenger renders; its data is shown as text, never as HTML. */
  type: string;
  description: string;
}

export interface WebhookRequest {
  endpoint: string;
  params: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  rawBody: Buffer;
}

export interface WebhookSpec {
  /**
   * Mounted at `/webhooks/<path>`; the path must hold `:endpoint`, an id made by `host.webhooks.createEndpoint()`,
   * which tells the platform the workspace. Anyone may call it: the handler must verify the request.
   */
  path: string;
  handle(host: AppHost, req: WebhookRequest): Promise<{ status: number; body: unknown }>;
}

export type AppJobHandler = (
  host: AppHost,
  payload: unknown,
  /**
   * `rerun`: an earlier run of this job may have done part of its work and stopped (a retry, or a run alone after
   * its batch failed). Work a job skips because another run is doing it must not be skipped then.
   */
  ctx: { attempt: number; lastAttempt: boolean; signal: AbortSignal; rerun: boolean },
) => Promise<void>;

/**
 * Runs several jobs of one kind (the `jobs` entry of the same name) at once, for one workspace: one set of reads
 * and writes for many small jobs. Answers one outcome per payload, in order: `undefined` when done, an error to
 * retry that job alone later. If it throws, each job runs alone through its `jobs` handler.
 */
export interface AppBatchJob {
  max: number;
  run(
    host: AppHost,
    payloads: readonly unknown[],
    /** `reruns`: per payload, as `rerun` of a job handler. */
    ctx: { signal: AbortSignal; reruns: readonly boolean[] },
  ): Promise<(unknown | undefined)[]>;
}

export interface ToolSpec {
  name: string;
  description: string;
  parameters: z.ZodType;
  /** Tools see only the conversation's own verified contact: they take no customer argument. */
  run(host: AppHost, contact: HostContact, args: unknown): Promise<unknown>;
}

/**
 * An operation an app offers over the HTTP API at `POST /api/apps/<app>/actions/<name>` (and a read-only view at
 * `GET /api/apps/<app>/views/<name>`): e.g. "connect a Stripe account". `access` says who may call it: `admin`
 * (admins and API tokens) or `team` (any teammate and API tokens). Input is validated by the action's schema.
 */
export interface ActionSpec<I extends z.ZodType = z.ZodType> {
  access: 'admin' | 'team';
  summary: string;
  input: I;
  run(host: AppHost, input: z.infer<I>): Promise<unknown>;
}

export interface ViewSpec {
  access: 'admin' | 'team';
  summary: string;
  load(host: AppHost): Promise<unknown>;
}

export interface AppManifest<S extends z.ZodType = z.ZodType> {
  id: string;
  name: string;
  description: string;
  settings: S;
  /** Secret names; `api_key` also covers `api_key:<suffix>` (e.g. one key per connected account). */
  secrets: readonly string[];
  attributes: readonly AttributeSpec[];
  events: readonly string[];
  cards: { sidebar: readonly SidebarCardSpec[]; messenger: readonly MessengerCardSpec[] };
  webhooks: readonly WebhookSpec[];
  jobs: Readonly<Record<string, AppJobHandler>>;
  /** Batch runners for some of `jobs`, by the same name. */
  batches?: Readonly<Record<string, AppBatchJob>>;
  tools: readonly ToolSpec[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each action keeps its own input type
  actions?: Readonly<Record<string, ActionSpec<any>>>;
  views?: Readonly<Record<string, ViewSpec>>;
  onInstall?(host: AppHost): Promise<void>;
  onUninstall?(host: AppHost, opts: { keepData: boolean }): Promise<void>;
  /** After an admin saved new settings (both parsed by `settings`): e.g. work to start when a switch turns on. */
  onSettingsChange?(host: AppHost, change: { before: unknown; after: unknown }): Promise<void>;
}

export function defineApp<S extends z.ZodType>(manifest: AppManifest<S>): AppManifest<S> {
  return manifest;
}

export interface StoredRecord<T> {
  key: string;
  data: T;
  version: number;
  deleted: boolean;
  updatedAt: number;
}

/** A read to repeat cheaply (`AppHost.recordVersions`): one record by key, or an index value's live records. */
export type RecordProbe =
  | { collection: string; key: string }
  | { collection: string; index: 'a' | 'b'; value: string; limit: number };

/** A record as a probe sees it: never its data. */
export interface RecordVersion {
  key: string;
  version: number;
  deleted: boolean;
}

/**
 * An app's own documents, per workspace (apps write no SQL). `put` keeps the newest version: a write with an older
 * version than the stored one does nothing, and `remove` leaves a tombstone so a late older write cannot bring the
 * record back. Two optional indexed fields (`a`, `b`) make lookups cheap (e.g. by contact id, by email).
 */
export interface RecordCollection<T> {
  /** The collection's name, as `records(name)` was given it. */
  readonly name: string;
  get(key: string): Promise<StoredRecord<T> | undefined>;
  put(
    key: string,
    data: T,
    opts?: { version?: number; a?: string | null; b?: string | null },
  ): Promise<boolean>;
  remove(key: string, opts?: { version?: number }): Promise<boolean>;
  /** `put` for many distinct keys in one statement, same version rule; returns the keys written. */
  putMany(
    records: readonly { key: string; data: T; version?: number; a?: string | null; b?: string | null }[],
  ): Promise<string[]>;
  /** The records stored under these keys (tombstones included), in no particular order. */
  getMany(keys: readonly string[]): Promise<StoredRecord<T>[]>;
  /** How many live records hold each value of the index (values with none are absent from the map). */
  countMany(index: 'a' | 'b', values: readonly string[]): Promise<Map<string, number>>;
  /** Live records whose index equals any of the values, by key. */
  findMany(index: 'a' | 'b', values: readonly string[]): Promise<StoredRecord<T>[]>;
  find(index: 'a' | 'b', value: string, opts?: { limit?: number }): Promise<StoredRecord<T>[]>;
  list(opts?: { after?: string; limit?: number }): Promise<StoredRecord<T>[]>;
  /**
   * Live records, by key, under whose key the collection `other` holds no live record (e.g. customers without a
   * link): only those whose key starts with `prefix`, and whose index `indexed` is set, if given.
   */
  listWithout(
    other: string,
    opts?: { prefix?: string; indexed?: 'a' | 'b'; after?: string; limit?: number },
  ): Promise<StoredRecord<T>[]>;
  count(): Promise<number>;
  /**
   * Deletes, for good, every record whose key starts with `prefix` (not empty), tombstones included: data the app
   * must no longer hold (a disconnected account's). Returns how many went.
   */
  purge(prefix: string): Promise<number>;
}

/** One bucket of a request budget (`AppHost.budget`): its pace, and how many requests may go at once. */
export interface BudgetBucket {
  /** Names the bucket within the app and workspace (or the app, `acrossWorkspaces`): e.g. an account and endpoint. */
  key: string;
  perSecond: number;
  /** Requests that may go at once after a pause; 1 (the default) keeps strictly to the pace. */
  burst?: number;
}

/** A timeline entry an app records (`AppHost.timeline`): a named, dated fact on a contact. */
export interface TimelineEventInput {
  /** One of the manifest's `events`. */
  name: string;
  createdAt: Date;
  metadata: Record<string, unknown>;
  /** Within the app: the same key is one entry however often it is recorded. */
  idempotencyKey: string;
}

export interface AppHost {
  readonly workspaceId: string;
  readonly appId: string;
  settings<T = unknown>(): Promise<T>;
  secret(name: string): Promise<string | undefined>;
  /**
   * What each probe reads now, as `get` (tombstones included) and `find` (live records by key, up to the limit)
   * would, in one statement and without the records' data: for checking that reads made earlier still hold.
   */
  recordVersions(probes: readonly RecordProbe[]): Promise<RecordVersion[][]>;
  /** The records each probe reads (as `get` and `find` would), for many probes of any collections at once. */
  readRecords(probes: readonly RecordProbe[]): Promise<StoredRecord<unknown>[][]>;
  setSecret(name: string, value: string): Promise<void>;
  contacts: {
    get(id: string): Promise<HostContact | undefined>;
    /**
     * Which of these contact ids exist now, in one statement. A contact can be deleted (by a teammate, a script, a
     * merge) at any time and the platform does not tell apps: an app that keeps contact ids checks them before it
     * relies on them (e.g. before recording timeline entries, which fail for a deleted contact).
     */
    existing(ids: readonly string[]): Promise<Set<string>>;
    findByEmail(email: string): Promise<HostContact[]>;
    findByExternalId(externalId: string): Promise<HostContact | undefined>;
    /** `findByEmail` and `findByExternalId` for many values at once (a backfill page). */
    findByEmails(emails: readonly string[]): Promise<HostContact[]>;
    findByExternalIds(externalIds: readonly string[]): Promise<HostContact[]>;
    create(input: {
      role: 'user' | 'lead';
      email?: string;
      external_id?: string;
      name?: string;
    }): Promise<HostContact>;
    /**
     * Creates user contacts identified by email (with this app's attributes), in one statement; answers in input
     * order. An address that a user contact already holds, or that another writer creates at the same moment, is
     * not created again: its answer is that contact with `created: false` (the attributes were not written).
     */
    createUsers(
      inputs: readonly { email: string; name?: string; attributes?: Record<string, AttributeValue | null> }[],
    ): Promise<(HostContact & { created: boolean })[]>;
    /** Sets this app's attributes; `null` removes a value. Only attributes the app declared may be written. */
    setAttributes(contactId: string, values: Record<string, AttributeValue | null>): Promise<void>;
    /** `setAttributes` for many contacts in one statement. */
    setAttributesMany(
      updates: readonly { contactId: string; values: Record<string, AttributeValue | null> }[],
    ): Promise<void>;
  };
  timeline: {
    /**
     * Records once per idempotency key, whatever the number of calls. Returns false for a repeat. A contact that
     * does not exist (deleted) makes it fail.
     */
    record(contactId: string, event: TimelineEventInput): Promise<boolean>;
    /**
     * `record` for many entries in one statement (a page of imported history), with the same rule: one entry per
     * idempotency key, whether a key is repeated within the call, was recorded before, or is recorded by another
     * caller at the same moment. Returns how many entries were new. It fails as a whole, recording nothing, if
     * one entry would make `record` fail (an event the app did not declare, a contact that does not exist).
     */
    recordMany(entries: readonly { contactId: string; event: TimelineEventInput }[]): Promise<number>;
  };
  conversations: {
    addCard(conversationId: string, card: { type: string; data: unknown; text: string }): Promise<void>;
    addNote(conversationId: string, body: string): Promise<void>;
  };
  jobs: {
    enqueue(
      name: string,
      payload: unknown,
      opts?: { runAt?: Date; dedupeKey?: string; releaseKeyAfterMs?: number; maxAttempts?: number },
    ): Promise<{ id: number; created: boolean }>;
  };
  records<T = unknown>(collection: string): RecordCollection<T>;
  /**
   * Request budgets shared by every Settle process: what an app calling a rate-limited API paces itself with.
   * `reserve` takes the next slot free in all the buckets at once and resolves to the milliseconds to wait before
   * sending (0: now); the slot is taken whether or not the request is then sent. Buckets belong to the app and the
   * workspace, unless `acrossWorkspaces`: then every workspace's calls with those keys share them (an outside
   * limit that follows the outside account, such as Stripe's per account, whichever workspace connected it).
   */
  budget: {
    reserve(buckets: readonly BudgetBucket[], opts?: { acrossWorkspaces?: boolean }): Promise<number>;
  };
  webhooks: {
    /** A new public URL for this app in this workspace (e.g. one per Stripe connection). */
    createEndpoint(): Promise<{ id: string; url: string }>;
    deleteEndpoint(id: string): Promise<void>;
  };
  log: {
    info(msg: string, data?: Record<string, unknown>): void;
    warn(msg: string, data?: Record<string, unknown>): void;
    error(msg: string, data?: Record<string, unknown>): void;
  };
}
