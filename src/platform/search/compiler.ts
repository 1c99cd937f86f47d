/**
 * Compiles a validated search query into a parameterised WHERE clause and keyset-paginated page queries.
 * User values only ever travel as parameters; the SQL text is built from fixed fragments.
 */
import { formatPath } from '../../server/route.ts';
import { searchError } from './errors.ts';
import { customValueSql, type AttributeType } from './expressions.ts';
import {
  CUSTOM_PREFIX,
  isGroup,
  type Filter,
  type QueryNode,
  type Sort,
  type StandardField,
} from './schemas.ts';

export type AttributeTypes = ReadonlyMap<string, AttributeType>;
type Path = (string | number)[];

/** Dates are unix seconds between years 1 and 9999, which every driver and PostgreSQL can represent. */
export const MIN_DATE = -62135596800;
export const MAX_DATE = 253402300799;

export class Params {
  readonly values: unknown[] = [];
  add(v: unknown): string {
    this.values.push(v);
    return `$${this.values.length}`;
  }
  /** Drops the parameters added after `length`: a failed compile must leave none unused (each is typed by use). */
  truncate(length: number): void {
    this.values.length = length;
  }
}

/** How the contacts module stores email_normalized; search normalises values the same way. */
export function normalizeEmail(s: string): string {
  return s.normalize('NFC').trim().toLowerCase();
}

interface FieldSql {
  type: AttributeType;
  /** The typed value, NULL when the contact lacks the field. */
  value: string;
  /** A timestamptz column: compared through to_timestamp and the floor-to-seconds rule. */
  timestamp: boolean;
  /** Text ops and equality use the stored lower-cased email and values normalised in JS. */
  email: boolean;
  /** For sorting and keyset comparison. */
  sortKey: string;
  sortType: 'text' | 'numeric' | 'timestamptz' | 'boolean';
  nullable: boolean;
}

const STANDARD: Record<StandardField, Omit<FieldSql, 'timestamp' | 'email'>> = {
  role: { type: 'string', value: 'role', sortKey: 'role COLLATE "C"', sortType: 'text', nullable: false },
  email: {
    type: 'string',
    value: 'email_normalized',
    sortKey: 'email_normalized COLLATE "C"',
    sortType: 'text',
    nullable: true,
  },
  name: { type: 'string', value: 'name', sortKey: 'name COLLATE "C"', sortType: 'text', nullable: true },
  external_id: {
    type: 'string',
    value: 'external_id',
    sortKey: 'external_id COLLATE "C"',
    sortType: 'text',
    nullable: true,
  },
  created_at: {
    type: 'date',
    value: 'created_at',
    sortKey: 'created_at',
    sortType: 'timestamptz',
    nullable: false,
  },
  updated_at: {
    type: 'date',
    value: 'updated_at',
    sortKey: 'updated_at',
    sortType: 'timestamptz',
    nullable: false,
  },
  last_seen_at: {
    type: 'date',
    value: 'last_seen_at',
    sortKey: 'last_seen_at',
    sortType: 'timestamptz',
    nullable: true,
  },
};

/** The custom attribute names a query or sort refers to (so the caller loads only what it needs). */
export function customNames(node: QueryNode | undefined, sort?: Sort): string[] {
  const out = new Set<string>();
  const visit = (n: QueryNode): void => {
    if (isGroup(n)) n.value.forEach(visit);
    else if (n.field.startsWith(CUSTOM_PREFIX)) out.add(n.field.slice(CUSTOM_PREFIX.length));
  };
  if (node) visit(node);
  if (sort?.field.startsWith(CUSTOM_PREFIX)) out.add(sort.field.slice(CUSTOM_PREFIX.length));
  return [...out];
}

function resolveField(name: string, types: AttributeTypes, params: Params, path: Path): FieldSql {
  if (name.startsWith(CUSTOM_PREFIX)) {
    const attr = name.slice(CUSTOM_PREFIX.length);
    const type = types.get(attr);
    if (!type) {
      throw searchError(
        'unknown_attribute',
        `${formatPath(path)}: unknown custom attribute ${JSON.stringify(attr)}`,
        formatPath(path),
      );
    }
    const value = customValueSql(type, `${params.add(attr)}::text`);
    const string = type === 'string';
    return {
      type,
      value,
      timestamp: false,
      email: false,
      sortKey: string ? `${value} COLLATE "C"` : value,
      sortType: string ? 'text' : type === 'boolean' ? 'boolean' : 'numeric',
      nullable: true,
    };
  }
  const std = STANDARD[name as StandardField];
  return { ...std, timestamp: std.sortType === 'timestamptz', email: name === 'email' };
}

