import retry from 'async-retry';
import { ApplicationFailure } from '@temporalio/common';
import OpenAI, { APIError } from 'openai';
import type { Pool } from 'pg';
import { z } from 'zod';
import type Redis from 'ioredis';
import { CHAT_MATRIX, EMBEDDING_ALIASES, PROFILE_FALLBACKS, chatAlias, isProfile, type ChatAlias, type EmbeddingAlias, type TaskSlot } from '../domain/model-aliases';
import { SPEND_LIMIT_FAILURE } from '../budget';
import { CircuitBreakers, CircuitOpenError, type CircuitOptions } from './circuit';

/**
 * The one LLM client of the system. It talks only to the LiteLLM proxy and only by alias: callers
 * name a task alias, never a provider model. Every call is bounded by a timeout, retried by the
 * OpenAI client (which honours Retry-After on 429/503), and recorded in `model_calls`.
 */
export interface LlmCallContext {
  workspaceId?: string;
  workflowId?: string;
  activity?: string;
}

export interface LlmUsage {
  alias: string;
  servedBy: string | null;
  latencyMs: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

export interface LlmClientOptions {
  baseUrl: string;
  masterKey: string;
  /** @default 120000 */
  timeoutMs?: number;
  /** @default 2 — retries inside one call, honouring Retry-After; activities add their own retries on top */
  maxRetries?: number;
  /** Where per-call analytics go; omitted in pure unit tests. */
  db?: Pool;
  /** Where the assignment version is announced, so every process reroutes at once. */
  redis?: Redis;
  circuit?: CircuitOptions;
  /** Runs before each chat call of a workspace and throws to refuse it (the daily spend limit). */
  beforeCall?: (workspaceId: string | undefined) => Promise<void>;
}

/** Bumped whenever a model assignment changes; every client reloads its assignments on a change. */
export const ASSIGNMENTS_VERSION_KEY = 'neuronode:model-assignments:version';

interface Target {
  model: string;
  temperature?: number;
  maxTokens?: number;
}

/** Called with the whole text generated so far, after each streamed delta; `attempt` 1 is the repair. */
export type OnText = (textSoFar: string, attempt: number) => void;

interface CompleteOptions {
  maxTokens?: number;
  temperature?: number;
  responseFormat?: OpenAI.ChatCompletionCreateParams['response_format'];
  onText?: (textSoFar: string) => void;
}

export class LlmOutputError extends Error {
  constructor(
    message: string,
    readonly raw: string,
  ) {
    super(message);
    this.name = 'LlmOutputError';
  }
}

export class LlmClient {
  private readonly openai: OpenAI;
  /** LiteLLM deployment id → the provider model behind it, from the proxy's /model/info. */
  private deployments?: Promise<Map<string, string>>;
  /** Per-alias circuit breakers of this process. */
  readonly circuits: CircuitBreakers;
  private assignments?: { version: string | null; map: Map<string, string> };
  private prices?: { at: number; map: Map<string, { input: number; output: number }> };
  constructor(private readonly opts: LlmClientOptions) {
    this.circuits = new CircuitBreakers(opts.circuit);
    this.openai = new OpenAI({
      baseURL: `${opts.baseUrl.replace(/\/$/, '')}/v1`,
      apiKey: opts.masterKey,
      timeout: opts.timeoutMs ?? 120_000,
      maxRetries: opts.maxRetries ?? 2,
    });
  }

