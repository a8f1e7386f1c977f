import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import cors from 'cors';
import swaggerUi from 'swagger-ui-express';
import type { Deps } from '../deps';
import { adminRouter } from './admin';
import { auditContext, writeAudit } from './audit';
import { authRouter, createAuthenticator } from './auth';
import { chunksRouter, documentsRouter } from './documents';
import { graphRouter } from './graph';
import { modelsRouter } from './models';
import { budgetRouter } from './budget';
import { createMetrics } from './metrics';
import { openApiDocument } from './openapi';
import { queryRouter } from './query';
import { createRateLimits } from './rate-limit';
import { roleHas } from './rbac';
import { MUTATING, pathKnown, routeOf } from './routes';
import { systemRouter } from './system';
import { ApiError, errorBody, ERROR_STATUS } from './errors';

/** The Express application; every dependency comes in through `deps`. */
export function createApp(deps: Deps) {
  const app = express();
  const metrics = createMetrics(deps);
  const limits = createRateLimits(deps);
  const authenticate = createAuthenticator(deps);
  app.locals.metrics = metrics;
  app.disable('x-powered-by');
  app.use(metrics.middleware);
  app.set('trust proxy', 'loopback');
  app.use((req, res, next) => {
    const incoming = req.header('x-request-id');
    const id = incoming && /^[A-Za-z0-9._-]{1,100}$/.test(incoming) ? incoming : randomUUID();
    res.locals.requestId = id;
    res.setHeader('X-Request-Id', id);
    next();
  });

  // API documentation, generated from the route table (served from local assets, no CDN).
  const doc = openApiDocument();
  app.get('/openapi.json', (_req, res) => void res.json(doc));
  app.use('/docs', helmet({ contentSecurityPolicy: false }), swaggerUi.serve, swaggerUi.setup(doc, { customSiteTitle: 'Neuronode API' }));

  app.use(helmet());
  app.use(
    cors({
      origin: (origin, cb) => cb(null, !origin || deps.env.CORS_ORIGINS.includes(origin)),
      credentials: true,
      exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy'],
    }),
  );
  app.use('/api', (req, res, next) => (req.path === '/health' ? limits.health(req, res, next) : limits.perIp(req, res, next)));
  app.use('/api', guard(deps, authenticate, limits.perUser));
  // PostgreSQL text cannot hold NUL; a request carrying one is refused whole, never half-stored.
  app.use('/api', (req, _res, next) => next(/%00/.test(req.originalUrl) ? new ApiError('bad_request', 'NUL characters are not accepted in requests') : undefined));
  app.use(
    express.json({
      limit: '1mb',
      verify: (_req, _res, buf) => {
        if (buf.includes('\\u0000')) throw Object.assign(new Error('NUL characters are not accepted in requests'), { status: 400 });
      },
    }),
  );

  app.get('/api/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  app.use('/api', systemRouter(deps));
  app.use('/api/auth', authRouter(deps, limits));
  app.use('/api/admin/models', modelsRouter(deps));
  app.use('/api', budgetRouter(deps));
  app.use('/api/admin', adminRouter(deps));
  app.use('/api/documents', documentsRouter(deps));
  app.use('/api/chunks', chunksRouter(deps));
  app.use('/api/graph', graphRouter(deps));
  app.use('/api', queryRouter(deps));

  app.use('/api', (_req, _res, next) => next(new ApiError('not_found', 'no such route')));
  app.use(errorHandler);
  return app;
}

/**
 * Access control for every /api route, from the route table: unknown routes are 404 (405 for a
 * known path with another method); public ones pass; every other needs a valid access token
 * (401), then passes the per-user rate limit, then needs its permission (403). Every mutating
 * request is written to the audit log when its response is finished, whatever its outcome.
 */
function guard(deps: Deps, authenticate: RequestHandler, perUser: RequestHandler): RequestHandler {
  return (req, res, next) => {
    const path = req.baseUrl + req.path;
    const spec = routeOf(req.method, path);
    if (!spec) {
      if (req.method !== 'OPTIONS' && pathKnown(path)) return next(new ApiError('method_not_allowed', `${req.method} is not supported on ${path}`));
      return next(new ApiError('not_found', 'no such route'));
    }
    if (MUTATING.has(req.method) && !spec.selfAudited) {
      res.on('finish', () => {
        const status = res.statusCode;
        void writeAudit(deps, {
          ...auditContext(req, res),
          action: `${spec.method.toUpperCase()} ${spec.path}`,
          resource: path,
          outcome: status < 400 ? 'success' : status === 401 || status === 403 ? 'denied' : 'failure',
          status,
          details: (res.locals.audit as Record<string, unknown> | undefined) ?? null,
        });
      });
    }
    const permission = spec.permission;
    if (permission === 'public') return next();
    authenticate(req, res, (err?: unknown) => {
      if (err) return next(err);
      perUser(req, res, (err2?: unknown) => {
        if (err2) return next(err2);
        const p = req.user!;
        if (permission === 'installation') {
          if (!p.installationAdmin) return next(new ApiError('forbidden', 'this is an installation-wide control: it needs an installation administrator', { required: permission, role: p.role }));
        } else if (permission !== 'authenticated' && !roleHas(p.role, permission)) {
          return next(new ApiError('forbidden', `your role (${p.role}) lacks the ${permission} permission`, { required: permission, role: p.role }));
        }
        next();
      });
    });
  };
}

// Express recognises error handlers by their four parameters.
function errorHandler(err: unknown, _req: Request, res: Response, _next: NextFunction): void {
  // A response already under way (a server-sent event stream) cannot change its status: it ends.
  if (res.headersSent) {
    console.error(`request ${String(res.locals.requestId)} failed after its response began:`, err);
    res.end();
    return;
  }
  if (err instanceof ApiError) {
    for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
    res.status(err.status).json(errorBody(err.code, err.message, err.details));
    return;
  }
  const e = err as { type?: string; status?: number; message?: string };
  if (e?.type === 'entity.parse.failed') {
    res.status(400).json(errorBody('invalid_json', 'request body is not valid JSON'));
    return;
  }
  if (e?.type === 'entity.too.large') {
    res.status(413).json(errorBody('payload_too_large', 'request body is too large'));
    return;
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    res.status(e.status).json(errorBody('bad_request', e.message ?? 'bad request'));
    return;
  }
  console.error(`request ${String(res.locals.requestId)} failed:`, err);
  res.status(ERROR_STATUS.internal).json(errorBody('internal', 'internal error', { request_id: res.locals.requestId }));
}
