import { z } from 'zod';
import { AddMemberRequest, AuditQuery, CreateUserRequest, CreateWorkspaceRequest, UpdateUserRequest, UserIdParam, UserListQuery } from './admin';
import { LoginRequest, LogoutRequest, RefreshRequest } from './auth';
import { BatchIdParam as DocumentBatchIdParam, BatchUploadFields, ChunkIdParam, ChunkQuery, DeleteQuery, DocumentChunksQuery, DocumentIdParam, DocumentListQuery, ReprocessRequest, UploadFields } from './documents';
import { BudgetDecisionRequest, BudgetUpdate } from './budget';
import { AssignRequest, DecisionRequest, HealthQuery, OptimizationIdParam, OptimizationListQuery, OptimizeRequest, PerformanceQuery } from './models';
import { CypherRequest, EntityIdParam, EntityListQuery, GraphDataQuery, GraphOverviewQuery, RelationshipQuery } from './graph';
import { BatchIdParam, BatchQueryRequest, BatchResultsQuery, HistoryQuery, QueryIdParam, QueryRequest, RetrieveRequest } from './query';
import type { Permission } from './rbac';
import * as R from './responses';
import { SystemCheckRequest } from './system';

/**
 * Every HTTP route of the API in one table: its permission (or `public` / `authenticated`), and the
 * zod schemas its handler validates with. The access middleware, the audit middleware and the
 * OpenAPI document all read this table; a route missing from it is refused.
 */
export interface RouteSpec {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** OpenAPI style: /api/documents/{id} */
  path: string;
  /** `installation`: an installation administrator only (users.installation_admin), whatever the workspace role. */
  permission: Permission | 'public' | 'authenticated' | 'installation';
  tag: string;
  summary: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Multipart upload: the zod schema describes the non-file fields. */
  multipart?: z.ZodType;
  /** The status of a successful response. */
  success?: number;
  /** The JSON body of a successful response. */
  response?: z.ZodType;
  /** Statuses other than success whose body is not the error shape (health answers 503 with its report). */
  alsoReturns?: Record<number, z.ZodType>;
  /** Other content types the success response may have. */
  produces?: string[];
  /** The handler writes its own, more specific audit rows (login, refresh). */
  selfAudited?: boolean;
}