  /**
   * A chat completion whose output must match `schema`: the JSON schema is sent as a constrained
   * `response_format`, and the reply is validated with zod. One repair attempt is made with the
   * validation error shown to the model; after that the call fails with LlmOutputError.
   */
  async chatJson<T>(
    alias: ChatAlias | string,
    messages: OpenAI.ChatCompletionMessageParam[],
    schema: z.ZodType<T>,
    ctx: LlmCallContext = {},
    options: { maxTokens?: number; temperature?: number; schemaName?: string; onText?: OnText } = {},
  ): Promise<{ value: T; usage: LlmUsage; repaired: boolean }> {
    const jsonSchema = z.toJSONSchema(schema, { target: 'draft-7' }) as Record<string, unknown>;
    delete jsonSchema.$schema;
    let attempt = 0;
    let convo = messages;
    for (;;) {
      const attemptNo = attempt;
      const { text, usage } = await this.complete(alias, convo, ctx, {
        ...options,
        onText: options.onText ? (t: string) => options.onText!(t, attemptNo) : undefined,
        responseFormat: {
          type: 'json_schema',
          json_schema: { name: options.schemaName ?? 'output', schema: jsonSchema, strict: true },
        },
      });
      let problem: string;
      try {
        const parsed = schema.safeParse(JSON.parse(text));
        if (parsed.success) return { value: parsed.data, usage, repaired: attempt > 0 };
        problem = z.prettifyError(parsed.error);
      } catch (err) {
        problem = `not valid JSON: ${(err as Error).message}`;
      }
      if (attempt >= 1) throw new LlmOutputError(`${alias} returned output that fails its schema: ${problem}`, text);
      attempt++;
      convo = [
        ...messages,
        { role: 'assistant', content: text },
        { role: 'user', content: `That output is invalid (${problem}). Reply again with only JSON that matches the schema.` },
      ];
    }
  }

  /** A plain chat completion; returns the text. */
  async chat(
    alias: ChatAlias | string,
    messages: OpenAI.ChatCompletionMessageParam[],
    ctx: LlmCallContext = {},
    options: { maxTokens?: number; temperature?: number } = {},
  ): Promise<{ text: string; usage: LlmUsage }> {
    return this.complete(alias, messages, ctx, options);
  }

