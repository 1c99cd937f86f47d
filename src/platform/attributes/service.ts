import type { Queryable } from '../../db/client.ts';
import { attributeError } from './errors.ts';
import { attributeRepository, type AttributeDefinitionRow } from './repository.ts';
import {
  MAX_STRING_VALUE_BYTES,
  storedType,
  stringValueFits,
  type AttributeType,
  type AttributeValue,
  type DeclaredType,
} from './schemas.ts';

export interface AttributeDefinition {
  type: 'data_attribute';
  model: 'contact';
  name: string;
  full_name: string;
  data_type: string;
  label: string;
  description: string;
  source: string;
  custom: boolean;
  archived: boolean;
  api_writable: boolean;
  created_at: number;
}

export function toAttributeDefinition(row: AttributeDefinitionRow): AttributeDefinition {
  return {
    type: 'data_attribute',
    model: 'contact',
    name: row.name,
    full_name: `custom_attributes.${row.name}`,
    data_type: row.declared_type ?? (row.type === 'number' ? 'float' : row.type),
    label: row.label,
    description: row.description,
    source: row.source,
    custom: row.source === 'custom',
    archived: row.archived_at !== null,
    // Attributes an app owns are written by that app only (e.g. stripe_* by the Stripe app).
    api_writable: row.source === 'custom',
    created_at: Math.floor(row.created_at.getTime() / 1000),
  };
}

export async function createAttribute(
  db: Queryable,
  workspaceId: string,
  input: {
    name: string;
    type?: AttributeType | undefined;
    data_type?: DeclaredType | undefined;
    label?: string | undefined;
    description?: string | undefined;
  },
  source = 'custom',
): Promise<AttributeDefinitionRow> {
  const declared = input.data_type ?? input.type ?? 'string';
  const type = storedType(declared);
  const existing = await attributeRepository.get(db, workspaceId, input.name);
  if (existing) {
    const app = source !== 'custom';
    if (app && existing.source === source && existing.type === type) return existing;
    if (existing.type !== type) {
      throw attributeError(
        'attribute_type_conflict',
        app
          ? `attribute ${input.name} exists with type ${existing.type}, and the ${source} app needs ${type}`
          : `attribute ${input.name} exists with type ${existing.type}`,
        'name',
      );
    }
    // An app adopts a teammates' attribute of its name and type, values and all: teams moving from Intercom bring
    // the `stripe_*` attributes its Stripe app made, as custom attributes, and the app now keeps them current.
    if (app && existing.source === 'custom') {
      await attributeRepository.adopt(db, {
        workspace_id: workspaceId,
        name: input.name,
        label: input.label ?? existing.label,
        description: input.description ?? existing.description,
        source,
        declared_type: declared === type ? null : declared,
      });
      const row = await attributeRepository.get(db, workspaceId, input.name);
      if (row?.source === source) return row;
    }
    throw attributeError(
      'attribute_exists',
      app
        ? `attribute ${input.name} belongs to the ${existing.source} app`
        : `attribute ${input.name} exists`,
      'name',
    );
  }
  await attributeRepository.insert(db, {
    workspace_id: workspaceId,
    name: input.name,
    type,
    label: input.label ?? input.name,
    description: input.description ?? '',
    source,
    declared_type: declared === type ? null : declared,
  });
  const row = await attributeRepository.get(db, workspaceId, input.name);
  if (!row) throw new Error('attribute definition vanished after insert');
  return row;
}

export type TypedValue = string | number | boolean;

function checkType(
  def: AttributeDefinitionRow,
  value: Exclude<AttributeValue, null>,
  path: string,
): TypedValue {
  const mismatch = () =>
    attributeError(
      'attribute_type_mismatch',
      `${path} must be a ${def.type}${def.type === 'date' ? ' (unix seconds)' : ''}`,
      path,
    );
  switch (def.type) {
    case 'string':
      if (typeof value !== 'string') throw mismatch();
      // Apps write through here without the API's schema, so the limit is checked here too.
      if (!stringValueFits(value)) {
        throw attributeError(
          'attribute_value_too_long',
          `${path} is longer than ${MAX_STRING_VALUE_BYTES} bytes of UTF-8`,
          path,
        );
      }
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw mismatch();
      if (def.declared_type === 'integer' && !Number.isInteger(value)) {
        throw attributeError('attribute_type_mismatch', `${path} must be an integer`, path);
      }
      return value;
    case 'boolean':
      if (typeof value !== 'boolean') throw mismatch();
      return value;
    case 'date':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 253402300799)
        throw mismatch();
      return value;
  }
}

/**
 * Checks values against their definitions. `null` removes a value. Attributes owned by an app are written only
 * by that app (`writer`), so a script cannot overwrite what Stripe says.
 */
export async function validateAttributeValues(
  db: Queryable,
  workspaceId: string,
  values: Record<string, AttributeValue>,
  writer = 'custom',
): Promise<{ set: Record<string, TypedValue>; unset: string[] }> {
  return checkAttributeValues(await attributeDefinitions(db, workspaceId), values, writer);
}

export type AttributeDefinitions = Map<string, Awaited<ReturnType<typeof attributeRepository.list>>[number]>;

/** The workspace's definitions by name, loaded once for many checks (a backfill page). */
export async function attributeDefinitions(
  db: Queryable,
  workspaceId: string,
): Promise<AttributeDefinitions> {
  return new Map((await attributeRepository.list(db, workspaceId)).map((d) => [d.name, d]));
}

export function checkAttributeValues(
  defs: AttributeDefinitions,
  values: Record<string, AttributeValue>,
  writer = 'custom',
): { set: Record<string, TypedValue>; unset: string[] } {
  const set: Record<string, TypedValue> = {};
  const unset: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    const path = `custom_attributes.${name}`;
    const def = defs.get(name);
    if (!def || def.archived_at)
      throw attributeError('unknown_attribute', `${path} is not a defined attribute`, path);
    if (def.source !== 'custom' && def.source !== writer) {
      throw attributeError('attribute_read_only', `${path} is written by the ${def.source} app only`, path);
    }
    if (value === null) unset.push(name);
    else set[name] = checkType(def, value, path);
  }
  return { set, unset };
}
