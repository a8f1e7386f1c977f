import { z } from 'zod';
import { createPostgres, migrate } from './adapters/postgres';

/**
 * Applies the PostgreSQL migrations as the schema's owner and grants the application role its
 * rights. Run before the API and worker start (scripts/start.sh, scripts/test.sh, the compose
 * `migrate` service); they connect as the application role and only check that the schema is current.
 *
 *   DATABASE_OWNER_URL  the owner's connection (postgres://neuronode_owner:…@host/neuronode)
 *   DATABASE_APP_ROLE   the application's role (default neuronode_app)
 */
const Env = z.object({
  DATABASE_OWNER_URL: z.string().regex(/^postgres(ql)?:\/\//, 'DATABASE_OWNER_URL must be a postgres:// URL'),
  DATABASE_APP_ROLE: z.string().regex(/^[a-z_][a-z0-9_]*$/).default('neuronode_app'),
});

async function main(): Promise<void> {
  const parsed = Env.safeParse(process.env);
  if (!parsed.success) {
    process.stderr.write(`neuronode migrate: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`);
    process.exit(78);
  }
  const pool = createPostgres(parsed.data.DATABASE_OWNER_URL);
  try {
    const applied = await migrate(pool, { appRole: parsed.data.DATABASE_APP_ROLE });
    console.log(`neuronode migrate: ${applied} migration(s) applied; ${parsed.data.DATABASE_APP_ROLE} granted its rights`);
  } finally {
    await pool.end();
  }
}

main().catch((err) => {
  console.error('neuronode migrate failed:', err);
  process.exit(1);
});
