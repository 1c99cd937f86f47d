import type { z } from 'zod';
import type { Queryable } from '../../db/client.ts';
import { validationError } from '../../server/route.ts';
import { AppError } from '../../shared/errors.ts';
import { newId } from '../../shared/ids.ts';
import { compileSearch, customNames, type CompiledSearch, type ContactFilter } from './compiler.ts';
import { serializeContacts, type Contact } from '../contacts/service.ts';
import type { ContactRow as FullContactRow } from '../contacts/repository.ts';
import { contactError } from '../contacts/errors.ts';
import { decodeCursor, encodeCursor } from './cursor.ts';
import { searchError } from './errors.ts';
import { membershipStatements } from './membership-compiler.ts';
import { searchRepository, segmentRepository, type SegmentRow } from './repository.ts';
import {
  createSegmentBody,
  DEFAULT_PER_PAGE,
  DEFAULT_SORT,
  searchBody,
  updateSegmentBody,
  type Pagination,
  type QueryNode,
  type SearchBody,
  type Sort,
} from './schemas.ts';

export interface ContactPage {
  type: 'list';
  data: Contact[];
  total_count: number;
  pages: {
    type: 'pages';
    page: number;
    per_page: number;
    total_pages: number;
    next: { per_page: number; starting_after: string } | null;
  };
}

/** Parses with a zod schema and reports the first problem the way the router does (path named). */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw validationError(parsed.error, 'body');
  return parsed.data;
}

async function compile(
  db: Queryable,
  workspaceId: string,
  node: QueryNode,
  sort: Sort,
  rootPath: (string | number)[],
): Promise<CompiledSearch> {
  const types = await searchRepository.attributeTypes(db, workspaceId, customNames(node, sort));
  return compileSearch(workspaceId, node, sort, types, rootPath);
}

async function runPage(
  db: Queryable,
  c: CompiledSearch,
  pagination: Pagination,
  cursorPath: string,
): Promise<ContactPage> {
  const perPage = pagination.per_page;
  const cursor = pagination.starting_after
    ? decodeCursor(c.sort, pagination.starting_after, cursorPath)
    : null;
  const [total, rows] = await Promise.all([
    searchRepository.count(db, c),
    searchRepository.page(db, c, cursor, perPage + 1).catch((err: unknown) => {
      // A forged cursor whose value does not parse as the sort key's type.
      const code = (err as { code?: unknown }).code;
      if (cursor && typeof code === 'string' && code.startsWith('22')) {
        throw searchError('invalid_cursor', `${cursorPath}: not a cursor returned by this API`, cursorPath);
      }
      throw err;
    }),
  ]);
  const page = cursor?.page ?? 1;
  const shown = rows.slice(0, perPage);
  const last = shown[shown.length - 1];
  const next =
    rows.length > perPage && last
      ? {
          per_page: perPage,
          starting_after: encodeCursor(c.sort, { page: page + 1, value: last.sort_key, id: last.id }),
        }
      : null;
  return {
    type: 'list',
    data: await serializeContacts(db, c.workspaceId, shown as unknown as FullContactRow[]),
    total_count: total,
    pages: { type: 'pages', page, per_page: perPage, total_pages: Math.ceil(total / perPage), next },
  };
}

/** POST /api/contacts/search. Accepts the raw body or one already parsed by the router. */
export async function searchContacts(
  db: Queryable,
  workspaceId: string,
  body: unknown,
): Promise<ContactPage> {
  const b: SearchBody = parseInput(searchBody, body);
  const c = await compile(db, workspaceId, b.query, b.sort, ['query']);
  return runPage(db, c, b.pagination, 'pagination.starting_after');
}

/** The number of contacts a query matches now. */
export async function countContacts(db: Queryable, workspaceId: string, node: QueryNode): Promise<number> {
  return searchRepository.count(db, await compile(db, workspaceId, node, DEFAULT_SORT, ['query']));
}

export interface Segment {
  type: 'segment';
  id: string;
  name: string;
  query: QueryNode;
  /** Intercom's field; a Settle segment is not limited to users or leads (its query may filter on `role`). */
  person_type: 'user';
  /** Null when the query no longer compiles (e.g. an attribute it uses was deleted); see `error`. Absent when not asked for. */
  count?: number | null;
  error?: { code: string; message: string; path?: string };
  created_at: number;
  updated_at: number;
}

async function toSegment(db: Queryable, row: SegmentRow, count = true): Promise<Segment> {
  const base = {
    type: 'segment' as const,
    id: row.id,
    name: row.name,
    query: row.query,
    person_type: 'user' as const,
    created_at: Math.floor(row.created_at.getTime() / 1000),
    updated_at: Math.floor(row.updated_at.getTime() / 1000),
  };
  if (!count) return base;
  try {
    return { ...base, count: await countContacts(db, row.workspace_id, row.query) };
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    return { ...base, count: null, error: { code: err.code, message: err.message, path: err.path } };
  }
}

function notFound(id: string): AppError {
  return searchError('segment_not_found', `no segment ${id}`, 'id');
}

/** Segments counted at once on PostgreSQL: each count is one statement, and the pool has ten connections. */
const COUNTS_AT_ONCE = 4;

export async function listSegments(
  db: Queryable,
  workspaceId: string,
  opts: { count?: boolean } = {},
): Promise<Segment[]> {
  const rows = await segmentRepository.list(db, workspaceId);
  const out: Segment[] = new Array<Segment>(rows.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < rows.length; i = next++)
      out[i] = await toSegment(db, rows[i]!, opts.count ?? true);
  };
  await Promise.all(Array.from({ length: Math.min(COUNTS_AT_ONCE, rows.length) }, lane));
  return out;
}

