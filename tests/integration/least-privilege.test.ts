import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { createPostgres } from '../../src/adapters/postgres';
import { stackEnv } from '../helpers/stack';

/**
 * The native stack's least privilege, read from the running processes themselves: every service runs
 * as a user of its own, its environment holds no secret but its own, no secret is on any command
 * line, the secrets file and the data folders are closed, and the application's database role is no
 * superuser.
 */
const DATA = process.env.NEURONODE_DATA ?? '/var/lib/neuronode';
const secrets = Object.fromEntries(
  readFileSync(join(DATA, 'secrets.env'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('=') && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
) as Record<string, string>;
const SECRET_NAMES = Object.keys(secrets).filter((k) => /PASSWORD|SECRET|KEY/.test(k));

/** Each service: its user and the only secrets its environment may hold. */
const SERVICES: Record<string, { user: string; own: string[] }> = {
  postgres: { user: 'postgres', own: [] },
  redis: { user: 'redis', own: [] },
  temporal: { user: 'neuronode-temporal', own: [] },
  neo4j: { user: 'neuronode-neo4j', own: ['NEO4J_PASSWORD'] },
  chroma: { user: 'neuronode-chroma', own: [] },
  models: { user: 'neuronode-models', own: ['MODEL_SERVER_API_KEY'] },
  litellm: { user: 'neuronode-litellm', own: ['LITELLM_MASTER_KEY', 'MODEL_SERVER_API_KEY'] },
};

/** The service's processes: the session its pid file names (PostgreSQL: every process of its user). */
function processesOf(service: string): number[] {
  const all = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number);
  if (service === 'postgres') return all.filter((p) => uidOf(p) === Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()));
  const leader = Number(readFileSync(join(DATA, 'run', `${service}.pid`), 'utf8').trim());
  return all.filter((p) => sessionOf(p) === leader);
}
const statusField = (pid: number, field: string) => readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1];
const uidOf = (pid: number) => {
  try {
    return Number(statusField(pid, 'Uid'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return -1; // the process ended meanwhile
    throw err;
  }
};
const sessionOf = (pid: number) => {
  try {
    return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[3]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return -1;
    throw err;
  }
};
const userId = (name: string) => Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());

describe('least privilege in the native stack', () => {
  it.each(Object.entries(SERVICES))('%s runs as its own user and sees no secret but its own', (service, { user, own }) => {
    const pids = processesOf(service);
    expect(pids.length).toBeGreaterThan(0);
    for (const pid of pids) {
      expect([service, pid, uidOf(pid)]).toEqual([service, pid, userId(user)]);
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const held = SECRET_NAMES.filter((k) => secrets[k] && env.includes(secrets[k]!));
      // Exactly its own: none of another's, and (the control) the ones it needs are there to be seen.
      expect([service, pid, held.sort()]).toEqual([service, pid, [...own].sort()]);
    }
  });

  it('puts no secret on any command line of the machine', () => {
    const found: string[] = [];
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      let cmdline: string;
      try {
        cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') continue;
        throw err;
      }
      for (const k of SECRET_NAMES) if (secrets[k] && cmdline.includes(secrets[k]!)) found.push(`${k} in pid ${p}: ${cmdline.split('\0')[0]}`);
    }
    expect(found).toEqual([]);
  });

  it('keeps the secrets file and every data folder closed', () => {
    const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);
    expect(mode(join(DATA, 'secrets.env'))).toBe('600');
    expect(mode(DATA)).toBe('711');
    for (const [service, { user }] of Object.entries(SERVICES)) {
      const dir = join(DATA, service);
      expect([service, mode(dir), statSync(dir).uid]).toEqual([service, '700', userId(user)]);
    }
  });

  it('connects the application as a role that is no superuser and cannot change the schema', async () => {
    const db = createPostgres(stackEnv().DATABASE_URL);
    try {
      const me = await db.query(`SELECT current_user AS u, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user`);
      expect(me.rows[0]).toEqual({ u: 'neuronode_app', rolsuper: false, rolcreatedb: false, rolcreaterole: false });
      await expect(db.query(`CREATE TABLE pwned (x int)`)).rejects.toThrow(/permission denied/);
      await expect(db.query(`ALTER TABLE documents ADD COLUMN pwned int`)).rejects.toThrow(/must be owner/);
      await expect(db.query(`DELETE FROM schema_migrations`)).rejects.toThrow(/permission denied/);
      expect(stackEnv().DATABASE_URL).not.toContain(secrets.POSTGRES_PASSWORD!);
      expect(process.env.DATABASE_OWNER_URL).toBeUndefined();
    } finally {
      await db.end();
    }
  });
});
