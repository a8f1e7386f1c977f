import { Pool, type PoolClient } from 'pg';
import { MIGRATIONS } from './postgres-schema';

export type Db = Pool;

export function createPostgres(url: string): Pool {
  const pool = new Pool({
    connectionString: url,
    max: 10,
    // Fail fast instead of queueing forever when the database is gone.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // Every statement is bounded; long ones (bulk deletes) set their own limit in a transaction.
    statement_timeout: 30_000,
    application_name: 'neuronode',
  });
  // An idle client whose connection ends (PostgreSQL restarting: 57P01) is dropped by the pool, which
  // connects afresh for the next query; without a listener the error would end the process.
  pool.on('error', (err: Error & { code?: string }) => {
    console.error(`PostgreSQL: an idle connection ended (${err.code ?? 'no code'}: ${err.message}); the pool reconnects on the next query`);
  });
  return pool;
}

/**
 * Applies pending migrations under an advisory lock, so concurrent runs apply each once, then grants
 * the application role what it may do: read and write the application's tables, but only read and
 * append to the audit log. Runs as the schema's owner (DATABASE_OWNER_URL, `src/migrate.ts`), never
 * from the API or worker, whose role can neither change the schema nor the audit log.
 */
export async function migrate(pool: Pool, opts: { appRole?: string } = {}): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(727001)');
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set((await client.query<{ id: string }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
    let applied = 0;
    for (const m of MIGRATIONS) {
      if (done.has(m.id)) continue;
      await inTransaction(client, async () => {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
      });
      applied++;
    }
    if (opts.appRole) await client.query(grantsTo(client.escapeIdentifier(opts.appRole)));
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock(727001)');
    client.release();
  }
}

/** What the application role may do with the objects migrations create; repeated after every run. */
const grantsTo = (role: string) => `
  GRANT USAGE ON SCHEMA public TO ${role};
  GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${role};
  GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${role};
  REVOKE INSERT, UPDATE, DELETE ON schema_migrations FROM ${role};
  REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_log FROM ${role};
`;

/** Refuses to run on a schema older than the code: the migrations (`src/migrate.ts`) run first. */
export async function assertMigrated(pool: Pool): Promise<void> {
  const r = await pool.query<{ id: string }>(`SELECT id FROM schema_migrations`).catch((err: { code?: string }) => {
    if (err.code === '42P01') return { rows: [] as { id: string }[] }; // no table yet: nothing applied
    throw err;
  });
  const done = new Set(r.rows.map((x) => x.id));
  const missing = MIGRATIONS.filter((m) => !done.has(m.id)).map((m) => m.id);
  if (missing.length) throw new Error(`the database schema lacks migrations ${missing.join(', ')}: run them first (node dist/src/migrate.js with DATABASE_OWNER_URL; scripts/start.sh does)`);
}

async function inTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await fn();
    await client.query('COMMIT');
    return out;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

export async function transaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await inTransaction(client, () => fn(client));
  } finally {
    client.release();
  }
}

export async function pingPostgres(pool: Pool): Promise<string> {
  const r = await pool.query<{ v: string }>('SELECT current_setting(\'server_version\') AS v');
  return `PostgreSQL ${r.rows[0]?.v ?? '?'}`;
}

/**
 * A WHERE clause grown one condition at a time: each `?` in a condition becomes the next numbered
 * parameter, after the fixed conditions and parameters it starts with.
 */
export class SqlFilter {
  readonly conditions: string[];
  readonly params: unknown[];
  constructor(conditions: string[], params: unknown[]) {
    this.conditions = [...conditions];
    this.params = [...params];
  }

  add(condition: string, value: unknown): this {
    this.params.push(value);
    this.conditions.push(condition.replaceAll('?', `$${this.params.length}`));
    return this;
  }

  get sql(): string {
    return this.conditions.join(' AND ');
  }
}
