import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../src/api/app';
import { startAlertMonitor, type AlertMonitor } from '../../src/api/alerts';
import { authenticateUpgrade, ensureFirstAdmin } from '../../src/api/auth';
import type { Metrics } from '../../src/api/metrics';
import { attachWebSockets } from '../../src/api/ws';
import { closeDeps, createDeps, type Deps } from '../../src/deps';
import { createWorkers, prepareStores, type Workers } from '../../src/worker-setup';
import { stackEnv } from './stack';
import { Resources } from './teardown';

/** The API and a worker in this process, against the real stack. */
export interface System {
  deps: Deps;
  url: string;
  /** An access token of the first administrator; `api()` sends it unless told otherwise. */
  token: string;
  /** The system alert monitor of this API (tests call `check()` rather than wait for its interval). */
  alerts: AlertMonitor;
  workers?: Workers;
  stop(): Promise<void>;
}

/**
 * Starts the API (with WebSockets and the alert monitor) and, unless told otherwise, a worker. Each
 * part is listed for teardown as soon as it exists: a start that fails half-way (a refused login, a
 * store that is down) closes what it had started before it rethrows, so no worker of a failed start
 * keeps polling.
 */
export async function startSystem(overrides: Partial<ReturnType<typeof stackEnv>> = {}, opts: { worker?: boolean; alertTimer?: boolean } = {}): Promise<System> {
  const env = { ...stackEnv(), ...overrides };
  const parts = new Resources(`the system of ${expect.getState().testPath ?? 'a test'}`);
  try {
    const deps = await createDeps(env);
    parts.add('the store clients', () => closeDeps(deps));
    await prepareStores(deps);
    await ensureFirstAdmin(deps);
    const app = createApp(deps);
    const server: Server = await new Promise((resolve, reject) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s)).once('error', reject);
    });
    parts.add('the HTTP server', () => new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve()))));
    const metrics = app.locals.metrics as Metrics;
    const hub = attachWebSockets(server, deps, (req) => authenticateUpgrade(deps, req), {
      heartbeatMs: env.WS_HEARTBEAT_MS,
      onConnections: (channel, open) => metrics.wsConnections.set({ channel }, open),
    });
    parts.add('the WebSocket hub', () => hub.close());
    const alerts = startAlertMonitor(deps, { intervalMs: env.ALERT_INTERVAL_MS, timer: opts.alertTimer });
    parts.add('the alert monitor', () => alerts.stop());
    let workers: Workers | undefined;
    if (opts.worker !== false) {
      const w = await createWorkers(deps, { identity: 'jest' });
      workers = w;
      parts.add('the worker connection', () => w.connection.close());
      // A worker that fails while the tests run is reported when the system stops, not lost.
      let failure: unknown;
      const settled = w.run().then(
        () => undefined,
        (err: unknown) => void (failure = err),
      );
      parts.add('the workers', async () => {
        w.shutdown();
        await settled;
        if (failure) throw failure;
      });
    }
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const token = (await login(url, adminCredentials())).access_token as string;
    tokens.set(url, token);
    parts.add('the administrator token', () => void tokens.delete(url));
    return { deps, url, token, alerts, workers, stop: () => parts.close() };
  } catch (err) {
    return parts.abandon(err);
  }
}

/** The first administrator's credentials, from the stack's environment. */
export function adminCredentials(): { email: string; password: string } {
  const email = process.env.NEURONODE_ADMIN_EMAIL;
  const password = process.env.NEURONODE_ADMIN_PASSWORD;
  if (!email || !password) throw new Error('NEURONODE_ADMIN_EMAIL / NEURONODE_ADMIN_PASSWORD are not set: run the suite with scripts/test.sh');
  return { email, password };
}

export async function login(base: string, credentials: { email: string; password: string; workspace_id?: string }) {
  const r = await api(base, '/api/auth/login', { method: 'POST', json: credentials, token: null });
  if (r.status !== 200) throw new Error(`login of ${credentials.email} failed: ${r.status} ${r.text}`);
  return r.json;
}

/** Access tokens by API base URL: requests to a system started here are authenticated by default. */
const tokens = new Map<string, string>();

/** Headers that authenticate as the administrator of the system at `base` (for WebSockets and raw fetch). */
export function authHeaders(base: string): Record<string, string> {
  const t = tokens.get(base);
  return t ? { authorization: `Bearer ${t}` } : {};
}

/**
 * A request to the API. `token` picks the credentials: the system's administrator by default, a given
 * access token, or null for none.
 */
export async function api(base: string, path: string, init: RequestInit & { json?: unknown; token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? tokens.get(base) : init.token;
  if (token && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { ...init, headers, body });
  } catch (err) {
    // undici reports every transport failure as "fetch failed"; the cause says which (refused, reset, closed).
    throw new Error(`${init.method ?? 'GET'} ${path} failed at ${new Date().toISOString()}: ${describeCause(err)}`, { cause: err });
  }
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json: json as any, text }; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** The chain of causes of a transport error, e.g. "fetch failed ← other side closed (UND_ERR_SOCKET)". */
function describeCause(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 5; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    parts.push(typeof code === 'string' ? `${e.message} (${code})` : e.message);
  }
  return parts.join(' ← ');
}
