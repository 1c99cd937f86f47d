/**
 * The contacts search query (DESIGN.md §4): the single definition shared by the API, the segment store, the UI
 * and the docs (`z.toJSONSchema(searchBody)`). Structure is checked here; types are checked against the
 * workspace's attribute definitions by the compiler, which needs the database.
 */
import { z } from 'zod';
import { MAX_STRING_VALUE_BYTES, stringValueFits } from '../attributes/schemas.ts';

export const MAX_DEPTH = 10;
export const MAX_GROUP_SIZE = 100;
export const MAX_FILTERS = 1000;
export const MAX_IN_VALUES = 1000;
export const MAX_PER_PAGE = 150;
export const DEFAULT_PER_PAGE = 50;

export const STANDARD_FIELDS = [
  'role',
  'email',
  'name',
  'external_id',
  'created_at',
  'updated_at',
  'last_seen_at',
] as const;
export type StandardField = (typeof STANDARD_FIELDS)[number];
export const CUSTOM_PREFIX = 'custom_attributes.';

export function isFieldName(s: string): boolean {
  if ((STANDARD_FIELDS as readonly string[]).includes(s)) return true;
  return (
    s.startsWith(CUSTOM_PREFIX) && s.length > CUSTOM_PREFIX.length && s.length <= CUSTOM_PREFIX.length + 190
  );
}

const field = z
  .string()
  .refine(isFieldName, {
    error: (iss) =>
      `unknown field ${JSON.stringify(iss.input)}: use ${STANDARD_FIELDS.join(', ')} or custom_attributes.NAME`,
  })
  .describe('role, email, name, external_id, created_at, updated_at, last_seen_at or custom_attributes.NAME');

// A filter can name any value an attribute can hold, and nothing longer.
const filterString = z
  .string()
  .refine(stringValueFits, `a string value is at most ${MAX_STRING_VALUE_BYTES} bytes of UTF-8`);
const scalar = z.union([filterString, z.number(), z.boolean()]);

export const equalityFilter = z.strictObject({
  field,
  operator: z.enum(['=', '!=']),
  value: z.union([scalar, z.null()]).describe('null tests for the absence (=) or presence (!=) of the field'),
});
export const inFilter = z.strictObject({
  field,
  operator: z.enum(['IN', 'NIN']),
  value: z.array(scalar).max(MAX_IN_VALUES),
});
export const rangeFilter = z.strictObject({
  field,
  operator: z.enum(['<', '>', '<=', '>=']),
  value: z.number().describe('a number, or a date in unix seconds'),
});
export const textFilter = z.strictObject({
  field,
  operator: z.enum(['~', '!~', '^', '$']),
  value: filterString,
});

export type EqualityFilter = z.infer<typeof equalityFilter>;
export type InFilter = z.infer<typeof inFilter>;
export type RangeFilter = z.infer<typeof rangeFilter>;
export type TextFilter = z.infer<typeof textFilter>;
export type Filter = EqualityFilter | InFilter | RangeFilter | TextFilter;
export interface Group {
  operator: 'AND' | 'OR';
  value: QueryNode[];
}
export type QueryNode = Filter | Group;
export type FilterOperator = Filter['operator'];

export const FILTER_OPERATORS: readonly FilterOperator[] = [
  '=',
  '!=',
  'IN',
  'NIN',
  '<',
  '>',
  '<=',
  '>=',
  '~',
  '!~',
  '^',
  '$',
];

export const group = z.strictObject({
  operator: z.enum(['AND', 'OR']),
  get value(): z.ZodArray<typeof queryNode> {
    return z.array(queryNode).max(MAX_GROUP_SIZE);
  },
});

export const queryNode: z.ZodType<QueryNode> = z.discriminatedUnion(
  'operator',
  [equalityFilter, inFilter, rangeFilter, textFilter, group],
  {
    error: (iss) =>
      iss.code === 'invalid_union'
        ? `unknown operator: use AND, OR (groups) or ${FILTER_OPERATORS.join(', ')} (filters)`
        : undefined,
  },
);

export function isGroup(n: QueryNode): n is Group {
  return n.operator === 'AND' || n.operator === 'OR';
}

/** Depth and size limits, reported at the node that breaks them. */
export const query = queryNode.superRefine((root, ctx) => {
  let filters = 0;
  const walk = (n: QueryNode, path: (string | number)[], depth: number): void => {
    if (!isGroup(n)) {
      filters++;
      if (filters === MAX_FILTERS + 1) {
        ctx.addIssue({ code: 'custom', path, message: `a query holds at most ${MAX_FILTERS} filters` });
      }
      return;
    }
    if (depth > MAX_DEPTH) {
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'operator'],
        message: `groups nest at most ${MAX_DEPTH} levels deep`,
      });
      return;
    }
    n.value.forEach((c, i) => walk(c, [...path, 'value', i], depth + 1));
  };
  walk(root, [], 1);
});

export const sortSchema = z.strictObject({
  field,
  order: z.enum(['ascending', 'descending']).default('descending'),
});
export type Sort = z.infer<typeof sortSchema>;

export const paginationSchema = z.strictObject({
  per_page: z.number().int().min(1).max(MAX_PER_PAGE).default(DEFAULT_PER_PAGE),
  starting_after: z.string().max(2000).nullable().default(null),
});
export type Pagination = z.infer<typeof paginationSchema>;

export const DEFAULT_SORT: Sort = { field: 'created_at', order: 'descending' };

export const searchBody = z.strictObject({
  query,
  pagination: paginationSchema.default({ per_page: DEFAULT_PER_PAGE, starting_after: null }),
  sort: sortSchema.default(DEFAULT_SORT),
});
export type SearchBody = z.infer<typeof searchBody>;

export const segmentName = z.string().trim().min(1).max(200);
export const createSegmentBody = z.strictObject({ name: segmentName, query });
export const updateSegmentBody = z
  .strictObject({ name: segmentName.optional(), query: query.optional() })
  .refine((b) => b.name !== undefined || b.query !== undefined, { error: 'give a name, a query or both' });
export const segmentIdParams = z.strictObject({ id: z.string().min(1).max(64) });
/** Intercom's `include_count`; Settle counts unless told `false` (a count at 1M contacts can take ~0.4 s). */
export const listSegmentsQuery = z.strictObject({ include_count: z.enum(['true', 'false']).optional() });
export const segmentContactsQuery = z.strictObject({
  per_page: z.coerce.number().int().min(1).max(MAX_PER_PAGE).default(DEFAULT_PER_PAGE),
  starting_after: z.string().max(2000).optional(),
  sort_field: field.optional(),
  sort_order: z.enum(['ascending', 'descending']).optional(),
});