  private async complete(
    alias: string,
    messages: OpenAI.ChatCompletionMessageParam[],
    ctx: LlmCallContext,
    options: CompleteOptions,
  ): Promise<{ text: string; usage: LlmUsage }> {
    await this.opts.beforeCall?.(ctx.workspaceId);
    // Along the profile chain: an outage of one alias (or its open circuit) moves to the next.
    const chain = [alias, ...fallbacksOf(alias)];
    let lastError: unknown;
    for (const candidate of chain) {
      try {
        return await this.completeOnce(candidate, messages, ctx, options);
      } catch (err) {
        if (!isOutage(err) && !(err instanceof CircuitOpenError)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  private async completeOnce(
    alias: string,
    messages: OpenAI.ChatCompletionMessageParam[],
    ctx: LlmCallContext,
    options: CompleteOptions,
  ): Promise<{ text: string; usage: LlmUsage }> {
    const target = await this.resolve(alias);
    const maxTokens = options.maxTokens ?? target.maxTokens;
    const temperature = options.temperature ?? target.temperature;
    const onText = options.onText;
    if (onText) {
      // Streamed: the text so far after every delta; the usage arrives with the last chunk.
      return this.measured(alias, ctx, async () => {
        const { data: stream, response } = await this.openai.chat.completions
          .create({
            model: target.model,
            messages,
            stream: true,
            stream_options: { include_usage: true },
            ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
            ...(temperature !== undefined ? { temperature } : {}),
            ...(options.responseFormat ? { response_format: options.responseFormat } : {}),
          })
          .withResponse();
        let text = '';
        let usage: OpenAI.CompletionUsage | undefined;
        for await (const chunk of stream) {
          const delta = chunk.choices[0]?.delta?.content;
          if (delta) {
            text += delta;
            onText(text);
          }
          if (chunk.usage) usage = chunk.usage;
        }
        return { value: { text }, headers: response.headers, tokensIn: usage?.prompt_tokens ?? 0, tokensOut: usage?.completion_tokens ?? 0 };
      });
    }
    return this.measured(alias, ctx, async () => {
      const { data, response } = await this.openai.chat.completions
        .create({
          model: target.model,
          messages,
          ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}),
          ...(temperature !== undefined ? { temperature } : {}),
          ...(options.responseFormat ? { response_format: options.responseFormat } : {}),
        })
        .withResponse();
      return {
        value: { text: data.choices[0]?.message?.content ?? '' },
        headers: response.headers,
        tokensIn: data.usage?.prompt_tokens ?? 0,
        tokensOut: data.usage?.completion_tokens ?? 0,
      };
    });
  }

  /**
   * The model that serves an alias now: an assignment (an administrator's or the optimisation's)
   * names another LiteLLM model, called with the alias's own temperature and token limit;
   * otherwise the alias itself. Assignments are reloaded when their version in Redis changes.
   */
  private async resolve(alias: string): Promise<Target> {
    const { db, redis } = this.opts;
    if (!db || !redis) return { model: alias };
    try {
      const version = await redis.get(ASSIGNMENTS_VERSION_KEY);
      if (!this.assignments || this.assignments.version !== version) {
        const rows = (await db.query<{ task: string; profile: string; model: string }>(`SELECT task, profile, model FROM model_assignments`)).rows;
        this.assignments = { version, map: new Map(rows.map((r) => [`${r.task}_${r.profile}`, r.model])) };
      }
    } catch (err) {
      // Redis or PostgreSQL unavailable: the assignments last loaded stay in force, and the log says so.
      console.warn(`model assignments could not be reloaded (${(err as Error).message}); the ones loaded before stay in force`);
    }
    const model = this.assignments?.map.get(alias);
    const [slot, profile] = splitAlias(alias);
    if (!model || !slot || !profile || !isProfile(profile) || !(slot in CHAT_MATRIX)) return { model: alias };
    const d = CHAT_MATRIX[slot as TaskSlot][profile];
    return { model, temperature: d.temperature, maxTokens: d.maxTokens };
  }

  /**
   * What the gateway charges per token for the model that serves `alias` now (its assignment, or the
   * alias itself), from LiteLLM's /model/info; unknown prices count as zero.
   */
  async priceOf(alias: string): Promise<{ input: number; output: number; model: string }> {
    const { model } = await this.resolve(alias);
    if (!this.prices || this.prices.at < Date.now() - 60_000) {
      const res = await fetch(`${this.opts.baseUrl.replace(/\/$/, '')}/model/info`, {
        headers: { Authorization: `Bearer ${this.opts.masterKey}` },
        signal: AbortSignal.timeout(5000),
      });
      if (!res.ok) throw new Error(`LiteLLM /model/info answered ${res.status}`);
      const body = (await res.json()) as { data?: { model_name?: string; model_info?: { input_cost_per_token?: number | string | null; output_cost_per_token?: number | string | null } }[] };
      const map = new Map<string, { input: number; output: number }>();
      for (const d of body.data ?? []) {
        if (d.model_name && !map.has(d.model_name)) map.set(d.model_name, { input: Number(d.model_info?.input_cost_per_token ?? 0) || 0, output: Number(d.model_info?.output_cost_per_token ?? 0) || 0 });
      }
      this.prices = { at: Date.now(), map };
    }
    return { ...(this.prices.map.get(model) ?? { input: 0, output: 0 }), model };
  }

  /**
   * One minimal real call through `alias` alone (no fallback): a one-token completion, or one
   * embedding. Recorded like every call; an open circuit answers without a call.
   */
  async probe(alias: string, timeoutMs = 20_000): Promise<{ ok: boolean; latency_ms: number; served_by: string | null; error?: string }> {
    const started = Date.now();
    const ctx = { activity: 'health_probe' };
    try {
      const call = (EMBEDDING_ALIASES as readonly string[]).includes(alias)
        ? this.embed(alias, ['ping'], ctx).then((r) => r.usage)
        : this.completeOnce(alias, [{ role: 'user', content: 'Say OK.' }], ctx, { maxTokens: 1 }).then((r) => r.usage);
      const usage = await Promise.race([call, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs).unref())]);
      return { ok: true, latency_ms: Date.now() - started, served_by: usage.servedBy };
    } catch (err) {
      return { ok: false, latency_ms: Date.now() - started, served_by: null, error: `${errorClass(err)}: ${(err as Error).message}`.slice(0, 300) };
    }
  }

