import { stringify } from 'yaml';
import {
  CHAT_MATRIX,
  EMBEDDING_MATRIX,
  LOCAL_CHAT_MODELS,
  LOCAL_EMBEDDING_MODEL,
  PROFILES,
  PROFILE_FALLBACKS,
  TASKS,
  chatAlias,
  localModelFor,
} from './model-aliases';

/**
 * What a self-hosted token costs, in USD, so the budget gate and the analytics see a real number for
 * the local profile too: roughly the electricity and amortised CPU of this class of machine
 * (about $0.02 per million tokens).
 */
export const LOCAL_COST_PER_TOKEN = 0.00000002;

const HEADER = (what: string) =>
  `# GENERATED from src/domain/model-aliases.ts by scripts/gen-litellm-config.ts: do not edit by hand.\n# ${what}\n`;

const localParams = (model: string) => ({
  model: `openai/${model}`,
  api_base: 'os.environ/LOCAL_MODEL_API_BASE',
  api_key: 'os.environ/LOCAL_MODEL_API_KEY',
  timeout: 300,
});
const localInfo = (mode: 'chat' | 'embedding') => ({
  mode,
  input_cost_per_token: LOCAL_COST_PER_TOKEN,
  output_cost_per_token: mode === 'chat' ? LOCAL_COST_PER_TOKEN : 0,
});

const generalSettings = {
  master_key: 'os.environ/LITELLM_MASTER_KEY',
};

/**
 * LiteLLM reads its configuration with PyYAML (YAML 1.1), which takes `2e-8` for a string: a float
 * there needs a point in the mantissa and a sign in the exponent (`2.000000e-8`).
 */
const pyYamlFloats = (text: string) => text.replace(/(_cost_per_token: )(\d+(?:\.\d+)?e[-+]?\d+)$/gm, (_m, key: string, v: string) => key + Number(v).toExponential(6));

/** Both configurations as file name → YAML text. */
export function renderLiteLlmConfigs(): Record<string, string> {
  const local: unknown[] = [];
  const production: unknown[] = [];
  for (const slot of TASKS) {
    for (const profile of PROFILES) {
      const d = CHAT_MATRIX[slot][profile];
      const alias = chatAlias(slot, profile);
      local.push({
        model_name: alias,
        litellm_params: { ...localParams(localModelFor(slot)), temperature: d.temperature, max_tokens: d.maxTokens },
        model_info: localInfo('chat'),
      });
      const isLocal = d.model.startsWith('openai/local-');
      production.push({
        model_name: alias,
        litellm_params: isLocal
          ? { ...localParams(d.model.slice('openai/'.length)), temperature: d.temperature, max_tokens: d.maxTokens }
          : { model: d.model, api_key: `os.environ/${d.keyEnv}`, temperature: d.temperature, max_tokens: d.maxTokens, timeout: 120 },
      });
    }
  }
  for (const [alias, d] of Object.entries(EMBEDDING_MATRIX)) {
    local.push({
      model_name: alias,
      litellm_params: localParams(LOCAL_EMBEDDING_MODEL),
      model_info: localInfo('embedding'),
    });
    production.push({ model_name: alias, litellm_params: { model: d.model, api_key: `os.environ/${d.keyEnv}`, timeout: 60 } });
  }
  // The self-hosted models under their own names: candidates for assignments and optimisation runs.
  for (const model of LOCAL_CHAT_MODELS) {
    const entry = { model_name: model, litellm_params: localParams(model), model_info: localInfo('chat') };
    local.push(entry);
    production.push({ model_name: model, litellm_params: localParams(model) });
  }

  const fallbacks = TASKS.flatMap((slot) =>
    PROFILES.filter((p) => PROFILE_FALLBACKS[p].length > 0).map((p) => ({
      [chatAlias(slot, p)]: PROFILE_FALLBACKS[p].map((f) => chatAlias(slot, f)),
    })),
  );

  const localDoc = {
    model_list: local,
    litellm_settings: { drop_params: true, request_timeout: 300, num_retries: 0 },
    router_settings: { num_retries: 0 },
    general_settings: generalSettings,
  };
  const productionDoc = {
    model_list: production,
    litellm_settings: { drop_params: true, request_timeout: 120, num_retries: 2, fallbacks },
    router_settings: { num_retries: 2, allowed_fails: 3, cooldown_time: 30 },
    general_settings: { ...generalSettings, database_url: 'os.environ/DATABASE_URL' },
  };
  return {
    'config.local.yaml':
      HEADER('Every alias served by the self-hosted model server, so the whole system runs offline.') +
      pyYamlFloats(stringify(localDoc, { lineWidth: 0 })),
    'config.production.yaml':
      HEADER("The seed's providers; API keys are read only from LiteLLM's own environment.") +
      pyYamlFloats(stringify(productionDoc, { lineWidth: 0 })),
  };
}
