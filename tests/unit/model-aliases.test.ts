import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderLiteLlmConfigs } from '../../src/domain/litellm-config';
import { EMBEDDING_ALIASES, LOCAL_CHAT_MODELS, allAliases, allChatAliases } from '../../src/domain/model-aliases';

const LITELLM = join(__dirname, '..', '..', 'litellm');
type Doc = { model_list: { model_name: string; litellm_params: Record<string, unknown> }[] };
const read = (name: string) => parse(readFileSync(join(LITELLM, name), 'utf8')) as Doc;

describe('the smart-alias matrix', () => {
  it('has 25 chat aliases and 2 embedding aliases: 27', () => {
    expect(allChatAliases()).toHaveLength(25);
    expect(EMBEDDING_ALIASES).toHaveLength(2);
    expect(new Set(allAliases()).size).toBe(27);
    expect(allAliases()).toEqual(expect.arrayContaining(['classification_premium', 'validation_secondary_cost_effective', 'text_embedding_3_large']));
  });

  it('the committed LiteLLM configs are exactly what the matrix generates', () => {
    for (const [name, text] of Object.entries(renderLiteLlmConfigs())) {
      expect(readFileSync(join(LITELLM, name), 'utf8')).toBe(text);
    }
  });

  it.each([['config.local.yaml'], ['config.production.yaml']])('%s defines every alias once, plus the local candidates', (file) => {
    const names = read(file).model_list.map((m) => m.model_name);
    expect(names.sort()).toEqual([...allAliases(), ...LOCAL_CHAT_MODELS].sort());
  });

  it('the local config sends every alias to the self-hosted server', () => {
    for (const m of read('config.local.yaml').model_list) {
      expect(m.litellm_params.api_base).toBe('os.environ/LOCAL_MODEL_API_BASE');
      expect(String(m.litellm_params.model)).toMatch(/^openai\/local-/);
    }
  });

  it('the production config reads every key from the environment and holds no secret', () => {
    const text = readFileSync(join(LITELLM, 'config.production.yaml'), 'utf8');
    for (const m of read('config.production.yaml').model_list) {
      expect(String(m.litellm_params.api_key)).toMatch(/^os\.environ\/[A-Z_]+$/);
    }
    expect(text).not.toMatch(/sk-[A-Za-z0-9]{10,}/);
    expect(text).toMatch(/anthropic\/claude-3-5-sonnet-20241022/);
    expect(text).toMatch(/gemini\/gemini-1.5-flash/);
  });
});