  /** The model names the gateway serves (aliases and directly addressable models). */
  async models(): Promise<string[]> {
    const page = await this.openai.models.list();
    return page.data.map((m) => m.id).sort();
  }

  /** Embeddings for `texts`, in order, through an embedding alias. */
  async embed(
    alias: EmbeddingAlias | string,
    texts: string[],
    ctx: LlmCallContext = {},
  ): Promise<{ vectors: number[][]; model: string; usage: LlmUsage }> {
    const out = await this.measured(alias, ctx, async () => {
      const { data, response } = await this.openai.embeddings
        .create({ model: alias, input: texts, encoding_format: 'float' })
        .withResponse();
      const vectors = [...data.data].sort((a, b) => a.index - b.index).map((d) => d.embedding);
      return { value: { vectors }, headers: response.headers, tokensIn: data.usage?.prompt_tokens ?? 0, tokensOut: 0 };
    });
    return { vectors: out.vectors, model: out.usage.servedBy ?? alias, usage: out.usage };
  }

  /** Runs one gateway call, measuring it and recording it (success or failure) in the analytics. */
  private async measured<T>(
    alias: string,
    ctx: LlmCallContext,
    call: () => Promise<{ value: T; headers: Headers; tokensIn: number; tokensOut: number }>,
  ): Promise<T & { usage: LlmUsage }> {
    const started = Date.now();
    let r: Awaited<ReturnType<typeof call>>;
    try {
      this.circuits.before(alias);
      r = await call();
      this.circuits.success(alias);
    } catch (err) {
      if (isOutage(err)) this.circuits.failure(alias);
      const usage = { alias, servedBy: null, latencyMs: Date.now() - started, tokensIn: 0, tokensOut: 0, costUsd: 0 };
      await this.record(usage, ctx, false, errorClass(err));
      throw err;
    }
    const usage: LlmUsage = {
      alias,
      servedBy: await this.servedBy(r.headers),
      latencyMs: Date.now() - started,
      tokensIn: r.tokensIn,
      tokensOut: r.tokensOut,
      costUsd: Number(r.headers.get('x-litellm-response-cost') ?? 0) || 0,
    };
    await this.record(usage, ctx, true, null);
    return { ...r.value, usage };
  }

  /**
   * The provider model that actually served a call: LiteLLM names the deployment in the
   * x-litellm-model-id header; /model/info maps deployment ids to models (looked up once, again on a miss).
   */
  private async servedBy(headers: Headers): Promise<string | null> {
    const id = headers.get('x-litellm-model-id');
    if (!id) return null;
    let map = await (this.deployments ??= this.loadDeployments());
    if (!map.has(id)) map = await (this.deployments = this.loadDeployments());
    return map.get(id) ?? id;
  }

  private async loadDeployments(): Promise<Map<string, string>> {
    try {
      const res = await fetch(`${this.opts.baseUrl.replace(/\/$/, '')}/model/info`, {
        headers: { Authorization: `Bearer ${this.opts.masterKey}` },
        signal: AbortSignal.timeout(5000),
      });
      const body = (await res.json()) as { data?: { model_info?: { id?: string }; litellm_params?: { model?: string } }[] };
      return new Map((body.data ?? []).flatMap((d) => (d.model_info?.id && d.litellm_params?.model ? [[d.model_info.id, d.litellm_params.model]] : [])));
    } catch (err) {
      // LiteLLM's model list unreachable: calls are recorded under the deployment id until it answers.
      console.warn(`LiteLLM's /model/info could not be read (${(err as Error).message}); serving models are recorded by deployment id`);
      return new Map();
    }
  }

