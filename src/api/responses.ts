import { z } from 'zod';
import { FORMATS } from '../domain/formats';

/**
 * What the routes answer, as zod schemas: the OpenAPI document publishes them and the tests check
 * real responses against that document. Objects are open (later fields may be added); the fields
 * named here are promised.
 */
const obj = z.looseObject;
const str = z.string();
const num = z.number();
const nullableStr = z.string().nullable();
const page = { total: z.number().int(), limit: z.number().int(), offset: z.number().int() };
const ROLE = z.enum(['admin', 'power_user', 'user']);
const timestamp = z.string().describe('ISO 8601 time');

export const HealthResponse = obj({
  status: z.enum(['healthy', 'unhealthy']),
  failing: z.array(str),
  /** Only for callers with the model_management permission. */
  dependencies: z.record(str, obj({ ok: z.boolean(), latency_ms: num, error: str.optional() })).optional(),
});
export const StatusResponse = obj({
  service: str,
  version: str,
  uptime_s: num,
  temporal_ui: str,
  /** The model gateway's own administration UI. */
  litellm_ui: str,
  services: z.record(str, obj({ state: z.enum(['up', 'down']), version: nullableStr, latency_ms: num, error: str.optional() })),
});
export const SystemCheckResponse = obj({ workflow_id: str, run_id: str });

export const TokenResponse = obj({
  access_token: str,
  token_type: z.literal('Bearer'),
  expires_in: num,
  /** Absent for a browser session: the token is in the httpOnly session cookie. */
  refresh_token: str.optional(),
  refresh_expires_in: num,
  workspace_id: str,
});
export const LoginResponse = TokenResponse.extend({ user: obj({ id: str, email: str, role: ROLE }) });
export const LogoutResponse = obj({ logged_out: z.boolean(), refresh_families_revoked: num });
export const MeResponse = obj({ id: str, email: str, role: ROLE, workspace_id: str, permissions: z.array(str), workspaces: z.array(obj({ id: str, name: str, role: ROLE })) });

const StoredDocument = obj({ document_id: str, workflow_id: nullableStr, filename: str, size_bytes: num, checksum: str, duplicate: z.boolean(), status: str });
export const UploadResponse = obj({ documents: z.array(StoredDocument) });
export const BatchUploadResponse = obj({ batch_id: str, workflow_id: str, total: num, duplicates: num, documents: z.array(StoredDocument) });
export const IngestBatchResponse = obj({ batch_id: str, status: str, progress: z.unknown() });
const count = num.int().min(0).optional();
/** What ingestion produced so far; each stage adds its own (empty before the first, and after deletion). */
const DocumentCounts = obj({
  chunks: count,
  tokens_indexed: count,
  chunk_vectors: count,
  entities: count,
  entity_vectors: count,
  mentions: count,
  relations: count,
  references: count,
  attachments: count,
  llm_tokens: count,
});
/** The running workflow's own account, while it runs (null otherwise). */
const IngestProgress = obj({
  stage: str,
  percent: num,
  chunks_total: num,
  chunks_done: num,
  entities: num,
  relations: num,
  tokens: num,
  cost_usd: num,
  errors: z.array(str),
  budget: obj({}).optional().describe("the budget gate's estimate and, once made, its decision"),
  paused: obj({ reason: str, since: timestamp, resume_at: timestamp.optional() }).nullable().optional().describe('why model work waits now (the daily spend limit), and until when at the latest'),
});
const DocumentRecord = obj({
  id: str,
  workspace_id: str,
  filename: str,
  format: nullableStr,
  status: z.enum(['queued', 'processing', 'completed', 'failed', 'deleting', 'cancelled', 'awaiting_approval', 'rejected']),
  stage: str,
  title: nullableStr,
  language: nullableStr,
  visibility: z.enum(['private', 'organisation']),
  owner_id: nullableStr,
  profile: str.describe('the ingestion profile of its latest run (nlp: no model; otherwise a model profile)'),
  metadata: obj({}),
  counts: DocumentCounts,
  budget: obj({}).nullable().describe('the budget estimate and decision, when the budget gate looked at this ingestion'),
  created_at: timestamp,
  updated_at: timestamp,
});
export const DocumentListResponse = obj({ ...page, documents: z.array(DocumentRecord) });
export const DocumentResponse = DocumentRecord.extend({ progress: IngestProgress.nullable() });
const Neighbour = obj({ chunk_id: str, position: num, page: num.nullable(), text: str });
export const ChunkResponse = obj({
  chunk_id: str,
  document_id: str,
  title: str,
  filename: str,
  /** The document's format (pdf, docx, markdown, …): a PDF's page can be drawn from its original. */
  format: z.enum(FORMATS),
  position: num,
  page: num.nullable(),
  section: nullableStr,
  text: str,
  before: z.array(Neighbour),
  after: z.array(Neighbour),
});
export const DocumentChunksResponse = obj({ ...page, chunks: z.array(obj({ chunk_id: str, position: num, page: num.nullable(), section: nullableStr, text: str })) });
export const DeleteResponse = obj({ document_id: str, workflow_id: str });
export const ReprocessResponse = obj({ document_id: str, workflow_id: str, profile: str });

