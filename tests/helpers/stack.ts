import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseConfig, type Env } from '../../src/config';

export const ROOT = join(__dirname, '..', '..');
export const STACK = join(ROOT, 'stack', 'stack.sh');

/**
 * The configuration of the running stack. Tests that need services call this first: without the
 * stack's environment it throws (loudly) instead of letting a test pass against nothing.
 */
export function stackEnv(): Env {
  if (!process.env.DATABASE_URL || !process.env.LITELLM_MASTER_KEY) {
    throw new Error('the stack environment is missing: run the suite with scripts/test.sh (it starts the real services)');
  }
  return parseConfig(process.env);
}

/** Runs the stack command; `out` holds what it printed on both streams. */
export function stack(...args: string[]): { code: number; out: string } {
  const r = spawnSync('bash', [STACK, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}
