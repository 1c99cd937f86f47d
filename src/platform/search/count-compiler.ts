/**
 * Compiles a validated query into an exact count that reads narrow id sets instead of contact rows
 * (docs/search.md, "Counts"). Each filter becomes the set of contact ids that match its positive form, read by an
 * index-only scan of contact_attribute_values (custom attributes) or of contacts (standard fields), plus a flag
 * saying whether the filter is that set or its complement among live contacts. Negative operators are exactly
 * complements of positive ones (`!=` of `=`, `NIN` of `IN`, `!~` of `~`, `= null` of `!= null`), so a count
 * never reads the live contacts row by row: groups become INTERSECT / UNION / EXCEPT of the positive sets, and a
 * complemented result is counted as (live contacts) − (set).
 */
import { compileFilter, Params, type CompiledSearch, type PageQuery } from './compiler.ts';
import type { AttributeType } from './expressions.ts';
import { CUSTOM_PREFIX, isGroup, type Filter, type QueryNode } from './schemas.ts';

/** A set of contact ids (SQL yielding one `id` column, no duplicates), or its complement among live contacts. */
interface IdSet {
  sql: string;
  complement: boolean;
  /** Set when the set is "contacts having this attribute with this JSON type": countable from counters. */
  presence?: { key: string; valueType: string };
}

/** contact_search_counts: summed deltas (key '' counts the live contacts). */
const counter = (key: string, valueType: string): string =>
  `(SELECT coalesce(sum(delta), 0) FROM contact_search_counts WHERE workspace_id = $1 AND key = ${key} AND value_type = ${valueType})`;

const EMPTY = 'SELECT id FROM contacts WHERE workspace_id = $1 AND FALSE';

/** The positive filter whose complement is `n`, or `n` itself. */
function positive(n: Filter): { filter: Filter; complement: boolean } {
  switch (n.operator) {
    case '=':
      return n.value === null
        ? { filter: { ...n, operator: '!=' }, complement: true }
        : { filter: n, complement: false };
    case '!=':
      return n.value === null
        ? { filter: n, complement: false }
        : { filter: { ...n, operator: '=' }, complement: true };
    case 'NIN':
      return { filter: { ...n, operator: 'IN' }, complement: true };
    case '!~':
      return { filter: { ...n, operator: '~' }, complement: true };
    default:
      return { filter: n, complement: false };
  }
}

/** The typed column, its cast, and the JSON type stored in it. */
function column(type: AttributeType): { col: string; cast: string; json: string } {
  switch (type) {
    case 'string':
      return { col: 'text_value', cast: 'text', json: 'string' };
    case 'number':
    case 'date':
      return { col: 'num_value', cast: 'numeric', json: 'number' };
    case 'boolean':
      return { col: 'bool_value', cast: 'boolean', json: 'boolean' };
  }
}

/** The condition on contact_attribute_values for a positive filter on a custom attribute; null: not served. */
function attributeCondition(f: Filter, type: AttributeType, params: Params): string | null {
  const { col, cast } = column(type);
  const has = `${col} IS NOT NULL`;
  switch (f.operator) {
    case '!=':
      return has; // positive() leaves only `!= null` here
    case '=':
      return `${has} AND ${col} = ${params.add(f.value)}::${cast}`;
    case 'IN':
      return `${has} AND ${col} = ANY(${params.add(f.value)}::${cast}[])`;
    case '<':
    case '>':
    case '<=':
    case '>=':
      return `${has} AND ${col} ${f.operator} ${params.add(f.value)}::numeric`;
    case '~':
    case '$': {
      // Case folding as the search expressions do it: the database's default collation, not the column's "C".
      const core = f.value.replace(/[\\%_]/g, (c) => `\\${c}`);
      const pattern = f.operator === '$' ? `%${core}` : `%${core}%`;
      return `${has} AND lower(${col} COLLATE "default") LIKE lower(${params.add(pattern)}::text)`;
    }
    default:
      // `^` is a range on the lower() prefix index of contacts: usually selective, cheaper read there.
      return null;
  }
}

function leaf(n: Filter, c: CompiledSearch, params: Params, path: (string | number)[]): IdSet {
  const { filter, complement } = positive(n);
  if (filter.field.startsWith(CUSTOM_PREFIX)) {
    const attr = filter.field.slice(CUSTOM_PREFIX.length);
    const type = c.types.get(attr);
    if (type) {
      const key = params.add(attr);
      const cond = attributeCondition(filter, type, params);
      if (cond !== null) {
        const presence =
          filter.operator === '!=' ? { key: `${key}::text`, valueType: `'${column(type).json}'` } : undefined;
        return {
          sql: `SELECT contact_id AS id FROM contact_attribute_values WHERE workspace_id = $1 AND key = ${key}::text AND ${cond}`,
          complement,
          ...(presence ? { presence } : {}),
        };
      }
      // The key parameter must still appear in the SQL: every parameter is typed from its use.
      return {
        sql: `SELECT id FROM contacts WHERE workspace_id = $1 AND archived_at IS NULL AND ${key}::text IS NOT NULL AND (${compileFilter(filter, c.types, params, path)})`,
        complement,
      };
    }
  }
  return {
    sql: `SELECT id FROM contacts WHERE workspace_id = $1 AND archived_at IS NULL AND (${compileFilter(filter, c.types, params, path)})`,
    complement,
  };
}

const combine = (op: 'INTERSECT' | 'UNION', sets: string[]): string =>
  sets.length === 1 ? sets[0]! : sets.map((s) => `SELECT id FROM (${s}) s`).join(` ${op} `);
const minus = (a: string, b: string): string => `SELECT id FROM (${a}) s EXCEPT SELECT id FROM (${b}) s`;

function node(n: QueryNode, c: CompiledSearch, params: Params, path: (string | number)[]): IdSet {
  if (!isGroup(n)) return leaf(n, c, params, path);
  if (n.value.length === 0) return { sql: EMPTY, complement: n.operator === 'AND' };
  const children = n.value.map((child, i) => node(child, c, params, [...path, 'value', i]));
  // AND: (∩ plain sets) − (∪ complemented ones), or live − (∪ complemented) when no set is plain. OR is the
  // complement of the AND of its children's complements (De Morgan), so the same shape with the flags flipped.
  const flip = n.operator === 'OR';
  const plain = children.filter((s) => s.complement === flip).map((s) => s.sql);
  const other = children.filter((s) => s.complement !== flip).map((s) => s.sql);
  if (plain.length === 0) return { sql: combine('UNION', other), complement: !flip };
  const base = combine('INTERSECT', plain);
  return { sql: other.length === 0 ? base : minus(base, combine('UNION', other)), complement: flip };
}

/** `SELECT … AS n`: the exact number of live contacts in the workspace that match the query. */
export function countQuery(c: CompiledSearch): PageQuery {
  const params = new Params();
  params.add(c.workspaceId);
  const set = node(c.node, c, params, ['query']);
  const counted = set.presence
    ? counter(set.presence.key, set.presence.valueType)
    : `(SELECT count(*) FROM (${set.sql}) s)`;
  const sql = set.complement
    ? `SELECT (${counter("''", "''")} - ${counted})::int AS n`
    : `SELECT ${counted}::int AS n`;
  return { sql, params: params.values };
}
