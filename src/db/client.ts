import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';

export interface QueryResult<T> {
  rows: T[];
  rowCount: number;
}

export interface QueryOptions {
  /**
   * Parse and plan once per connection, then reuse (a named prepared statement on PostgreSQL). For hot statements
   * whose best plan does not depend on the values: lookups by key or id. Not for searches, whose expression
   * indexes match only once the planner sees the attribute name as a constant, nor for `SELECT *` (a column added
   * later would break the cached statement).
   */
  prepare?: boolean;
}

/** What a repository gets: a connection or a transaction, never the driver. */
export interface Queryable {
  query<T = Record<string, unknown>>(
    sql: string,
    params?: readonly unknown[],
    opts?: QueryOptions,
  ): Promise<QueryResult<T>>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * PostgreSQL only (one PGlite database has one process): a connection of its own that listens on a channel and
   * notifies on it, reconnecting when lost. `close()` of the Db closes it.
   */
  channel?(name: string, handlers: ChannelHandlers): Channel;
  close(): Promise<void>;
}

export interface ChannelHandlers {
  message(payload: string): void;
  /** The connection was lost (`up` false: notifies fail until it is back) or is listening again. */
  state?(up: boolean, err?: Error): void;
}

export interface Channel {
  /** Sends to every listener of the channel, in any process, this one included. */
  notify(payload: string): Promise<void>;
  /** Resolves once the channel first listens (notifications sent before then do not reach it). */
  readonly listening: Promise<void>;
}

export function wrapPglite(pglite: PGlite): Db {
  // PGlite runs one query at a time; a transaction holds it, so nesting is explicit through `tx`.
  return {
    kind: 'pglite',
    async query<T>(sql: string, params: readonly unknown[] = []) {
      const res = await pglite.query<T>(sql, params as unknown[]);
      return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
    },
    async exec(sql: string) {
      await pglite.exec(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      return pglite.transaction(async (tx) =>
        fn({
          async query<R>(sql: string, params: readonly unknown[] = []) {
            const res = await tx.query<R>(sql, params as unknown[]);
            return { rows: res.rows, rowCount: res.affectedRows ?? res.rows.length };
          },
          async exec(sql: string) {
            await tx.exec(sql);
          },
        }),
      );
    },
    async close() {
      await pglite.close();
    },
  };
}

// int8 and numeric come back as strings from node-postgres; timestamps as Date in both drivers.
pg.types.setTypeParser(20, (v) => Number(v));

const statementNames = new Map<string, string>();
/** The statement's name: the same text always gets the same name, on every connection. */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `s_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
    if (statementNames.size > 5000) statementNames.clear();
    statementNames.set(sql, name);
  }
  return name;
}

/** `prepared: false` sends every statement unnamed (behind a pooler that cannot keep prepared statements). */
export function wrapPool(pool: pg.Pool, prepared = true): Db {
  const channels = new Set<PgChannel>();
  const config = (sql: string, params: readonly unknown[], opts?: QueryOptions) =>
    prepared && opts?.prepare
      ? { name: statementName(sql), text: sql, values: params as unknown[] }
      : { text: sql, values: params as unknown[] };
  return {
    kind: 'postgres',
    async query<T>(sql: string, params: readonly unknown[] = [], opts?: QueryOptions) {
      const res = await pool.query(config(sql, params, opts));
      return { rows: res.rows as T[], rowCount: res.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({
          async query<R>(sql: string, params: readonly unknown[] = [], opts?: QueryOptions) {
            const res = await client.query(config(sql, params, opts));
            return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
          },
          async exec(sql: string) {
            await client.query(sql);
          },
        });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    channel(name, handlers) {
      const ch = new PgChannel(pool, name, handlers);
      channels.add(ch);
      return ch;
    },
    async close() {
      await Promise.all([...channels].map((c) => c.close()));
      await pool.end();
    },
  };
}

/**
 * LISTEN on a connection of its own, outside the pool (so the pool keeps all its connections for queries), with
 * the pool's settings; on a lost connection, LISTEN again on a new one after a pause.
 */
class PgChannel implements Channel {
  private client: pg.Client | null = null;
  private closed = false;
  private retryMs = 500;
  private timer: NodeJS.Timeout | null = null;
  private connecting: Promise<void> | null;
  private markListening: () => void = () => undefined;
  private sending: Promise<void> = Promise.resolve();
  readonly listening = new Promise<void>((resolve) => (this.markListening = resolve));

  constructor(
    private readonly pool: pg.Pool,
    private readonly name: string,
    private readonly handlers: ChannelHandlers,
  ) {
    this.connecting = this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client(this.pool.options);
    client.on('notification', (n) => {
      if (n.channel === this.name && n.payload !== undefined) this.handlers.message(n.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.name)}`);
      if (this.closed) return void (await client.end());
      this.client = client;
      this.retryMs = 500;
      this.markListening();
      this.handlers.state?.(true);
    } catch (err) {
      this.lost(client, err as Error);
    } finally {
      this.connecting = null;
    }
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.client === client) this.client = null;
    client.end().catch(() => undefined);
    if (this.closed || this.timer) return;
    this.handlers.state?.(false, err);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connecting = this.connect();
    }, this.retryMs);
    this.retryMs = Math.min(30_000, this.retryMs * 2);
  }

  notify(payload: string): Promise<void> {
    // One at a time, on the listening connection: this process's notifications leave in the order they were made
    // (node-postgres deprecates a query sent while another is running on the same client).
    const sent = this.sending.then(async () => {
      if (this.connecting) await this.connecting;
      if (!this.client) throw new Error(`channel ${this.name} is not connected`);
      await this.client.query('SELECT pg_notify($1, $2)', [this.name, payload]);
    });
    this.sending = sent.catch(() => undefined);
    return sent;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.connecting) await this.connecting;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}

export interface OpenDbOptions {
  databaseUrl?: string | undefined;
  dataDir: string;
  poolSize?: number;
  /** Named prepared statements for hot lookups (QueryOptions.prepare); default on. */
  preparedStatements?: boolean;
}

export async function openDb(opts: OpenDbOptions): Promise<Db> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    // Fail at start with a clear message instead of on the first request.
    const client = await pool.connect().catch((err: Error) => {
      throw new Error(`cannot connect to DATABASE_URL: ${err.message}`);
    });
    client.release();
    pool.on('error', () => undefined);
    return wrapPool(pool, opts.preparedStatements ?? true);
  }
  const dir = join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const pglite = await PGlite.create(dir);
  return wrapPglite(pglite);
}