  /** LiteLLM's readiness endpoint (no model call). */
  async ping(): Promise<string> {
    const res = await fetch(`${this.opts.baseUrl.replace(/\/$/, '')}/health/readiness`, {
      signal: AbortSignal.timeout(5000),
    });
    if (!res.ok) throw new Error(`LiteLLM readiness answered ${res.status}`);
    const body = (await res.json()) as { litellm_version?: string; status?: string };
    return `LiteLLM ${body.litellm_version ?? '?'} (${body.status ?? '?'})`;
  }

  /**
   * Writes the call to model_calls, the rows the daily spend limit sums: retried while PostgreSQL is
   * away, and when it stays away the call fails (its activity retries) rather than going unrecorded.
   */
  private async record(usage: LlmUsage, ctx: LlmCallContext, ok: boolean, error: string | null): Promise<void> {
    const db = this.opts.db;
    if (!db) return;
    const [task, profile] = splitAlias(usage.alias);
    const row = [
      ctx.workspaceId ?? null,
      usage.alias,
      usage.servedBy,
      task,
      profile,
      usage.latencyMs,
      usage.tokensIn,
      usage.tokensOut,
      usage.costUsd,
      ok,
      error,
      ctx.workflowId ?? null,
      ctx.activity ?? null,
    ];
    try {
      await retry(
        () =>
          db.query(
            `INSERT INTO model_calls (workspace_id, alias, served_by, task, profile, latency_ms, tokens_in, tokens_out,
                                      cost_usd, ok, error_class, workflow_id, activity)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)`,
            row,
          ),
        { retries: RECORD_RETRIES, minTimeout: 250, maxTimeout: 4000 },
      );
    } catch (err) {
      throw new ModelCallNotRecordedError(usage.alias, err);
    }
  }
}

/** How often a model call's analytics row is retried before the call itself fails. */
const RECORD_RETRIES = 5;

/** A model call that happened but could not be written where the spend limit counts it. */
export class ModelCallNotRecordedError extends Error {
  constructor(alias: string, cause: unknown) {
    super(`the call of ${alias} could not be recorded in model_calls: ${(cause as Error).message}`, { cause });
    this.name = 'ModelCallNotRecordedError';
  }
}

function splitAlias(alias: string): [string | null, string | null] {
  const m = /^(classification|extraction|synthesis|validation_primary|validation_secondary)_(premium|balanced|cost_effective|fast|local)$/.exec(alias);
  return m ? [m[1]!, m[2]!] : [alias.startsWith('text_embedding') ? 'embedding' : null, null];
}

/** The aliases to try after `alias` fails: the same task slot on the profile's fallback chain. */
export function fallbacksOf(alias: string): string[] {
  const [slot, profile] = splitAlias(alias);
  if (!slot || !profile || !isProfile(profile) || slot === 'embedding') return [];
  return PROFILE_FALLBACKS[profile].map((p) => chatAlias(slot as TaskSlot, p));
}

/** Failures that say the gateway or model is unavailable (not that the model answered badly). */
function isOutage(err: unknown): boolean {
  // A call that was served but not recorded is no reason to call another model.
  if (err instanceof CircuitOpenError || err instanceof ModelCallNotRecordedError) return false;
  if (err instanceof APIError) return err.status === undefined || err.status === 429 || err.status >= 500;
  return !(err instanceof LlmOutputError);
}

/**
 * A failure of the model call itself (unreachable, refused, an open circuit, output failing its schema,
 * the daily spend limit), as opposed to a fault of our own process that must propagate.
 */
export function isModelFailure(err: unknown): boolean {
  if (err instanceof CircuitOpenError || err instanceof APIError || err instanceof LlmOutputError) return true;
  return err instanceof ApplicationFailure && err.type === SPEND_LIMIT_FAILURE;
}

export function errorClass(err: unknown): string {
  if (err instanceof CircuitOpenError) return 'circuit_open';
  if (err instanceof APIError) return `http_${err.status ?? 'network'}`;
  if (err instanceof LlmOutputError) return 'invalid_output';
  if (err instanceof Error) return err.name;
  return 'unknown';
}
