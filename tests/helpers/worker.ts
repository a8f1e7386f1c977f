import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './stack';
import { spawnTracked } from './teardown';

/**
 * A worker in a process of its own, so it can be killed with SIGKILL mid-run. It inherits this test
 * file's environment, so it polls the file's own task queues; it is listed for teardown until it exits.
 */
/** The Temporal identity (and metrics label) of a worker process started here. */
export const workerIdentity = (child: ChildProcess) => `worker-${child.pid}@${hostname()}`;

/** `env` adds to (or overrides) the test file's environment, for instance a shutdown grace. */
export function startWorkerProcess(env: Record<string, string> = {}): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked('a worker process', process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'worker.ts')], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`worker did not start within 120 s: ${out}`));
    }, 120_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (/neuronode worker \S+: polling/.test(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}: ${out}`));
    });
  });
}
