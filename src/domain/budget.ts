import type OpenAI from 'openai';
import { countTokens } from './chunking';
import { EXTRACTION_BATCH_CHUNKS, classificationMessages, extractionMessages } from './prompts';

/**
 * What an ingestion will cost before any model is called: the prompts the pipeline will really send
 * (built from the stored chunks and counted with the tokenizer), the output each call may produce,
 * and the gateway's prices per token for the aliases that will serve them.
 */
export interface TokenPrice {
  input: number;
  output: number;
}

export interface IngestionCostInput {
  title: string;
  format: string | null;
  /** The document's chunks in order. */
  chunks: string[];
  /** Whether the profile classifies and extracts with models (the `nlp` profile does not). @default true */
  chatCalls?: boolean;
  prices: { classification: TokenPrice; extraction: TokenPrice; embedding: TokenPrice };
  /** Output tokens a call may produce at most (its max_tokens). */
  maxOutput: { classification: number; extraction: number };
  /**
   * Output tokens a call produced on average recently, when enough calls are on record; the bound
   * above stands in otherwise.
   */
  observedOutput?: { classification?: number; extraction?: number };
}

export interface IngestionCostEstimate {
  calls: number;
  tokens_in: number;
  tokens_out: number;
  /** The cost with observed output lengths (or the bounds where none are on record). */
  cost_usd: number;
  /** The cost if every call wrote its whole max_tokens. */
  worst_case_usd: number;
  embedding_tokens: number;
  basis: { classification_out: 'observed' | 'bound'; extraction_out: 'observed' | 'bound' };
}

/** Tokens of a prompt as the gateway counts them: content plus a few per message. */
export function promptTokens(messages: OpenAI.ChatCompletionMessageParam[]): number {
  return messages.reduce((n, m) => n + 4 + countTokens(typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '')), 2);
}

export function estimateIngestionCost(d: IngestionCostInput): IngestionCostEstimate {
  const chat = d.chatCalls !== false;
  let clsIn = 0;
  let extIn = 0;
  let batches = 0;
  if (chat) {
    // Classification reads the first three chunks (up to 3000 characters), as the pipeline does.
    const sample = d.chunks.slice(0, 3).join('\n\n').slice(0, 3000);
    clsIn = promptTokens(classificationMessages({ title: d.title, format: d.format, sample }));
    for (let i = 0; i < d.chunks.length; i += EXTRACTION_BATCH_CHUNKS) {
      extIn += promptTokens(extractionMessages(d.chunks.slice(i, i + EXTRACTION_BATCH_CHUNKS)));
      batches++;
    }
  }
  // Every chunk is embedded, whatever the profile.
  const embeddingTokens = d.chunks.reduce((n, c) => n + countTokens(c), 0);
  const clsCalls = chat ? 1 : 0;
  const clsOut = d.observedOutput?.classification ?? d.maxOutput.classification;
  const extOut = d.observedOutput?.extraction ?? d.maxOutput.extraction;
  const cost = (clsO: number, extO: number) =>
    clsIn * d.prices.classification.input + clsCalls * clsO * d.prices.classification.output + extIn * d.prices.extraction.input + batches * extO * d.prices.extraction.output + embeddingTokens * d.prices.embedding.input;
  return {
    calls: clsCalls + batches,
    tokens_in: clsIn + extIn,
    tokens_out: Math.round(clsCalls * clsOut + batches * extOut),
    cost_usd: round(cost(clsOut, extOut)),
    worst_case_usd: round(cost(d.maxOutput.classification, d.maxOutput.extraction)),
    embedding_tokens: embeddingTokens,
    basis: { classification_out: d.observedOutput?.classification === undefined ? 'bound' : 'observed', extraction_out: d.observedOutput?.extraction === undefined ? 'bound' : 'observed' },
  };
}

const round = (usd: number) => Math.round(usd * 1e9) / 1e9;

/** The next midnight (UTC) after `now`: when a day's spend starts again from zero. */
export function nextUtcMidnight(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
}
