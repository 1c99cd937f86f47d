// List parameters and the list envelope shared by every `GET /v1/<resource>`.
import { invalid } from './errors.ts';
import { int, obj, str, type Params } from './params.ts';
import type { CreatedFilter, Page } from './store.ts';

export interface ListParams {
  limit: number;
  startingAfter?: string;
  endingBefore?: string;
  created?: CreatedFilter;
}

export function rangeFilter(p: Params, name: string): CreatedFilter | undefined {
  const exact = p[name];
  if (typeof exact === 'string') {
    const n = int(p, name);
    return n === undefined ? undefined : { gte: n, lte: n };
  }
  const o = obj(p, name);
  if (!o) return undefined;
  const f: CreatedFilter = {};
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) {
    const v = int(o, k);
    if (v !== undefined) f[k] = v;
  }
  for (const k of Object.keys(o)) {
    if (!['gt', 'gte', 'lt', 'lte'].includes(k))
      throw invalid(`Received unknown parameter: ${name}[${k}]`, `${name}[${k}]`);
  }
  return f;
}

export function listParams(p: Params): ListParams {
  const limit = int(p, 'limit') ?? 10;
  if (limit < 1 || limit > 100) {
    throw invalid(`Invalid integer: ${limit}. This value must be between 1 and 100.`, 'limit');
  }
  const startingAfter = str(p, 'starting_after');
  const endingBefore = str(p, 'ending_before');
  if (startingAfter && endingBefore) {
    throw invalid(
      'You may only specify one of these parameters: ending_before, starting_after.',
      'ending_before',
    );
  }
  return { limit, startingAfter, endingBefore, created: rangeFilter(p, 'created') };
}

export interface ListEnvelope<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
  url: string;
}

export function envelope<T>(url: string, page: Page<T>): ListEnvelope<T> {
  return { object: 'list', data: page.data, has_more: page.hasMore, url };
}
