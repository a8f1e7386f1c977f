import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * A file inside an npm package that scripts/fixtures.sh packed as data (pinned by integrity in a lock
 * file) and unpacked into the cache outside the repository; only ever read.
 */
export function npmData(spec: string, path: string, howToFetch: string): Buffer {
  const dir = join(process.env.NEURONODE_CACHE ?? join(homedir(), '.cache', 'neuronode'), 'fixtures');
  const root = join(dir, spec.replace(/^@/, '').replace('/', '-').replace('@', '-'));
  if (!existsSync(join(root, '.verified'))) throw new Error(`the data of ${spec} is not unpacked: ${howToFetch}`);
  return readFileSync(join(root, 'package', path));
}
