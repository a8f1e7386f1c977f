import { z } from 'zod';
import { PROFILES } from './domain/model-aliases';

/**
 * Provider keys belong in LiteLLM's environment only (the seed's rule). The app refuses to start
 * when it finds one in its own environment, so a key can never leak through our logs or workers.
 */
export const FORBIDDEN_PROVIDER_KEYS = [
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GOOGLE_API_KEY',
  'GEMINI_API_KEY',
  'AZURE_API_KEY',
  'AZURE_OPENAI_API_KEY',
  'COHERE_API_KEY',
  'MISTRAL_API_KEY',
  'GROQ_API_KEY',
  'TOGETHER_API_KEY',
  'VOYAGE_API_KEY',
  'HUGGINGFACE_API_KEY',
  'AWS_SECRET_ACCESS_KEY',
] as const;

/** Secrets that are obviously placeholders are as bad as missing ones. */
const WEAK_SECRETS = /^(secret|changeme|change-me|password|jwt[-_]?secret|test|dev|default|your[-_ ]?secret.*)$/i;

const csv = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** @default 8001 (the seed's API port) */
  PORT: z.coerce.number().int().min(1).max(65535).default(8001),
  /** @default 127.0.0.1 */
  HOST: z.string().default('127.0.0.1'),

  JWT_SECRET_KEY: z
    .string({ error: 'JWT_SECRET_KEY is required' })
    .min(32, 'JWT_SECRET_KEY must be at least 32 characters (use a random value)')
    .refine((s) => !WEAK_SECRETS.test(s), 'JWT_SECRET_KEY is a well-known placeholder; use a random value')
    .refine((s) => new Set(s).size >= 10, 'JWT_SECRET_KEY has too little variety to be random'),
  /** @default 60 (the seed's access-token lifetime) */
  ACCESS_TOKEN_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(60),
  /** @default 7 (the seed's refresh-token lifetime) */
  REFRESH_TOKEN_DAYS: z.coerce.number().int().min(1).max(90).default(7),

  /** The first administrator, created on first start when no user exists yet (no default password anywhere). */
  NEURONODE_ADMIN_EMAIL: z.email().optional(),
  NEURONODE_ADMIN_PASSWORD: z.string().min(12, 'NEURONODE_ADMIN_PASSWORD must be at least 12 characters').max(200).optional(),
  /** Requests per minute per user, by role (shared across API processes through Redis). */
  RATE_LIMIT_USER_PER_MIN: z.coerce.number().int().min(1).default(300),
  RATE_LIMIT_POWER_USER_PER_MIN: z.coerce.number().int().min(1).default(600),
  RATE_LIMIT_ADMIN_PER_MIN: z.coerce.number().int().min(1).default(1200),
  /** Requests per minute per client address, before and regardless of authentication. */
  RATE_LIMIT_IP_PER_MIN: z.coerce.number().int().min(1).default(3000),
  /** Health checks per client address and minute (monitors poll it; each answer probes every store). */
  RATE_LIMIT_HEALTH_PER_MIN: z.coerce.number().int().min(1).default(120),
  /** Failed logins per account and address before it is blocked (each further failure doubles the block). */
  LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100).default(5),
  /** @default 900 s — the first login block */
  LOGIN_BLOCK_SECONDS: z.coerce.number().int().min(1).max(86_400).default(900),

  LITELLM_URL: z.url().default('http://127.0.0.1:4000'),
  LITELLM_MASTER_KEY: z
    .string({ error: 'LITELLM_MASTER_KEY is required' })
    .regex(/^sk-[A-Za-z0-9_-]{16,}$/, 'LITELLM_MASTER_KEY must look like sk-… with at least 16 characters after sk-'),
  /** @default 120000 ms per model call */
  LLM_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(120_000),
  /** @default local: every alias served by the self-hosted model server */
  DEFAULT_PROFILE: z.enum(PROFILES).default('local'),

  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a postgres:// URL'),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'REDIS_URL must be a redis:// URL'),
  NEO4J_URL: z.string().regex(/^(bolt|neo4j)(\+s|\+ssc)?:\/\//, 'NEO4J_URL must be a bolt:// or neo4j:// URL'),
  NEO4J_USER: z.string().min(1).default('neo4j'),
  NEO4J_PASSWORD: z.string().min(8, 'NEO4J_PASSWORD must be at least 8 characters'),
  CHROMA_URL: z.url().default('http://127.0.0.1:8000'),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  TEMPORAL_UI_URL: z.url().default('http://127.0.0.1:8233'),
  /** mTLS to a Temporal cluster or Temporal Cloud: the client certificate and key files (both or neither). */
  TEMPORAL_TLS_CERT_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY_FILE: z.string().min(1).optional(),
  /** The server's CA when it is not a public one; the server name when it differs from the address's host. */
  TEMPORAL_TLS_CA_FILE: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  /** Which task queues this worker process polls: both (the embedded default), or one of them when they scale apart. */
  WORKER_QUEUES: z.enum(['all', 'main', 'llm']).default('all'),
  /** @default 60000 ms a stopping worker lets running activities finish before it cancels them */
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000),
  /** Task-queue prefix; versioned so a deploy with incompatible activities can run side by side. */
  TASK_QUEUE_PREFIX: z.string().regex(/^[a-z0-9-]+$/).default('neuronode-v1'),

  /** @default nlp — the ingestion profile when an upload names none ('nlp' calls no LLM; others name alias profiles) */
  DEFAULT_INGEST_PROFILE: z.enum(['nlp', ...PROFILES]).default('nlp'),
  /** The model profile of questions that name none; the embedded default serves every alias locally. */
  DEFAULT_QUERY_PROFILE: z.enum(PROFILES).default('local'),
  /** @default 220 tokens per chunk (the benchmark compares at ≤ 256) */
  CHUNK_TOKENS: z.coerce.number().int().min(32).max(2048).default(220),
  /** @default 30 tokens of overlap between neighbouring chunks */
  CHUNK_OVERLAP_TOKENS: z.coerce.number().int().min(0).max(512).default(30),
  /** @default 50 MB per uploaded file */
  MAX_UPLOAD_BYTES: z.coerce.number().int().min(1).default(50 * 1024 * 1024),
  /** One upload request in all (every file of it): uploads are held in memory until stored. */
  MAX_REQUEST_BYTES: z.coerce.number().int().min(1).default(200 * 1024 * 1024),
  /** The heap of the thread one document is extracted in (a parser that needs more fails the document, not the worker). */
  EXTRACT_MAX_HEAP_MB: z.coerce.number().int().min(32).max(16_384).default(512),
  /** How long one document's extraction may take. */
  EXTRACT_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(120_000),
  /** What the ZIP archives of one batch request may inflate to in all. */
  MAX_REQUEST_INFLATED_BYTES: z.coerce.number().int().min(1).default(512 * 1024 * 1024),
  /** Browser origins allowed by CORS (comma-separated); empty allows none. */
  CORS_ORIGINS: csv,
  /** @default 5000 ms timeout for each dependency health probe */
  HEALTH_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  /** @default 30000 ms between WebSocket pings */
  WS_HEARTBEAT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  /** @default 15000 ms between system alert checks (dependencies, model error rates) */
  ALERT_INTERVAL_MS: z.coerce.number().int().min(500).max(3_600_000).default(15_000),
  /** @default weekly, Sunday 03:00 — when the model optimisation runs */
  OPTIMIZE_CRON: z.string().regex(/^(\S+\s+){4}\S+$/, 'OPTIMIZE_CRON must be a five-field cron expression').default('0 3 * * 0'),
  /** Models the optimisation compares (LiteLLM model names, comma-separated). */
  OPTIMIZE_CANDIDATES: csv.pipe(z.array(z.string()).min(1, 'OPTIMIZE_CANDIDATES names no model')).default(['local-gemma3-270m', 'local-smollm2-135m']),
  /** @default 0.5 — no choice may score below this on the golden set */
  OPTIMIZE_QUALITY_FLOOR: z.coerce.number().min(0).max(1).default(0.5),
  /** @default true — decisions wait for an administrator's approval */
  OPTIMIZE_REQUIRE_APPROVAL: z.enum(['true', 'false']).default('true').transform((v) => v === 'true'),
  /** Default for workspaces without their own setting: an ingestion estimated above this many USD waits for an administrator's approval (unset: none waits). */
  BUDGET_APPROVAL_USD: z.coerce.number().min(0).optional(),
  /** Default for workspaces without their own setting: model spend per UTC day after which new LLM work pauses (unset: no limit). */
  BUDGET_DAILY_USD: z.coerce.number().min(0).optional(),
  /** @default 168 hours an ingestion waits for a budget decision before it counts as rejected */
  BUDGET_APPROVAL_TIMEOUT_HOURS: z.coerce.number().min(0.001).max(24 * 90).default(168),
  /** @default 60000 ms between checks of a paused ingestion whether the day's spend limit still holds */
  BUDGET_RECHECK_MS: z.coerce.number().int().min(1000).max(86_400_000).default(60_000),
  /** @default 300 s that the per-alias probe results of /api/admin/models/health stay fresh */
  MODEL_PROBE_TTL_S: z.coerce.number().int().min(5).max(86_400).default(300),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
});

