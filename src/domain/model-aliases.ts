/**
 * The "smart alias" matrix: the ONE source of truth for every model alias the system calls.
 *
 * Four tasks (validation has a primary and a secondary reviewer, so five task slots) × five profiles
 * = 25 chat aliases, plus 2 embedding aliases = 27. `scripts/gen-litellm-config.ts` derives both
 * LiteLLM configurations from this file, and the TypeScript types below are derived from it too, so a
 * caller can only name an alias that exists.
 *
 * Profiles:
 * - premium: quality first (the seed's Claude / GPT-4o tier).
 * - balanced: quality per cost (the seed's GPT-4o-mini tier).
 * - cost_effective: cost first (the seed's Gemini Flash tier).
 * - fast: latency first, for interactive paths (small hosted models).
 * - local: data never leaves the premises; every call goes to the self-hosted model server.
 */

export const TASKS = [
  'classification',
  'extraction',
  'synthesis',
  'validation_primary',
  'validation_secondary',
] as const;
export type TaskSlot = (typeof TASKS)[number];

/** The four tasks of the seed; validation is served by its primary and secondary slots. */
export type Task = 'classification' | 'extraction' | 'synthesis' | 'validation';

export const PROFILES = ['premium', 'balanced', 'cost_effective', 'fast', 'local'] as const;
export type Profile = (typeof PROFILES)[number];

export type ChatAlias = `${TaskSlot}_${Profile}`;
export const EMBEDDING_ALIASES = ['text_embedding_3_large', 'text_embedding_ada_002'] as const;
export type EmbeddingAlias = (typeof EMBEDDING_ALIASES)[number];
export type ModelAlias = ChatAlias | EmbeddingAlias;

export interface ChatDeployment {
  /** LiteLLM provider/model string used by the production configuration. */
  model: string;
  /** Environment variable (in LiteLLM's environment only) holding the provider key. */
  keyEnv?: string;
  temperature: number;
  maxTokens: number;
}

const ANTHROPIC = (model: string) => ({ model: `anthropic/${model}`, keyEnv: 'ANTHROPIC_API_KEY' });
const OPENAI = (model: string) => ({ model: `openai/${model}`, keyEnv: 'OPENAI_API_KEY' });
const GEMINI = (model: string) => ({ model: `gemini/${model}`, keyEnv: 'GOOGLE_API_KEY' });
/** Models the self-hosted server offers; candidates for the model-optimisation workflow. */
export const LOCAL_CHAT_MODELS = ['local-gemma3-270m', 'local-smollm2-135m', 'local-qwen2.5-coder-1.5b'] as const;
export type LocalChatModel = (typeof LOCAL_CHAT_MODELS)[number];
/**
 * The local embedding model behind both embedding aliases: multilingual-e5-small (German and English
 * in one vector space), questions and passages alike with E5's "query: " prefix — chosen by
 * `npm run eval:embeddings` (bench/results/embeddings.json), where it ranked MultiHop-RAG passages
 * better than all-MiniLM-L6-v2, E5 small v2 and BGE small en v1.5 on every metric, better than with
 * E5's asymmetric "passage: " prefix, and was the only candidate whose fusion with BM25 helped.
 */
export const LOCAL_EMBEDDING_MODEL = 'local-multilingual-e5-small';

/**
 * Cosine similarity above which two entities of the same type merge, by the embedding model that
 * served their vectors: models spread similarities differently (E5's unrelated names already lie near
 * 0.9). Calibrated on entity-name pairs (tests/integration/entity-merge.test.ts): variants of one name
 * ("Deutsche Bahn AG" / "Deutsche Bahn") above, different entities of a type ("Deutsche Bahn" /
 * "Deutsche Bank") below. Not merging is the safe side: a false merge corrupts the graph.
 */
export function entityMergeSimilarity(servedBy: string): number {
  return /multilingual-e5/.test(servedBy) ? 0.96 : 0.92;
}

/**
 * The self-hosted model server (OpenAI-compatible); its address is LiteLLM's LOCAL_MODEL_API_BASE.
 * Each task slot names the local model that serves it: a bigger one where quality matters, a small
 * one where speed does (bench/results/models.json and multihop-dev.json hold the measurements).
 */
const SELF_HOSTED = (model: LocalChatModel) => ({ model: `openai/${model}`, keyEnv: 'LOCAL_MODEL_API_KEY' });
/** Intent classification and entity extraction: many short calls per document or question, speed first. */
const LOCAL_SMALL = SELF_HOSTED('local-gemma3-270m');
/**
 * The answer and its review: one call each per question, where quality decides whether the answer is
 * right (bench/results/multihop-answers-tune-*.json: Qwen2.5-Coder-1.5B 0.50 against Gemma 3 270M 0.25).
 */
const LOCAL_LARGE = SELF_HOSTED('local-qwen2.5-coder-1.5b');