function fail(path: Path, message: string): never {
  const p = formatPath(path);
  throw searchError('invalid_request', `${p}: ${message}`, p);
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

/** Checks one value against the field's type and returns what goes into the parameter. */
function checkValue(f: FieldSql, fieldName: string, v: unknown, path: Path): string | number | boolean {
  const want = f.type === 'date' ? 'number' : f.type;
  if (typeof v !== want) {
    const what = f.type === 'date' ? 'a date in unix seconds' : `a ${f.type}`;
    fail(path, `${fieldName} is a ${f.type} field: expected ${what}, got ${typeName(v)}`);
  }
  if (f.type === 'date') {
    const n = v as number;
    if (!Number.isInteger(n) || n < MIN_DATE || n > MAX_DATE) {
      fail(path, `${fieldName} is a date: expected whole unix seconds between ${MIN_DATE} and ${MAX_DATE}`);
    }
  }
  if (f.email) return normalizeEmail(v as string);
  return v as string | number | boolean;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const notTrue = (sql: string): string => `((${sql}) IS NOT TRUE)`;

function arrayType(f: FieldSql): string {
  return f.type === 'string' ? 'text[]' : f.type === 'boolean' ? 'boolean[]' : 'numeric[]';
}

/** The positive comparison `field = v`; NULL (treated as false) when the contact lacks the field. */
function equalsSql(f: FieldSql, v: string | number | boolean, params: Params): string {
  if (f.timestamp) {
    // A date equals v when it falls within second v: the API shows dates floored to seconds.
    const n = v as number;
    return `(${f.value} >= to_timestamp(${params.add(n)}::float8) AND ${f.value} < to_timestamp(${params.add(n + 1)}::float8))`;
  }
  const lhs = f.type === 'string' && !f.email ? f.sortKey : f.value;
  return `${lhs} = ${params.add(v)}`;
}

function inSql(f: FieldSql, values: (string | number | boolean)[], params: Params): string {
  if (f.timestamp) {
    if (values.length === 0) return 'FALSE';
    return `(${values.map((v) => equalsSql(f, v, params)).join(' OR ')})`;
  }
  // An empty array still goes through ANY: every parameter, the attribute name included, must appear in the SQL.
  const lhs = f.type === 'string' && !f.email ? f.sortKey : f.value;
  return `${lhs} = ANY(${params.add(values)}::${arrayType(f)})`;
}

function rangeSql(f: FieldSql, op: '<' | '>' | '<=' | '>=', v: number, params: Params): string {
  if (!f.timestamp) return `${f.value} ${op} ${params.add(v)}::numeric`;
  // floor(t) < v ⇔ t < v; floor(t) <= v ⇔ t < v+1; floor(t) > v ⇔ t >= v+1; floor(t) >= v ⇔ t >= v.
  const bound = op === '<=' || op === '>' ? v + 1 : v;
  const sqlOp = op === '<' || op === '<=' ? '<' : '>=';
  return `${f.value} ${sqlOp} to_timestamp(${params.add(bound)}::float8)`;
}

function likeSql(f: FieldSql, op: '~' | '!~' | '^' | '$', v: string, params: Params): string {
  // The stored email is lower-cased by the contacts module, so the pattern is lower-cased the same way.
  const text = f.email ? v.normalize('NFC').toLowerCase() : v;
  const core = escapeLike(text);
  const pattern = op === '^' ? `${core}%` : op === '$' ? `%${core}` : `%${core}%`;
  const like = f.email
    ? `${f.value} LIKE ${params.add(pattern)}`
    : `lower(${f.value}) LIKE lower(${params.add(pattern)}::text)`;
  return op === '!~' ? notTrue(like) : like;
}

export function compileFilter(n: Filter, types: AttributeTypes, params: Params, path: Path): string {
  const f = resolveField(n.field, types, params, [...path, 'field']);
  const valuePath = [...path, 'value'];
  const opPath = [...path, 'operator'];
  switch (n.operator) {
    case '=':
    case '!=': {
      if (n.value === null) return n.operator === '=' ? `${f.value} IS NULL` : `${f.value} IS NOT NULL`;
      const eq = equalsSql(f, checkValue(f, n.field, n.value, valuePath), params);
      return n.operator === '=' ? eq : notTrue(eq);
    }
    case 'IN':
    case 'NIN': {
      const values = n.value.map((v, i) => checkValue(f, n.field, v, [...valuePath, i]));
      const sql = inSql(f, values, params);
      return n.operator === 'IN' ? sql : notTrue(sql);
    }
    case '<':
    case '>':
    case '<=':
    case '>=':
      if (f.type !== 'number' && f.type !== 'date') {
        fail(opPath, `${n.operator} compares numbers and dates; ${n.field} is a ${f.type} field`);
      }
      return rangeSql(f, n.operator, checkValue(f, n.field, n.value, valuePath) as number, params);
    case '~':
    case '!~':
    case '^':
    case '$':
      if (f.type !== 'string') fail(opPath, `${n.operator} matches text; ${n.field} is a ${f.type} field`);
      return likeSql(f, n.operator, checkValue(f, n.field, n.value, valuePath) as string, params);
  }
}

/** The query's own condition, without the workspace and live-contact terms `liveContactWhere` adds. */
export function compileNode(n: QueryNode, types: AttributeTypes, params: Params, path: Path): string {
  if (!isGroup(n)) return compileFilter(n, types, params, path);
  if (n.value.length === 0) return n.operator === 'AND' ? 'TRUE' : 'FALSE';
  const parts = n.value.map((c, i) => `(${compileNode(c, types, params, [...path, 'value', i])})`);
  return parts.join(n.operator === 'AND' ? ' AND ' : ' OR ');
}

/**
 * A condition on the columns of `contacts` (unqualified) with its parameters: `$1` is the workspace id and the
 * condition includes `workspace_id = $1`, so a statement built on it stays within the workspace. A caller adds its
 * own parameters after these (`$${params.length + 1}` onwards).
 */
export interface ContactFilter {
  workspaceId: string;
  where: string;
  params: unknown[];
}

export interface CompiledSearch {
  workspaceId: string;
  /** The validated query: counts compile it again into set operations (count-compiler.ts). */
  node: QueryNode;
  /** `$1` is the workspace id. */
  where: string;
  params: unknown[];
  sort: Sort;
  types: AttributeTypes;
}

/**
 * The WHERE clause of every search: the workspace (`$1`), live contacts only, and the query's condition. Archived
 * contacts are in no search result, count or segment.
 */
export function liveContactWhere(condition: string): string {
  return `workspace_id = $1 AND archived_at IS NULL AND (${condition})`;
}

/** `rootPath` prefixes error paths: `query` for a request body. */
export function compileSearch(
  workspaceId: string,
  node: QueryNode,
  sort: Sort,
  types: AttributeTypes,
  rootPath: Path = ['query'],
): CompiledSearch {
  const params = new Params();
  params.add(workspaceId);
  const cond = compileNode(node, types, params, rootPath);
  // Resolved now so an unknown sort attribute fails before any query runs.
  resolveField(sort.field, types, new Params(), ['sort', 'field']);
  return {
    workspaceId,
    node,
    where: liveContactWhere(cond),
    params: params.values,
    sort,
    types,
  };
}

export const CONTACT_COLUMNS =
  'workspace_id, id, role, external_id, email, email_normalized, name, phone, custom_attributes, created_at, ' +
  'updated_at, last_seen_at, archived_at, avatar, signed_up_at, owner_id, unsubscribed_from_emails';

export interface Keyset {
  /** The sort key of the last row seen, as PostgreSQL prints it; null when that row lacked the field. */
  value: string | null;
  id: string;
}

export interface PageQuery {
  sql: string;
  params: unknown[];
}

/**
 * The queries that produce one page, run in order until `limit` rows are found. Missing values sort last in
 * both directions, which no single btree order gives, so a nullable key is read in two parts: the rows that
 * have it (index order), then the rows that lack it (by id). Each part walks an index and stops at the limit.
 */
export function buildPageQueries(c: CompiledSearch, after: Keyset | null, limit: number): PageQuery[] {
  const desc = c.sort.order === 'descending';
  const dir = desc ? 'DESC' : 'ASC';
  const cmp = desc ? '<' : '>';
  const make = (part: 'having' | 'lacking' | 'all'): PageQuery => {
    const params = new Params();
    c.params.forEach((v) => params.add(v));
    const f = resolveField(c.sort.field, c.types, params, ['sort', 'field']);
    const conds = [c.where];
    if (part === 'having') conds.push(`${f.sortKey} IS NOT NULL`);
    if (part === 'lacking') conds.push(`${f.sortKey} IS NULL`);
    if (after && part !== 'lacking' && after.value !== null) {
      conds.push(
        `(${f.sortKey}, id) ${cmp} (${params.add(after.value)}::${f.sortType}, ${params.add(after.id)}::text)`,
      );
    }
    if (after && part === 'lacking' && after.value === null)
      conds.push(`id ${cmp} ${params.add(after.id)}::text`);
    const order = part === 'lacking' ? `id ${dir}` : `${f.sortKey} ${dir}, id ${dir}`;
    return {
      sql: `SELECT ${CONTACT_COLUMNS}, (${f.sortKey})::text AS sort_key FROM contacts WHERE ${conds.join(' AND ')} ORDER BY ${order} LIMIT ${params.add(limit)}::int`,
      params: params.values,
    };
  };
  const probe = resolveField(c.sort.field, c.types, new Params(), ['sort', 'field']);
  if (!probe.nullable) return [make('all')];
  if (after && after.value === null) return [make('lacking')];
  return [make('having'), make('lacking')];
}