const Ranks = obj({ vector: num.optional(), keyword: num.optional(), graph: num.optional() });
export const RetrieveResponse = obj({
  question: str,
  mode: str,
  chunks: z.array(obj({ chunk_id: str, document_id: str, title: str, page: num.nullable(), position: num, text: str, score: num, ranks: Ranks })),
  plan: obj({}),
  timings_ms: obj({}),
});
export const AnswerResponseSchema = obj({
  query_id: str,
  workflow_id: nullableStr,
  question: str,
  answer: str,
  citations: z.array(obj({ n: num, document_id: str, title: str, chunk_id: str, page: num.nullable(), snippet: str, score: num })),
  entities: z.array(obj({ id: str, name: str, type: str })),
  graph_paths: z.array(obj({ nodes: z.array(str), relations: z.array(str) })),
  validation: obj({ grounded: z.boolean(), score: num, reasons: z.array(str) }),
  stages: z.record(str, obj({})),
  tokens: num,
  cost_usd: num,
  cached: z.boolean(),
});
export const HistoryResponse = obj({
  ...page,
  // `withheld`: another user's answer that drew on a document private to someone else (answer null).
  queries: z.array(
    obj({
      id: str,
      user_id: str,
      question: str,
      answer: nullableStr,
      grounded: z.boolean().nullable(),
      status: str,
      withheld: z.boolean(),
      cached: z.boolean(),
      batch_id: nullableStr,
      duration_ms: num.nullable(),
      mode: nullableStr,
      profile: nullableStr,
      created_at: timestamp,
    }),
  ),
});
/** A query batch's progress: the running workflow's own account, else what it last recorded (empty before its first). */
const BatchQueryProgress = obj({ total: num.optional(), started: num.optional(), completed: num.optional(), failed: num.optional(), in_flight: num.optional(), percent: num.optional() });
export const BatchListResponse = obj({
  ...page,
  batches: z.array(
    obj({
      batch_id: str,
      user_id: nullableStr,
      status: z.enum(['running', 'completed', 'cancelled', 'failed']),
      total: num,
      progress: BatchQueryProgress,
      profile: nullableStr,
      generate: z.boolean(),
      created_at: timestamp,
      finished_at: timestamp.nullable(),
    }),
  ),
});
export const BatchStartResponse = obj({ batch_id: str, workflow_id: str, total: num });
export const BatchStatusResponse = obj({
  batch_id: str,
  workflow_id: str,
  status: str,
  total: num,
  progress: BatchQueryProgress,
  results: obj({ stored: num, completed: num }),
  created_at: timestamp,
  finished_at: timestamp.nullable(),
});
export const BatchResultsResponse = obj({ batch_id: str, total: num, limit: num, offset: num, results: z.array(obj({ index: num, question: str, status: str })) });
export const BatchCancelResponse = obj({ batch_id: str, status: z.literal('cancelling') });
export const QueryRecordResponse = obj({ query_id: str, question: str, status: str, request: obj({}), response: z.unknown(), created_at: timestamp });

const EntitySummary = obj({ id: str, name: str, type: str, aliases: z.array(str).nullable(), mentions: num, degree: num });
export const EntityListResponse = obj({ limit: num, offset: num, entities: z.array(EntitySummary) });
export const EntityResponse = obj({
  id: str,
  name: str,
  type: str,
  mentions: z.array(obj({ chunk_id: str, document_id: str, snippet: str })),
  neighbours: z.array(obj({ id: str, name: str, type: str, relation: str })),
});
export const RelationshipListResponse = obj({ limit: num, offset: num, relationships: z.array(obj({ source_id: str, source: str, target_id: str, target: str, type: str })) });
export const GraphDataResponse = obj({
  seeds: z.array(str),
  depth: num,
  limit: num,
  offset: num,
  nodes: z.array(obj({ id: str, name: str, type: str, mentions: num })),
  edges: z.array(obj({ source: str, target: str, type: str })),
});
export const GraphOverviewResponse = obj({
  limit: num,
  /** Visible entities in the workspace (of the types asked for); `truncated` when more than were returned. */
  total_entities: num,
  truncated: z.boolean(),
  nodes: z.array(obj({ id: str, name: str, type: str, mentions: num })),
  /** At most four times `limit`, heaviest first. */
  edges: z.array(obj({ source: str, target: str, type: str, weight: num })),
});
export const CypherResponse = obj({
  rows: z.array(obj({})),
  row_count: num,
  truncated: z.boolean(),
  ms: num,
  /** The nodes and relationships among the rows' values, for a graph view of the result. */
  graph: obj({
    nodes: z.array(obj({ id: str, labels: z.array(str), name: str, type: str })),
    relationships: z.array(obj({ id: str, type: str, source: str, target: str })),
    dangling: num,
  }),
});