const CLAUDE = ANTHROPIC('claude-3-5-sonnet-20241022');
const HAIKU = ANTHROPIC('claude-3-5-haiku-20241022');
const GPT4O = OPENAI('gpt-4o');
const GPT4O_MINI = OPENAI('gpt-4o-mini');
const FLASH = GEMINI('gemini-1.5-flash');
const FLASH_8B = GEMINI('gemini-1.5-flash-8b');

/** Production deployments, task slot × profile. Temperatures and token limits follow the seed. */
export const CHAT_MATRIX: Record<TaskSlot, Record<Profile, ChatDeployment>> = {
  classification: {
    premium: { ...CLAUDE, temperature: 0.1, maxTokens: 500 },
    balanced: { ...GPT4O_MINI, temperature: 0.2, maxTokens: 400 },
    cost_effective: { ...FLASH, temperature: 0.3, maxTokens: 300 },
    fast: { ...FLASH_8B, temperature: 0.2, maxTokens: 300 },
    local: { ...LOCAL_SMALL, temperature: 0.1, maxTokens: 300 },
  },
  extraction: {
    premium: { ...CLAUDE, temperature: 0.0, maxTokens: 2000 },
    balanced: { ...GPT4O_MINI, temperature: 0.0, maxTokens: 1500 },
    cost_effective: { ...FLASH, temperature: 0.0, maxTokens: 1500 },
    fast: { ...FLASH_8B, temperature: 0.0, maxTokens: 1000 },
    local: { ...LOCAL_SMALL, temperature: 0.0, maxTokens: 1000 },
  },
  synthesis: {
    premium: { ...CLAUDE, temperature: 0.7, maxTokens: 4000 },
    balanced: { ...GPT4O, temperature: 0.5, maxTokens: 2000 },
    cost_effective: { ...FLASH, temperature: 0.5, maxTokens: 1500 },
    fast: { ...HAIKU, temperature: 0.3, maxTokens: 1000 },
    local: { ...LOCAL_LARGE, temperature: 0.0, maxTokens: 600 },
  },
  validation_primary: {
    premium: { ...GPT4O, temperature: 0.1, maxTokens: 1000 },
    balanced: { ...GPT4O_MINI, temperature: 0.1, maxTokens: 800 },
    cost_effective: { ...FLASH, temperature: 0.1, maxTokens: 600 },
    fast: { ...FLASH_8B, temperature: 0.1, maxTokens: 400 },
    local: { ...LOCAL_LARGE, temperature: 0.0, maxTokens: 400 },
  },
  validation_secondary: {
    premium: { ...CLAUDE, temperature: 0.1, maxTokens: 1000 },
    balanced: { ...HAIKU, temperature: 0.1, maxTokens: 800 },
    cost_effective: { ...FLASH_8B, temperature: 0.1, maxTokens: 600 },
    fast: { ...GPT4O_MINI, temperature: 0.1, maxTokens: 400 },
    local: { ...LOCAL_LARGE, temperature: 0.0, maxTokens: 400 },
  },
};

export interface EmbeddingDeployment {
  model: string;
  keyEnv: string;
  /** Vector dimension in production; the local model's dimension is recorded per Chroma collection. */
  dimension: number;
}

export const EMBEDDING_MATRIX: Record<EmbeddingAlias, EmbeddingDeployment> = {
  text_embedding_3_large: { ...OPENAI('text-embedding-3-large'), keyEnv: 'OPENAI_API_KEY', dimension: 3072 },
  text_embedding_ada_002: { ...OPENAI('text-embedding-ada-002'), keyEnv: 'OPENAI_API_KEY', dimension: 1536 },
};

/** Which embedding alias serves which collection (the seed's choice). */
export const EMBEDDING_FOR = { chunks: 'text_embedding_3_large', entities: 'text_embedding_ada_002' } as const;

/** Fallback order when a profile's model fails: the next profile's alias for the same task slot. */
export const PROFILE_FALLBACKS: Record<Profile, Profile[]> = {
  premium: ['balanced', 'local'],
  balanced: ['cost_effective', 'local'],
  cost_effective: ['fast', 'local'],
  fast: ['cost_effective', 'local'],
  local: [],
};

export function chatAlias(slot: TaskSlot, profile: Profile): ChatAlias {
  return `${slot}_${profile}`;
}

export function allChatAliases(): ChatAlias[] {
  return TASKS.flatMap((t) => PROFILES.map((p) => chatAlias(t, p)));
}

export function allAliases(): ModelAlias[] {
  return [...allChatAliases(), ...EMBEDDING_ALIASES];
}

export function isProfile(value: string): value is Profile {
  return (PROFILES as readonly string[]).includes(value);
}


/** The local model that serves a task slot (the name the model server and LiteLLM know it by). */
export function localModelFor(slot: TaskSlot): LocalChatModel {
  return CHAT_MATRIX[slot].local.model.slice('openai/'.length) as LocalChatModel;
}
