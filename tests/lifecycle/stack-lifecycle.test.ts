import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { ROOT, stack } from '../helpers/stack';

const SERVICES = ['postgres', 'redis', 'temporal', 'neo4j', 'chroma', 'models', 'litellm'];
const PORTS = [5432, 6379, 7233, 8233, 7687, 8000, 8090, 4000];
const DATA = process.env.NEURONODE_DATA ?? '/var/lib/neuronode';

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/** Runs last (tests/sequencer.js): it stops the stack. */
describe('the stack command', () => {
  it('`up` on a running stack is idempotent: it starts nothing twice', async () => {
    const started = Date.now();
    const r = await stack('up');
    expect(r.code).toBe(0);
    for (const s of SERVICES) expect(r.out).toContain(`${s} already running`);
    expect(r.out).not.toMatch(/starting /);
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('runs one command at a time: a second waits for the lock, and no service holds it', async () => {
    const lock = join(DATA, 'stack.lock');
    // The services started by this run's `up` hold no copy of the lock: it is free now.
    expect(spawnSync('flock', ['-n', lock, 'true']).status).toBe(0);
    const holder = spawn('flock', [lock, 'sleep', '3'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 500));
      expect(spawnSync('flock', ['-n', lock, 'true']).status).toBe(1); // held
      const started = Date.now();
      const r = await stack('up');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/another stack command is running; waiting for it/);
      expect(Date.now() - started).toBeGreaterThan(2000);
    } finally {
      holder.kill();
    }
    expect(spawnSync('flock', ['-n', lock, 'true']).status).toBe(0);
  });

  it('`status` tells the truth while everything runs', async () => {
    const r = await stack('status');
    expect(r.code).toBe(0);
    for (const s of SERVICES) expect(r.out).toMatch(new RegExp(`^${s}\\s+running`, 'm'));
    for (const p of PORTS) expect(await portOpen(p)).toBe(true);
  });

  it('`scripts/start.sh` runs the API, the worker and the web application under supervisors that start them again when they die', async () => {
    const start = spawnSync('bash', [join(ROOT, 'scripts', 'start.sh')], { cwd: ROOT, encoding: 'utf8', timeout: 600_000 });
    expect(start.status).toBe(0);
    expect(start.stdout).toMatch(/Neuronode is running/);
    const base = `http://127.0.0.1:${process.env.PORT ?? 8001}`;
    try {
      const state = (name: string) => readFileSync(join(DATA, 'run', `${name}.state`), 'utf8');
      const pidOf = (name: string) => Number(/pid=(\d+)/.exec(state(name))![1]);
      const healthy = async () => (await fetch(`${base}/api/health`).catch(() => null))?.status === 200;
      // The web application on its port: its pages, and the API through it.
      const web = `http://127.0.0.1:${process.env.WEB_PORT ?? 3000}`;
      const webUp = async () => (await fetch(`${web}/login`).catch(() => null))?.status === 200;
      expect(start.stdout).toContain(`Web app        ${web}`);
      expect(await webUp()).toBe(true);
      expect((await fetch(`${web}/api/health`)).status).toBe(200);
      for (const name of ['api', 'worker', 'web']) {
        const before = pidOf(name);
        process.kill(before, 'SIGKILL');
        const until = Date.now() + 60_000;
        while (!(state(name).startsWith('running') && pidOf(name) !== before && (name !== 'api' || (await healthy())) && (name !== 'web' || (await webUp())))) {
          if (Date.now() > until) throw new Error(`${name} was not restarted: ${state(name)}`);
          await new Promise((r) => setTimeout(r, 250));
        }
        expect(state(name)).toMatch(/^running pid=\d+ restarts=1 last_exit=137/);
      }
      // The restarted worker does work: the API's end-to-end check runs as a workflow on it.
      const { email, password } = { email: process.env.NEURONODE_ADMIN_EMAIL!, password: process.env.NEURONODE_ADMIN_PASSWORD! };
      const login = (await (await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) })).json()) as { access_token: string };
      const check = await fetch(`${base}/api/system/check`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${login.access_token}` }, body: '{}' });
      expect(check.status).toBe(200);
      const status = await stack('status');
      expect(status.out).toMatch(/^api\s+running pid=\d+ restarts=1 last_exit=137 \(supervised\)/m);
      expect(status.out).toMatch(/^worker\s+running pid=\d+ restarts=1 last_exit=137 \(supervised\)/m);
      expect(status.out).toMatch(/^web\s+running pid=\d+ restarts=1 last_exit=137 \(supervised\)/m);
    } finally {
      expect(spawnSync('bash', [join(ROOT, 'scripts', 'start.sh'), 'stop-app'], { cwd: ROOT }).status).toBe(0);
    }
    expect(await fetch(`${base}/api/health`).then(() => 'answered', () => 'refused')).toBe('refused');
    expect(existsSync(join(DATA, 'run', 'api.pid'))).toBe(false);
    expect(await fetch(`http://127.0.0.1:${process.env.WEB_PORT ?? 3000}/login`).then(() => 'answered', () => 'refused')).toBe('refused');
    expect(existsSync(join(DATA, 'run', 'web.pid'))).toBe(false);
  }, 900_000);

  it('`down` stops everything it started, and `status` then says so', async () => {
    const pids = readdirSync(join(DATA, 'run'))
      .filter((f) => f.endsWith('.pid'))
      .map((f) => Number(readFileSync(join(DATA, 'run', f), 'utf8')));
    expect(pids.length).toBeGreaterThanOrEqual(6);
    expect((await stack('down')).code).toBe(0);
    for (const p of PORTS) expect(await portOpen(p)).toBe(false);
    for (const pid of pids) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
    expect(existsSync(join(DATA, 'postgres', 'postmaster.pid'))).toBe(false);
    const r = await stack('status');
    expect(r.code).toBe(1);
    for (const s of SERVICES) expect(r.out).toMatch(new RegExp(`^${s}\\s+stopped`, 'm'));
  });
});