export const ROUTES: RouteSpec[] = [
  // System
  { method: 'get', path: '/api/health', permission: 'public', tag: 'system', summary: 'Health of every dependency (200 healthy, 503 when one is down)', response: R.HealthResponse, alsoReturns: { 503: R.HealthResponse } },
  { method: 'get', path: '/api/status', permission: 'read', tag: 'system', summary: 'Every service with its version and state', response: R.StatusResponse },
  { method: 'get', path: '/api/metrics', permission: 'installation', tag: 'system', summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'] },
  { method: 'post', path: '/api/system/check', permission: 'model_management', tag: 'system', summary: 'Run the end-to-end system check workflow', body: SystemCheckRequest, response: R.SystemCheckResponse },

  // Authentication
  { method: 'post', path: '/api/auth/login', permission: 'public', tag: 'auth', summary: 'Log in: access token (HS256) and rotating refresh token', body: LoginRequest, selfAudited: true, response: R.LoginResponse },
  { method: 'post', path: '/api/auth/refresh', permission: 'public', tag: 'auth', summary: 'Rotate a refresh token; reuse of a rotated one revokes its family', body: RefreshRequest, selfAudited: true, response: R.TokenResponse },
  { method: 'post', path: '/api/auth/logout', permission: 'authenticated', tag: 'auth', summary: 'Revoke this access token and the refresh token family', body: LogoutRequest, response: R.LogoutResponse },
  { method: 'get', path: '/api/auth/me', permission: 'authenticated', tag: 'auth', summary: 'The current user, role, permissions and workspaces', response: R.MeResponse },

  // Documents
  { method: 'post', path: '/api/documents/upload', permission: 'write', tag: 'documents', summary: 'Upload files; each starts a durable ingestion workflow', multipart: UploadFields, success: 202, response: R.UploadResponse },
  { method: 'post', path: '/api/documents/batch', permission: 'write', tag: 'documents', summary: 'Upload many files or ZIP archives as one batch workflow', multipart: BatchUploadFields, success: 202, response: R.BatchUploadResponse },
  { method: 'get', path: '/api/documents/batch/{batchId}', permission: 'read', tag: 'documents', summary: 'Progress of an ingestion batch', params: DocumentBatchIdParam, response: R.IngestBatchResponse },
  { method: 'get', path: '/api/documents', permission: 'read', tag: 'documents', summary: 'List readable documents with filters', query: DocumentListQuery, response: R.DocumentListResponse },
  { method: 'get', path: '/api/documents/{id}', permission: 'read', tag: 'documents', summary: 'One document with its live progress', params: DocumentIdParam, response: R.DocumentResponse },
  { method: 'get', path: '/api/documents/{id}/chunks', permission: 'read', tag: 'documents', summary: "A document's chunks in order, paged", params: DocumentIdParam, query: DocumentChunksQuery, response: R.DocumentChunksResponse },
  { method: 'get', path: '/api/documents/{id}/file', permission: 'read', tag: 'documents', summary: 'The original file as uploaded (a download; readable documents only)', params: DocumentIdParam, produces: ['application/octet-stream'] },
  { method: 'get', path: '/api/chunks/{id}', permission: 'read', tag: 'documents', summary: 'A chunk (what a citation points at) with its document and the chunks around it', params: ChunkIdParam, query: ChunkQuery, response: R.ChunkResponse },
  { method: 'delete', path: '/api/documents/{id}', permission: 'write', tag: 'documents', summary: 'Delete a document from every store (owner or administrator)', params: DocumentIdParam, query: DeleteQuery, success: 202, response: R.DeleteResponse },
  { method: 'post', path: '/api/documents/{id}/reprocess', permission: 'write', tag: 'documents', summary: 'Run the ingestion again (owner or administrator)', params: DocumentIdParam, body: ReprocessRequest, success: 202, response: R.ReprocessResponse },

  // Questions
  { method: 'post', path: '/api/retrieve', permission: 'basic_query', tag: 'query', summary: 'Ranked chunks for a question, without generation', body: RetrieveRequest, response: R.RetrieveResponse },
  { method: 'post', path: '/api/query', permission: 'basic_query', tag: 'query', summary: 'A cited, validated answer (durable answerQuery workflow); with stream: true, server-sent events (accepted, stage, token, reset, answer or error)', body: QueryRequest, produces: ['text/event-stream'], response: R.AnswerResponseSchema },
  { method: 'get', path: '/api/query/history', permission: 'read', tag: 'query', summary: 'Query history: own queries, an administrator sees the workspace', query: HistoryQuery, response: R.HistoryResponse },
  { method: 'get', path: '/api/query/batches', permission: 'read', tag: 'query', summary: 'Query batches: own batches, newest first; an administrator sees the workspace', query: HistoryQuery, response: R.BatchListResponse },
  { method: 'post', path: '/api/query/batch', permission: 'advanced_query', tag: 'query', summary: 'Start a batch of questions (batchQuery workflow)', body: BatchQueryRequest, success: 202, response: R.BatchStartResponse },
  { method: 'get', path: '/api/query/batch/{id}', permission: 'read', tag: 'query', summary: 'Progress of a query batch', params: BatchIdParam, response: R.BatchStatusResponse },
  { method: 'get', path: '/api/query/batch/{id}/results', permission: 'read', tag: 'query', summary: 'Results of a query batch as JSON, JSONL or CSV', params: BatchIdParam, query: BatchResultsQuery, produces: ['application/x-ndjson', 'text/csv'], response: R.BatchResultsResponse },
  { method: 'post', path: '/api/query/batch/{id}/cancel', permission: 'advanced_query', tag: 'query', summary: 'Cancel a running query batch', params: BatchIdParam, success: 202, response: R.BatchCancelResponse },
  { method: 'get', path: '/api/query/{id}', permission: 'read', tag: 'query', summary: 'One query with its full response', params: QueryIdParam, response: R.QueryRecordResponse },

  // Knowledge graph
  { method: 'get', path: '/api/graph/entities', permission: 'read', tag: 'graph', summary: 'Search entities by name (prefix and fuzzy), type; sort by mentions or degree', query: EntityListQuery, response: R.EntityListResponse },
  { method: 'get', path: '/api/graph/entities/{id}', permission: 'read', tag: 'graph', summary: 'One entity: aliases, description, mentions with snippets, neighbours', params: EntityIdParam, response: R.EntityResponse },
  { method: 'get', path: '/api/graph/relationships', permission: 'read', tag: 'graph', summary: 'Relationships by type, entity and confidence', query: RelationshipQuery, response: R.RelationshipListResponse },
  { method: 'get', path: '/api/graph/overview', permission: 'read', tag: 'graph', summary: "The workspace's graph at a glance: its most mentioned entities (up to 5,000) and the relationships among them (at most four per entity, heaviest first), under the same access rules", query: GraphOverviewQuery, response: R.GraphOverviewResponse },
  { method: 'get', path: '/api/graph/data', permission: 'read', tag: 'graph', summary: 'A subgraph around an entity or a document for visualisation', query: GraphDataQuery, response: R.GraphDataResponse },
  { method: 'post', path: '/api/graph/query', permission: 'advanced_query', tag: 'graph', summary: 'Read-only, parameterised Cypher with time and row limits (audited)', body: CypherRequest, response: R.CypherResponse },

  // Administration
  { method: 'get', path: '/api/admin/users', permission: 'user_management', tag: 'admin', summary: "Members of the administrator's workspace", query: UserListQuery, response: R.UserListResponse },
  { method: 'post', path: '/api/admin/users', permission: 'user_management', tag: 'admin', summary: 'Create a user in this workspace', body: CreateUserRequest, success: 201, response: R.UserResponse },
  { method: 'patch', path: '/api/admin/users/{id}', permission: 'user_management', tag: 'admin', summary: "Change a member's role or disable the account", params: UserIdParam, body: UpdateUserRequest, response: R.UserResponse },
  { method: 'post', path: '/api/admin/workspaces', permission: 'user_management', tag: 'admin', summary: 'Create a workspace; its creator becomes its administrator', body: CreateWorkspaceRequest, success: 201, response: R.WorkspaceResponse },
  { method: 'post', path: '/api/admin/members', permission: 'user_management', tag: 'admin', summary: 'Add an existing user to this workspace with a role', body: AddMemberRequest, success: 201, response: R.MemberResponse },
  { method: 'get', path: '/api/admin/models/health', permission: 'installation', tag: 'models', summary: "The gateway's readiness, each alias's cached probe (a minimal real call; refresh=true probes now), its circuit and latest call", query: HealthQuery, response: R.ModelHealthResponse },
  { method: 'get', path: '/api/admin/models/performance', permission: 'installation', tag: 'models', summary: 'Model performance per alias and serving model: latency (avg, p95), requests, success rate, cost per 1k tokens, last 24 h', query: PerformanceQuery, response: R.ModelPerformanceResponse },
  { method: 'get', path: '/api/admin/models/served', permission: 'installation', tag: 'models', summary: 'What the gateway serves: its models (what an assignment or an optimisation run names) and, apart, the aliases', response: R.ServedModelsResponse },
  { method: 'get', path: '/api/admin/models/assignments', permission: 'installation', tag: 'models', summary: 'Which model serves each task × profile where it is not the alias\'s own', response: R.AssignmentsResponse },
  { method: 'post', path: '/api/admin/models/assign', permission: 'installation', tag: 'models', summary: 'Assign a model to a task × profile (persisted, effective at once in every process, audited)', body: AssignRequest, response: R.AssignResponse },
  { method: 'post', path: '/api/admin/models/optimize', permission: 'installation', tag: 'models', summary: 'Start a model optimisation run now (the scheduled workflow)', body: OptimizeRequest, success: 202, response: R.OptimizeStartResponse },
  { method: 'get', path: '/api/admin/models/optimizations', permission: 'installation', tag: 'models', summary: 'The latest optimisation runs, newest first, with their state', query: OptimizationListQuery, response: R.OptimizationListResponse },
  { method: 'get', path: '/api/admin/models/optimizations/{id}', permission: 'installation', tag: 'models', summary: 'An optimisation run: every score, the decision and its evidence', params: OptimizationIdParam, response: R.OptimizationRunResponse },
  { method: 'post', path: '/api/admin/models/optimizations/{id}/decision', permission: 'installation', tag: 'models', summary: 'Approve or reject a run that waits for approval', params: OptimizationIdParam, body: DecisionRequest, success: 202, response: R.OptimizationDecisionResponse },
  { method: 'get', path: '/api/admin/budget', permission: 'model_management', tag: 'models', summary: "This workspace's budget: approval threshold, daily spend limit, today's spend and the ingestions waiting for a decision", response: R.BudgetResponse },
  { method: 'patch', path: '/api/admin/budget', permission: 'model_management', tag: 'models', summary: "Set this workspace's approval threshold and daily spend limit (null: none); effective at the next estimate or model call, audited", body: BudgetUpdate, response: R.BudgetResponse },
  { method: 'post', path: '/api/documents/{id}/budget-decision', permission: 'model_management', tag: 'documents', summary: 'Approve or reject an ingestion waiting for budget approval (a rejected one leaves nothing written but its record and original)', params: DocumentIdParam, body: BudgetDecisionRequest, success: 202, response: R.BudgetDecisionResponse },
  { method: 'post', path: '/api/documents/batch/{batchId}/budget-decision', permission: 'model_management', tag: 'documents', summary: "One budget decision for a whole ingestion batch: its waiting documents get it now, the rest when they reach the gate", params: DocumentBatchIdParam, body: BudgetDecisionRequest, success: 202, response: R.BatchBudgetDecisionResponse },
  { method: 'get', path: '/api/admin/audit', permission: 'user_management', tag: 'admin', summary: 'The append-only audit log, filtered', query: AuditQuery, response: R.AuditResponse },
];

interface Compiled {
  spec: RouteSpec;
  re: RegExp;
}
const COMPILED: Compiled[] = ROUTES.map((spec) => ({
  spec,
  re: new RegExp(`^${spec.path.replace(/[.*+?^${}()|[\]\\]/g, (c) => (c === '{' || c === '}' ? c : `\\${c}`)).replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
}));

/** The table entry of a request; literal segments win over parameters (table order). */
export function routeOf(method: string, path: string): RouteSpec | undefined {
  const m = method.toLowerCase();
  return COMPILED.find((c) => c.spec.method === m && c.re.test(path))?.spec;
}

/** Whether another method exists for the path (405 rather than 404). */
export function pathKnown(path: string): boolean {
  return COMPILED.some((c) => c.re.test(path));
}

export const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