export async function getSegment(db: Queryable, workspaceId: string, id: string): Promise<Segment> {
  const row = await segmentRepository.get(db, workspaceId, id);
  if (!row) throw notFound(id);
  return toSegment(db, row);
}

async function checkName(db: Queryable, workspaceId: string, name: string, exceptId?: string): Promise<void> {
  if (await segmentRepository.nameTaken(db, workspaceId, name, exceptId)) {
    throw searchError('segment_name_taken', `name: a segment named ${JSON.stringify(name)} exists`, 'name');
  }
}

export async function createSegment(db: Queryable, workspaceId: string, body: unknown): Promise<Segment> {
  const b = parseInput(createSegmentBody, body);
  // Compiling checks the query's types against the attribute definitions, as a search would.
  await compile(db, workspaceId, b.query, DEFAULT_SORT, ['query']);
  await checkName(db, workspaceId, b.name);
  const id = newId();
  await segmentRepository.insert(db, { workspace_id: workspaceId, id, name: b.name, query: b.query });
  return getSegment(db, workspaceId, id);
}

export async function updateSegment(
  db: Queryable,
  workspaceId: string,
  id: string,
  body: unknown,
): Promise<Segment> {
  const b = parseInput(updateSegmentBody, body);
  if (!(await segmentRepository.get(db, workspaceId, id))) throw notFound(id);
  if (b.query) await compile(db, workspaceId, b.query, DEFAULT_SORT, ['query']);
  if (b.name) await checkName(db, workspaceId, b.name, id);
  await segmentRepository.update(db, workspaceId, id, b);
  return getSegment(db, workspaceId, id);
}

export async function deleteSegment(db: Queryable, workspaceId: string, id: string): Promise<void> {
  if (!(await segmentRepository.delete(db, workspaceId, id))) throw notFound(id);
}

export async function segmentContacts(
  db: Queryable,
  workspaceId: string,
  id: string,
  opts: { per_page?: number; starting_after?: string | undefined; sort?: Sort } = {},
): Promise<ContactPage> {
  const row = await segmentRepository.get(db, workspaceId, id);
  if (!row) throw notFound(id);
  const c = await compile(db, workspaceId, row.query, opts.sort ?? DEFAULT_SORT, ['segment', 'query']);
  return runPage(
    db,
    c,
    { per_page: opts.per_page ?? DEFAULT_PER_PAGE, starting_after: opts.starting_after ?? null },
    'starting_after',
  );
}

/** A segment a contact is in: Settle's segment without the count, plus Intercom's `person_type`. */
export interface AttachedSegment {
  type: 'segment';
  id: string;
  name: string;
  query: QueryNode;
  /** Intercom's segments hold users or leads; Settle's may hold both, and answer "user" (docs/intercom-compat.md). */
  person_type: 'user';
  created_at: number;
  updated_at: number;
}

export interface WarnLog {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/**
 * GET /api/contacts/:id/segments: the workspace's segments the contact matches now, in list order. A segment whose
 * query no longer compiles is left out and logged, as the segment list reports it instead of failing.
 */
export async function contactSegments(
  db: Queryable,
  workspaceId: string,
  contactId: string,
  log: WarnLog,
): Promise<AttachedSegment[]> {
  const rows = await segmentRepository.list(db, workspaceId);
  const names = [...new Set(rows.flatMap((r) => customNames(r.query)))];
  const types = await searchRepository.attributeTypes(db, workspaceId, names);
  const plan = membershipStatements(
    workspaceId,
    contactId,
    rows.map((r) => ({ key: r.id, node: r.query })),
    types,
  );
  const member = await segmentRepository.membership(db, workspaceId, plan.statements);
  if (!member) throw contactError('contact_not_found', `no contact ${contactId}`, 'id');
  for (const { key, error } of plan.failed) {
    log.warn(
      { segment_id: key, code: error.code, path: error.path, reason: error.message },
      "segment left out of a contact's segments: its query no longer compiles",
    );
  }
  return rows
    .filter((r) => member.has(r.id))
    .map((r) => ({
      type: 'segment',
      id: r.id,
      name: r.name,
      query: r.query,
      person_type: 'user',
      created_at: Math.floor(r.created_at.getTime() / 1000),
      updated_at: Math.floor(r.updated_at.getTime() / 1000),
    }));
}

/** A segment's query as stored (to copy it, e.g. onto an outbound message when it is sent). */
export async function segmentQuery(db: Queryable, workspaceId: string, id: string): Promise<QueryNode> {
  const row = await segmentRepository.get(db, workspaceId, id);
  if (!row) throw notFound(id);
  return row.query;
}

/** Segments as an outbound send reads them (outbound/service.ts `SegmentSource`). */
export const segmentSource = {
  query: (db: Queryable, workspaceId: string, id: string) => segmentQuery(db, workspaceId, id),
  filter: (db: Queryable, workspaceId: string, query: unknown) => queryFilter(db, workspaceId, query),
};

/** A stored query, compiled now against the attributes as they are now (400 with a path if it no longer fits). */
export async function queryFilter(
  db: Queryable,
  workspaceId: string,
  query: unknown,
): Promise<ContactFilter> {
  const c = await compile(db, workspaceId, query as QueryNode, DEFAULT_SORT, ['segment', 'query']);
  return { workspaceId, where: c.where, params: c.params };
}
