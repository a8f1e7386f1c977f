import { Pool, type PoolClient } from 'pg';
import { MIGRATIONS } from './postgres-schema';

export type Db = Pool;

export function createPostgres(url: string): Pool {
  return new Pool({
    connectionString: url,
    max: 10,
    // Fail fast instead of queueing forever when the database is gone.
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // Every statement is bounded; long ones (bulk deletes) set their own limit in a transaction.
    statement_timeout: 30_000,
    application_name: 'neuronode',
  });
}

/** Applies pending migrations under an advisory lock, so concurrent start-ups apply each once. */
export async function migrate(pool: Pool): Promise<number> {
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
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock(727001)').catch(() => undefined);
    client.release();
  }
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
