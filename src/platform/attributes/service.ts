import type { Db, Queryable } from '../../db/client.ts';
import { customNames } from '../search/compiler.ts';
import { segmentRepository } from '../search/repository.ts';
import { attributeError } from './errors.ts';
import { attributeRepository, type AttributeDefinitionRow } from './repository.ts';
import { contactRepository } from '../contacts/repository.ts';
import {
  MAX_STRING_VALUE_BYTES,
  storedType,
  stringValueFits,
  type AttributeType,
  type AttributeValue,
  type DeclaredType,
  type UpdateAttributeInput,
} from './schemas.ts';

export interface AttributeDefinition {
  type: 'data_attribute';
  /** The name again: Intercom's `data_attribute_id` (an integer there). */
  id: string;
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
  messenger_writable: false;
  created_at: number;
}

export function toAttributeDefinition(row: AttributeDefinitionRow): AttributeDefinition {
  return {
    type: 'data_attribute',
    id: row.name,
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
    messenger_writable: false,
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
          ? `attribute ${input.name} exists with type ${existing.type}, and the ${source} app needs ${type}: ${conflictAdvice(existing)}`
          : `attribute ${input.name} exists with type ${existing.type}${existing.archived_at ? ' (archived)' : ''}`,
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
        : existing.archived_at
          ? `attribute ${input.name} exists, archived: unarchive it (PUT /api/data_attributes/${input.name} {"archived": false}) or delete it`
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

/** What an admin can do about a definition that keeps an app from installing. */
function conflictAdvice(existing: AttributeDefinitionRow): string {
  const name = existing.name;
  if (existing.source !== 'custom') {
    return `it belongs to the ${existing.source} app (uninstalling that app without keep_data removes it)`;
  }
  const del = `delete it (DELETE /api/data_attributes/${name}), which removes its values from every contact, and install again`;
  return existing.archived_at
    ? `it is a custom attribute, archived: ${del}`
    : `it is a custom attribute: archive it (PUT /api/data_attributes/${name} {"archived": true}), then ${del}`;
}

const notFound = (name: string) =>
  attributeError('attribute_not_found', `no attribute ${name} in this workspace`, 'id');

const ownedByApp = (row: AttributeDefinitionRow, what: string) =>
  attributeError(
    'attribute_read_only',
    `attribute ${row.name} belongs to the ${row.source} app and cannot be ${what}`,
    'id',
  );

/** Intercom's update: label, description and archiving of a teammates' attribute; an app's stay as it made them. */
export async function updateAttribute(
  db: Queryable,
  workspaceId: string,
  name: string,
  input: UpdateAttributeInput,
): Promise<AttributeDefinitionRow> {
  const patch = { label: input.label, description: input.description, archived: input.archived };
  const row = await attributeRepository.update(db, workspaceId, name, patch);
  if (row) return row;
  const existing = await attributeRepository.get(db, workspaceId, name);
  if (!existing) throw notFound(name);
  throw ownedByApp(existing, 'edited or archived');
}

/**
 * Settle's extension: deletes an archived teammates' attribute and its values on every contact. Archived first, so
 * one mistaken call cannot wipe data, and no new values arrive meanwhile (writes refuse archived attributes). The
 * values go in batches of contacts, each committed on its own, so a large workspace's contacts are never all
 * row-locked at once; then one transaction re-checks the definition under its row lock, sweeps what is left and
 * deletes it. A teammate who unarchives it meanwhile gets it back without the values removed so far (the answer
 * says so). The search side tables follow through the triggers on contacts. The expression indexes stay: they are
 * shared by every workspace using the name (search/repository.ts).
 */
export async function deleteAttribute(
  db: Db,
  workspaceId: string,
  name: string,
  opts: { batch?: number } = {},
): Promise<{ contactsUpdated: number }> {
  await checkDeletable(db, workspaceId, name);
  const removed = await contactRepository.removeAttributeKeys(db, workspaceId, [name], opts.batch);
  return db.transaction(async (tx) => {
    const existing = await checkDeletable(tx, workspaceId, name, removed);
    const rest = await attributeRepository.removeValues(tx, workspaceId, existing.name);
    if (!(await attributeRepository.deleteArchived(tx, workspaceId, name))) {
      throw new Error('attribute definition changed under its row lock');
    }
    return { contactsUpdated: removed + rest };
  });
}

/** Why an attribute cannot be deleted now, as an error; its definition (row-locked) otherwise. */
async function checkDeletable(db: Queryable, workspaceId: string, name: string, removedSoFar?: number) {
  const existing = await attributeRepository.getForUpdate(db, workspaceId, name);
  if (!existing) throw notFound(name);
  if (existing.source !== 'custom') {
    throw ownedByApp(existing, 'deleted (uninstalling the app without keep_data removes it)');
  }
  const partly =
    removedSoFar === undefined
      ? ''
      : ` (it changed while its values were being removed: ${removedSoFar} contacts no longer have a value)`;
  if (!existing.archived_at) {
    throw attributeError(
      'attribute_not_archived',
      `attribute ${name} is not archived${partly}: archive it first (PUT /api/data_attributes/${name} {"archived": true}); deleting it then removes its values from every contact`,
      'id',
    );
  }
  // A saved segment filtering on it would fail from then on, and so would outbound messages sent to it.
  const users = (await segmentRepository.list(db, workspaceId)).filter((s) =>
    customNames(s.query).includes(name),
  );
  if (users.length > 0) {
    throw attributeError(
      'attribute_in_use',
      `attribute ${name} is used by the segment${users.length > 1 ? 's' : ''} ${users.map((s) => JSON.stringify(s.name)).join(', ')}${partly}: change or delete ${users.length > 1 ? 'them' : 'it'} first`,
      'id',
    );
  }
  return existing;
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
    if (!def) throw attributeError('unknown_attribute', `${path} is not a defined attribute`, path);
    if (def.archived_at) {
      throw attributeError(
        'unknown_attribute',
        `${path} is archived: unarchive it (PUT /api/data_attributes/${name} {"archived": false}) to write it`,
        path,
      );
    }
    if (def.source !== 'custom' && def.source !== writer) {
      throw attributeError('attribute_read_only', `${path} is written by the ${def.source} app only`, path);
    }
    if (value === null) unset.push(name);
    else set[name] = checkType(def, value, path);
  }
  return { set, unset };
}
