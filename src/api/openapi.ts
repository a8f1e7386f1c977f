import { z } from 'zod';
import { ERROR_STATUS } from './errors';
import { ROUTES, type RouteSpec } from './routes';
import { VERSION } from './system';

/**
 * The OpenAPI 3.1 document, generated from the route table and the very zod schemas the handlers
 * validate with (JSON Schema 2020-12, which OpenAPI 3.1 uses), so it cannot drift from the code.
 */
type Json = Record<string, unknown>;

const toSchema = (s: z.ZodType, io: 'input' | 'output' = 'input'): Json => {
  const j = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as Json;
  delete j.$schema;
  return j;
};

const ErrorBody = z.object({
  error: z.object({ code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]), message: z.string(), details: z.unknown().optional() }),
});

function parameters(spec: RouteSpec): Json[] {
  const out: Json[] = [];
  const add = (where: 'path' | 'query', s: z.ZodType | undefined) => {
    if (!s) return;
    const j = toSchema(s);
    const props = (j.properties ?? {}) as Record<string, Json>;
    const required = new Set((j.required as string[] | undefined) ?? []);
    for (const [name, schema] of Object.entries(props)) {
      out.push({ name, in: where, required: where === 'path' || (required.has(name) && schema.default === undefined), schema });
    }
  };
  add('path', spec.params);
  add('query', spec.query);
  // Path parameters a route names without a schema of its own.
  for (const m of spec.path.matchAll(/\{([^}]+)\}/g)) {
    if (!out.some((p) => p.in === 'path' && p.name === m[1])) out.push({ name: m[1], in: 'path', required: true, schema: { type: 'string' } });
  }
  return out;
}

function operation(spec: RouteSpec): Json {
  const success = String(spec.success ?? 200);
  const errors: Record<string, Json> = {};
  const errorStatuses = new Set<number>([400, 429, 500, 503]);
  if (spec.permission !== 'public') [401, 403].forEach((s) => errorStatuses.add(s));
  if (spec.params) errorStatuses.add(404);
  if (spec.body || spec.multipart) errorStatuses.add(413);
  if (spec.multipart) errorStatuses.add(415);
  if (spec.path === '/api/graph/query') errorStatuses.add(504);
  if (spec.method !== 'get') errorStatuses.add(409);
  for (const s of [...errorStatuses].sort()) errors[String(s)] = { $ref: '#/components/responses/Error' };
  for (const [status, schema] of Object.entries(spec.alsoReturns ?? {})) errors[status] = { description: 'see schema', content: { 'application/json': { schema: toSchema(schema, 'output') } } };
  const content: Json = { 'application/json': { schema: spec.response ? toSchema(spec.response, 'output') : { type: 'object' } } };
  for (const t of spec.produces ?? []) content[t] = { schema: { type: 'string' } };
  if (spec.path === '/api/metrics') delete content['application/json'];
  const op: Json = {
    operationId: `${spec.method}${spec.path.replace(/^\/api/, '').replace(/\{([^}]+)\}/g, 'By_$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    tags: [spec.tag],
    summary: spec.summary,
    parameters: parameters(spec),
    responses: { [success]: { description: 'success', content }, ...errors },
    'x-permission': spec.permission,
  };
  if (spec.permission === 'public') op.security = [];
  if (spec.body) op.requestBody = { required: true, content: { 'application/json': { schema: toSchema(spec.body) } } };
  if (spec.multipart) {
    const fields = toSchema(spec.multipart);
    op.requestBody = {
      required: true,
      content: {
        'multipart/form-data': {
          schema: {
            type: 'object',
            required: ['files'],
            properties: { files: { type: 'array', items: { type: 'string', format: 'binary' } }, ...((fields.properties as Json) ?? {}) },
          },
        },
      },
    };
  }
  return op;
}

let cached: Json | undefined;

export function openApiDocument(): Json {
  if (cached) return cached;
  const paths: Record<string, Json> = {};
  for (const spec of ROUTES) (paths[spec.path] ??= {})[spec.method] = operation(spec);
  cached = {
    openapi: '3.1.0',
    info: {
      title: 'Neuronode API',
      version: VERSION,
      description:
        'Documents in, cited answers and a knowledge graph out. Every route but health, authentication and these docs needs `Authorization: Bearer <access token>` from POST /api/auth/login; `X-Workspace-Id` selects one of your workspaces. Each operation names its permission in `x-permission`. WebSockets: /ws/documents/processing, /ws/graph/updates, /ws/queries/batch, /ws/system/alerts and /ws/models/optimizations (administrators); each resumes from `?last_event_id=` (token in the Authorization header or `?access_token=`).',
    },
    servers: [{ url: '/' }],
    tags: [...new Set(ROUTES.map((r) => r.tag))].map((name) => ({ name })),
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: { Error: toSchema(ErrorBody) },
      responses: { Error: { description: 'an error in the one error shape', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
    },
  };
  return cached;
}
