import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { stack } from '../helpers/stack';

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
  it('`up` on a running stack is idempotent: it starts nothing twice', () => {
    const started = Date.now();
    const r = stack('up');
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
      const r = stack('up');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/another stack command is running; waiting for it/);
      expect(Date.now() - started).toBeGreaterThan(2000);
    } finally {
      holder.kill();
    }
    expect(spawnSync('flock', ['-n', lock, 'true']).status).toBe(0);
  });

  it('`status` tells the truth while everything runs', async () => {
    const r = stack('status');
    expect(r.code).toBe(0);
    for (const s of SERVICES) expect(r.out).toMatch(new RegExp(`^${s}\\s+running`, 'm'));
    for (const p of PORTS) expect(await portOpen(p)).toBe(true);
  });

  it('`down` stops everything it started, and `status` then says so', async () => {
    const pids = readdirSync(join(DATA, 'run'))
      .filter((f) => f.endsWith('.pid'))
      .map((f) => Number(readFileSync(join(DATA, 'run', f), 'utf8')));
    expect(pids.length).toBeGreaterThanOrEqual(6);
    expect(stack('down').code).toBe(0);
    for (const p of PORTS) expect(await portOpen(p)).toBe(false);
    for (const pid of pids) {
      expect(() => process.kill(pid, 0)).toThrow();
    }
    expect(existsSync(join(DATA, 'postgres', 'postmaster.pid'))).toBe(false);
    const r = stack('status');
    expect(r.code).toBe(1);
    for (const s of SERVICES) expect(r.out).toMatch(new RegExp(`^${s}\\s+stopped`, 'm'));
  });
});