export type Env = z.infer<typeof envSchema>;
/** Every variable the configuration reads (deployment manifests are checked against it). */
export const CONFIG_KEYS = Object.keys(envSchema.shape) as (keyof Env)[];

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Parses and checks the environment; throws ConfigError naming every problem at once. */
export function parseConfig(env: NodeJS.ProcessEnv = process.env): Env {
  const problems: string[] = [];
  for (const key of FORBIDDEN_PROVIDER_KEYS) {
    if (env[key]) {
      problems.push(`${key} is set in the application's environment; provider keys belong only in LiteLLM's environment`);
    }
  }
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = issue.path.join('.') || '(environment)';
      problems.push(`${key}: ${issue.message}`);
    }
  } else if (!parsed.data.TEMPORAL_TLS_CERT_FILE !== !parsed.data.TEMPORAL_TLS_KEY_FILE) {
    problems.push('TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE: give both (mTLS) or neither');
  } else if ((parsed.data.TEMPORAL_TLS_CA_FILE || parsed.data.TEMPORAL_TLS_SERVER_NAME) && !parsed.data.TEMPORAL_TLS_CERT_FILE) {
    problems.push('TEMPORAL_TLS_CA_FILE / TEMPORAL_TLS_SERVER_NAME: only with TEMPORAL_TLS_CERT_FILE and TEMPORAL_TLS_KEY_FILE');
  }
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}

/**
 * Loads the configuration once for a process entry point; prints a readable message and exits with
 * status 78 (EX_CONFIG) on bad configuration. Library code receives the parsed Env, never process.env.
 */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Env {
  try {
    return parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`neuronode: refusing to start — ${err.message}\n`);
      process.exit(78);
    }
    throw err;
  }
}

export function taskQueues(env: Pick<Env, 'TASK_QUEUE_PREFIX'>) {
  return {
    /** Workflows and store-bound activities. */
    main: `${env.TASK_QUEUE_PREFIX}-main`,
    /** LLM calls: their own queue so their concurrency is bounded separately from store writes. */
    llm: `${env.TASK_QUEUE_PREFIX}-llm`,
  };
}
