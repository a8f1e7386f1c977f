/**
 * Derives both LiteLLM configurations from the alias matrix in src/domain/model-aliases.ts.
 *   npx tsx scripts/gen-litellm-config.ts          write litellm/config.local.yaml and config.production.yaml
 *   npx tsx scripts/gen-litellm-config.ts --check  exit 1 if the committed files differ from the matrix
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderLiteLlmConfigs } from '../src/domain/litellm-config';

const dir = join(__dirname, '..', 'litellm');
const files = renderLiteLlmConfigs();
let stale = 0;
for (const [name, text] of Object.entries(files)) {
  const path = join(dir, name);
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      /* missing counts as stale */
    }
    if (current !== text) {
      console.error(`${path} is out of date; run: npx tsx scripts/gen-litellm-config.ts`);
      stale++;
    }
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
process.exit(stale ? 1 : 0);
