/**
 * Which of a workspace's saved queries one contact matches, in one statement: each query compiles to the same
 * WHERE clause a search uses (`liveContactWhere`), and the clauses become the elements of a boolean array evaluated
 * on that contact's row alone. The cost is one primary-key lookup and a few expressions per query, whatever the
 * size of the workspace or of the segments; no contact set is ever read. The statement answers no row when the
 * contact does not exist.
 */
import { AppError } from '../../shared/errors.ts';
import { compileNode, liveContactWhere, Params, type AttributeTypes, type PageQuery } from './compiler.ts';
import type { QueryNode } from './schemas.ts';

/**
 * Parameters per statement. The wire protocol allows 65,535; a workspace whose segments need more (thousands of
 * filters in all) gets one statement per slice of its segments instead of a failed call.
 */
export const MAX_MEMBERSHIP_PARAMS = 30_000;

export interface MembershipStatement extends PageQuery {
  /** The queries' keys in the order of the statement's `hits` array. */
  keys: string[];
}

export interface MembershipPlan {
  /** At least one, so that a contact is looked up even when there is no query to test. */
  statements: MembershipStatement[];
  /** Queries that no longer compile (an attribute deleted or retyped since they were saved): not tested. */
  failed: { key: string; error: AppError }[];
}

export function membershipStatements(
  workspaceId: string,
  contactId: string,
  queries: readonly { key: string; node: QueryNode }[],
  types: AttributeTypes,
  maxParams = MAX_MEMBERSHIP_PARAMS,
): MembershipPlan {
  const statements: MembershipStatement[] = [];
  const failed: MembershipPlan['failed'] = [];
  let params = new Params();
  let hits: string[] = [];
  let keys: string[] = [];
  const start = () => {
    params = new Params();
    params.add(workspaceId); // $1, which liveContactWhere refers to
    params.add(contactId);
    hits = [];
    keys = [];
  };
  const flush = () => {
    // `IS TRUE`: a condition on a missing value is NULL, which means "not a member", as in a search.
    const array = hits.length ? `ARRAY[${hits.join(', ')}]` : 'ARRAY[]::boolean[]';
    statements.push({
      sql: `SELECT ${array} AS hits FROM contacts WHERE workspace_id = $1 AND id = $2`,
      params: params.values,
      keys,
    });
  };
  start();
  for (const q of queries) {
    const mark = params.values.length;
    let condition: string;
    try {
      condition = compileNode(q.node, types, params, ['query']);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      params.truncate(mark);
      failed.push({ key: q.key, error: err });
      continue;
    }
    if (params.values.length > maxParams && keys.length > 0) {
      params.truncate(mark);
      flush();
      start();
      // Compiled once already, so it compiles again.
      condition = compileNode(q.node, types, params, ['query']);
    }
    hits.push(`(${liveContactWhere(condition)}) IS TRUE`);
    keys.push(q.key);
  }
  flush();
  return { statements, failed };
}
