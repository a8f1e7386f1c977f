import { spawn } from 'node:child_process';
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

/**
 * Runs the stack command; `out` holds what it printed on both streams. Asynchronous on purpose: the
 * tests that stop and start services host the API server and a worker in this same process, and a
 * synchronous child (stopping Neo4j takes over ten seconds) would freeze them. A frozen server's
 * keep-alive timers then fire all at once on resume and reset the connection the next request was
 * just written on ("fetch failed", ECONNRESET); a frozen worker misses its heartbeats.
 */
export function stack(...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [STACK, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code: code ?? 1, out: signal ? `${out}\n(killed by ${signal})` : out }));
  });
}
