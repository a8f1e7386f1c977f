import { spawn } from 'node:child_process';
import { ROOT } from './stack';

/**
 * Runs a command to its end without blocking this process (an API under test may run in it: a
 * blocked event loop lets idle keep-alive connections close under the next request). Killed after
 * `timeoutMs`; `stdout` and `stderr` as it printed them.
 */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = process.env, timeoutMs = 600_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
