import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

const PROBES: Record<string, string> = {
  'src/workflows/lint-probe-fs.ts': "import { readFileSync } from 'fs';\nexport const x = readFileSync;\n",
  'src/workflows/lint-probe-crypto.ts': "import { randomUUID } from 'node:crypto';\nexport const x = randomUUID;\n",
  'src/workflows/lint-probe-pg.ts': "import { Pool } from 'pg';\nexport const x = Pool;\n",
  'src/workflows/lint-probe-deps.ts': "import { createDeps } from '../deps';\nexport const x = createDeps;\n",
  'src/activities/lint-probe-fs.ts': "import { readFileSync } from 'fs';\nexport const x = readFileSync;\n",
};

describe('workflow determinism lint rule', () => {
  let found: Record<string, string[]> = {};

  beforeAll(() => {
    // The probes are written for the moment and linted with the project's own ESLint configuration.
    for (const [file, code] of Object.entries(PROBES)) writeFileSync(join(ROOT, file), code);
    try {
      const r = spawnSync(join(ROOT, 'node_modules', '.bin', 'eslint'), ['--format', 'json', ...Object.keys(PROBES)], {
        cwd: ROOT,
        encoding: 'utf8',
      });
      const results = JSON.parse(r.stdout) as { filePath: string; messages: { ruleId: string | null; message: string }[] }[];
      found = Object.fromEntries(
        results.map((res) => [res.filePath.slice(ROOT.length + 1), res.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message)]),
      );
    } finally {
      for (const file of Object.keys(PROBES)) rmSync(join(ROOT, file), { force: true });
    }
  });

  it.each(Object.keys(PROBES).filter((f) => f.startsWith('src/workflows/')))('refuses the import in %s', (file) => {
    expect(found[file]?.join()).toMatch(/deterministic|only through activities/);
  });

  it('allows the same import in an activity', () => {
    expect(found['src/activities/lint-probe-fs.ts']).toEqual([]);
  });
});
