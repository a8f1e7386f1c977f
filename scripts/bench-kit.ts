/** What every benchmark script shares: percentiles, the worker it runs, and where results go. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Env } from '../src/config';
import { closeDeps, createDeps, type Deps } from '../src/deps';
import { createWorkers, prepareStores } from '../src/worker-setup';

/** The p-th percentile (nearest rank), or null for no samples. */
export function percentile(xs: number[], p: number): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const git = (...args: string[]) => execFileSync('git', args, { cwd: join(__dirname, '..'), encoding: 'utf8' }).trim();

/**
 * Where and on what a result was measured: the commit and whether the tree had changes that are not
 * in it (both taken when the run starts), the command with the EVAL_/BENCH_ settings it ran with, the
 * machine and the start time. Every results file starts with it.
 */
function startProvenance() {
  return {
    commit: git('rev-parse', 'HEAD'),
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    command: process.env.npm_lifecycle_event ? `npm run ${process.env.npm_lifecycle_event}` : process.argv.slice(1).join(' '),
    settings: Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(EVAL|BENCH)_/.test(k)).sort()),
    machine: { host: hostname(), cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memory_gib: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    started_at: new Date().toISOString(),
  };
}
const STARTED = startProvenance();

/** The run's provenance, with the time it ended and whether the commit or tree changed meanwhile. */
export function provenance() {
  const now = { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain', '--untracked-files=no') !== '' };
  return { ...STARTED, finished_at: new Date().toISOString(), changed_during_run: now.commit !== STARTED.commit || now.dirty !== STARTED.dirty };
}

/** Writes bench/results/<name> as indented JSON, its provenance first, and says where. */
/**
 * Where a result file goes: a bare name lands in bench/results; a path (`bench/results/x.json`) is taken
 * as given, relative to the working directory. Called before the work, so a bad name fails at once.
 */
export function resultPath(name: string): string {
  const path = name.includes('/') ? resolve(name) : join(__dirname, '..', 'bench', 'results', name);
  if (!path.endsWith('.json')) throw new Error(`result file ${name} must end in .json`);
  mkdirSync(dirname(path), { recursive: true });
  return path;
}

export function writeResult(name: string, out: object): void {
  const path = resultPath(name);
  writeFileSync(path, `${JSON.stringify({ provenance: provenance(), ...out }, null, 2)}\n`);
  console.log(`wrote ${path}`);
}

/** The stores, prepared, and a worker in this process; `stop` shuts both down. */
export async function benchSystem(env: Env, identity: string): Promise<{ deps: Deps; stop(): Promise<void> }> {
  const deps = await createDeps(env);
  await prepareStores(deps);
  const workers = await createWorkers(deps, { identity });
  const running = workers.run();
  return {
    deps,
    async stop() {
      workers.shutdown();
      await running;
      await workers.connection.close();
      await closeDeps(deps);
    },
  };
}

/** Runs a benchmark's main, exiting non-zero on failure. */
export function run(main: () => Promise<void>): void {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