const Member = obj({ id: str, email: str, role: ROLE, disabled: z.boolean() });
export const UserListResponse = obj({ ...page, users: z.array(Member) });
export const UserResponse = Member;
export const WorkspaceResponse = obj({ id: str, name: str, role: ROLE });
export const MemberResponse = obj({ workspace_id: str, user_id: str, email: str, role: ROLE });
export const AuditResponse = obj({
  ...page,
  entries: z.array(
    obj({
      id: num,
      at: timestamp,
      workspace_id: nullableStr,
      action: str,
      resource: nullableStr,
      outcome: z.enum(['success', 'failure', 'denied']),
      actor_id: nullableStr,
      actor_email: nullableStr,
      role: nullableStr,
      status: num.nullable(),
      details: obj({}).nullable(),
    }),
  ),
});

export const ModelHealthResponse = obj({
  gateway: obj({ ok: z.boolean(), version: str.optional(), error: str.optional() }),
  probe: obj({ probed_at: timestamp.nullable(), ttl_s: num, stale: z.boolean(), refreshing: z.boolean() }),
  aliases: z.array(obj({ alias: str, circuit: z.enum(['closed', 'open', 'half_open']), probe: obj({ ok: z.boolean(), latency_ms: num, served_by: nullableStr, error: str.optional() }).nullable(), last_call: obj({ ok: z.boolean(), error_class: nullableStr, served_by: nullableStr, latency_ms: num }).nullable() })),
});
export const ModelPerformanceResponse = obj({
  hours: num,
  models: z.array(
    obj({ alias: str, model: str, total_requests: num, avg_response_ms: num, p95_response_ms: num, success_rate: num, cost_per_1k_tokens: num, last_24h_requests: num }),
  ),
});
export const AssignmentsResponse = obj({ assignments: z.array(obj({ task: str, profile: str, model: str, source: z.enum(['admin', 'optimization']), updated_at: timestamp })) });
export const AssignResponse = obj({ task: str, profile: str, model: nullableStr, previous: nullableStr, version: num });
export const OptimizeStartResponse = obj({ run_id: str, workflow_id: str, candidates: z.array(str), tasks: z.array(str), require_approval: z.boolean() });
const Score = obj({ task: str, model: str, quality: num, p50Ms: num, costUsd: num, items: num, errors: num });
const OptimizationStatus = z.enum(['running', 'deciding', 'awaiting_approval', 'applied', 'rejected', 'failed']);
export const OptimizationRunResponse = obj({
  id: str,
  status: OptimizationStatus,
  golden_version: str,
  scores: z.array(Score),
  decision: z.array(obj({ task: str, profile: str, model: nullableStr, rule: str, evidence: z.array(Score) })).nullable(),
});
export const OptimizationListResponse = obj({
  runs: z.array(
    obj({
      id: str,
      status: OptimizationStatus,
      trigger: str,
      golden_version: str,
      candidates: z.array(str),
      tasks: z.array(str),
      require_approval: z.boolean(),
      note: nullableStr,
      created_at: timestamp,
      finished_at: timestamp.nullable(),
    }),
  ),
});
export const ServedModelsResponse = obj({ models: z.array(str), aliases: z.array(str) });
export const OptimizationDecisionResponse = obj({ run_id: str, approve: z.boolean() });

const usdOrNull = num.nullable();
export const BudgetResponse = obj({
  workspace_id: str,
  approval_above_usd: usdOrNull,
  daily_limit_usd: usdOrNull,
  source: z.enum(['workspace', 'defaults']),
  spent_today_usd: num,
  daily_limit_reached: z.boolean(),
  resets_at: timestamp,
  awaiting_approval: z.array(obj({ document_id: str, filename: str, workflow_id: nullableStr, budget: obj({}).nullable(), since: timestamp })),
});
export const BudgetDecisionResponse = obj({ document_id: str, workflow_id: str, approve: z.boolean() });
export const BatchBudgetDecisionResponse = obj({ batch_id: str, approve: z.boolean(), documents: num, signalled: z.array(str) });
