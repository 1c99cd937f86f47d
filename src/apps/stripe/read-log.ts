/**
 * Optimistic checking for derived writes. Attributes and links are computed from many records, and two jobs
 * computing them at once can finish in the wrong order: the one that read older data writes last. The record
 * store orders each record by version, but a contact's attributes have no version. So a recompute logs what it
 * read (each record's version, each lookup's answer), writes, then reads it all again: if anything changed
 * meanwhile, another job wrote newer inputs and may already have written its result before ours, so we compute
 * again. The last writer has always checked its inputs after its write, so the final values match the final data.
 *
 * The record reads are checked again in one statement that returns versions only (`host.recordVersions`): the
 * check runs once per applied event, and repeating each read with its data cost as much as the reads themselves.
 */
import type {
  AppHost,
  HostContact,
  RecordCollection,
  RecordProbe,
  RecordVersion,
  StoredRecord,
} from '../../app-sdk/index.ts';

// StoredRecord has these fields too, so an original read and its check digest alike.
const digestRecord = (r: RecordVersion | undefined) =>
  r ? `${r.key}@${r.version}${r.deleted ? 'x' : ''}` : '-';
const digestRecords = (rs: RecordVersion[]) => rs.map(digestRecord).join(',');
const digestContacts = (cs: (HostContact | undefined)[]) =>
  cs
    .map((c) => c?.id ?? '-')
    .sort()
    .join(',');

export class ReadLog {
  /** Record reads, checked together; the latest answer counts (a read after our own write is not a change). */
  private readonly records = new Map<string, { probe: RecordProbe; seen: string }>();
  /** Other reads (contacts), each repeated. */
  private readonly probes = new Map<string, { again: () => Promise<string>; seen: string }>();

  constructor(private readonly host: Pick<AppHost, 'recordVersions' | 'readRecords'>) {}

  private log(probe: RecordProbe, seen: string): void {
    const id = 'key' in probe ? `get:${probe.key}` : `find:${probe.index}:${probe.value}:${probe.limit}`;
    this.records.set(`${probe.collection}:${id}`, { probe, seen });
  }

  /**
   * Logs a read this job did not need to make: a record it has just written (`put` answered true), as a `get`
   * would have seen it then. A later write by another job changes its version, so the check still sees it.
   */
  seen(probe: { collection: string; key: string }, record: RecordVersion): void {
    this.log(probe, digestRecord(record));
  }

  /** `host.readRecords`, logged. */
  async readAll(probes: readonly RecordProbe[]): Promise<StoredRecord<unknown>[][]> {
    const found = await this.host.readRecords(probes);
    for (const [i, probe] of probes.entries()) {
      const rs = found[i] ?? [];
      this.log(probe, 'key' in probe ? digestRecord(rs[0]) : digestRecords(rs));
    }
    return found;
  }

  async read<T>(key: string, fn: () => Promise<T>, digest: (v: T) => string): Promise<T> {
    const v = await fn();
    this.probes.set(key, { again: async () => digest(await fn()), seen: digest(v) });
    return v;
  }

  /** True when every read gives the same answer again. */
  async unchanged(): Promise<boolean> {
    const logged = [...this.records.values()];
    const now = await this.host.recordVersions(logged.map((r) => r.probe));
    for (const [i, r] of logged.entries()) {
      const rows = now[i] ?? [];
      const digest = 'key' in r.probe ? digestRecord(rows[0]) : digestRecords(rows);
      if (digest !== r.seen) return false;
    }
    for (const p of this.probes.values()) if ((await p.again()) !== p.seen) return false;
    return true;
  }

  collection<T>(col: RecordCollection<T>): RecordCollection<T> {
    return {
      ...col,
      get: async (key) => {
        const r = await col.get(key);
        this.log({ collection: col.name, key }, digestRecord(r));
        return r;
      },
      find: async (index, value, opts) => {
        const rs: StoredRecord<T>[] = await col.find(index, value, opts);
        // The store's default page, spelled out: the check must read exactly as many.
        this.log({ collection: col.name, index, value, limit: opts?.limit ?? 100 }, digestRecords(rs));
        return rs;
      },
      list: (opts) =>
        this.read(`${col.name}:list:${opts?.after}:${opts?.limit}`, () => col.list(opts), digestRecords),
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
      findByEmails: (emails) =>
        this.read(`contact:emails:${JSON.stringify(emails)}`, () => c.findByEmails(emails), digestContacts),
      findByExternalIds: (ids) =>
        this.read(`contact:exts:${JSON.stringify(ids)}`, () => c.findByExternalIds(ids), digestContacts),
      findByExternalId: (id) =>
        this.read(
          `contact:ext:${id}`,
          () => c.findByExternalId(id),
          (v) => digestContacts([v]),
        ),
    };
  }
}
