import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The web application's typed client is generated from the API's OpenAPI document: when a route or a
 * response schema changes and the types were not regenerated (`npm run gen:web-api`), this fails.
 * (The generator is an ES module Jest cannot load, so it runs as its own process.)
 */
const ROOT = join(__dirname, '..', '..');

it('web/lib/api-types.ts matches the OpenAPI document of the API as it is', () => {
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'scripts/gen-web-api.ts', '--stdout'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: '' });
  const committed = readFileSync(join(ROOT, 'web', 'lib', 'api-types.ts'), 'utf8');
  expect(committed.length).toBeGreaterThan(10_000);
  expect(committed === r.stdout ? 'in step' : 'drifted: run npm run gen:web-api').toBe('in step');
  // It covers the routes the pages call.
  for (const path of ['/api/documents', '/api/chunks/{id}', '/api/query/history', '/api/documents/upload']) expect(committed).toContain(`"${path}": {`);
});
