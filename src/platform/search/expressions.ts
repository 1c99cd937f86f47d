/**
 * SQL expressions for searchable values. The compiler and the index builder both use these, so a query's
 * expression and the expression index it should use are identical once PostgreSQL folds the key parameter
 * into a constant (it does for the one-shot prepared statements both drivers send).
 */
export type AttributeType = 'string' | 'number' | 'boolean' | 'date';

/**
 * The typed value of one custom attribute, NULL when the contact lacks it. The jsonb_typeof guard keeps the
 * cast from failing: an index covers every workspace, and another workspace may give the same name another type.
 */
export function customValueSql(type: AttributeType, keySql: string): string {
  const get = `custom_attributes -> ${keySql}`;
  switch (type) {
    case 'number':
    case 'date':
      return `(CASE WHEN jsonb_typeof(${get}) = 'number' THEN (custom_attributes ->> ${keySql})::numeric END)`;
    case 'string':
      return `(CASE WHEN jsonb_typeof(${get}) = 'string' THEN custom_attributes ->> ${keySql} END)`;
    case 'boolean':
      return `(CASE WHEN jsonb_typeof(${get}) = 'boolean' THEN (${get})::boolean END)`;
  }
}

export interface IndexSpec {
  /** Stable for an attribute name and type class, so every workspace shares it. */
  suffix: string;
  /** Column list with `%1$L` where the attribute name goes (filled in by PostgreSQL's format()). */
  columns: string;
}

/** Which indexes an attribute of this type gets (see docs/search.md, "Indexes"). */
export function attributeIndexSpecs(type: AttributeType): IndexSpec[] {
  const value = customValueSql(type, '%1$L');
  switch (type) {
    case 'number':
    case 'date':
      // Both types store JSON numbers, so they share one index per name.
      return [{ suffix: 'n', columns: `workspace_id, ${value}, id` }];
    case 'boolean':
      return [{ suffix: 'b', columns: `workspace_id, ${value}, id` }];
    case 'string':
      return [
        // Equality, IN and sorting (byte order, the same on every database).
        { suffix: 's', columns: `workspace_id, ${value} COLLATE "C", id` },
        // Case-insensitive prefix (^).
        { suffix: 'l', columns: `workspace_id, lower(${value}) text_pattern_ops` },
      ];
  }
}
