/**
 * Optimistic checking for derived writes. Attributes and links are computed from many records, and two jobs
 * computing them at once can finish in the wrong order: the one that read older data writes last. The record
 * store orders each record by version, but a contact's attributes have no version. So a recompute logs what it
 * read (each record's version, each lookup's answer), writes, then reads it all again: if anything changed
 * meanwhile, another job wrote newer inputs and may already have written its result before ours, so we compute
 * again. The last writer has always checked its inputs after its write, so the final values match the final data.
 */
import type { AppHost, HostContact, RecordCollection, StoredRecord } from '../../app-sdk/index.ts';

const digestRecord = (r: StoredRecord<unknown> | undefined) =>
  r ? `${r.key}@${r.version}${r.deleted ? 'x' : ''}` : '-';
const digestRecords = (rs: StoredRecord<unknown>[]) => rs.map(digestRecord).join(',');
const digestContacts = (cs: (HostContact | undefined)[]) =>
  cs
    .map((c) => c?.id ?? '-')
    .sort()
    .join(',');

export class ReadLog {
  private readonly probes = new Map<string, { again: () => Promise<string>; seen: string }>();

  async read<T>(key: string, fn: () => Promise<T>, digest: (v: T) => string): Promise<T> {
    const v = await fn();
    // The latest answer counts: a read after our own write must not look like someone else's change.
    this.probes.set(key, { again: async () => digest(await fn()), seen: digest(v) });
    return v;
  }

  /** True when every read gives the same answer again. */
  async unchanged(): Promise<boolean> {
    for (const p of this.probes.values()) if ((await p.again()) !== p.seen) return false;
    return true;
  }

  collection<T>(name: string, col: RecordCollection<T>): RecordCollection<T> {
    return {
      ...col,
      get: (key) => this.read(`${name}:get:${key}`, () => col.get(key), digestRecord),
      find: (index, value, opts) =>
        this.read(
          `${name}:find:${index}:${value}:${opts?.limit}`,
          () => col.find(index, value, opts),
          digestRecords,
        ),
      list: (opts) =>
        this.read(`${name}:list:${opts?.after}:${opts?.limit}`, () => col.list(opts), digestRecords),
      put: (key, data, opts) => col.put(key, data, opts),
      remove: (key, opts) => col.remove(key, opts),
      count: () => col.count(),
    };
  }

  contacts(c: AppHost['contacts']): AppHost['contacts'] {
    return {
      ...c,
      get: (id) =>
        this.read(
          `contact:get:${id}`,
          () => c.get(id),
          (v) => digestContacts([v]),
        ),
      findByEmail: (email) => this.read(`contact:email:${email}`, () => c.findByEmail(email), digestContacts),
      findByExternalId: (id) =>
        this.read(
          `contact:ext:${id}`,
          () => c.findByExternalId(id),
          (v) => digestContacts([v]),
        ),
    };
  }
}
