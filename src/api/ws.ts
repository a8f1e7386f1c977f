import type { IncomingMessage, Server } from 'node:http';
import type Redis from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { EVENTS_STREAM, GRAPH_EVENTS_STREAM } from '../activities/ingest';
import { OPTIMIZATION_EVENTS_STREAM } from '../activities/optimize';
import { QUERY_EVENTS_STREAM } from '../activities/query';
import type { Deps } from '../deps';
import { ALERTS_STREAM } from './alerts';
import { revokedKey, type Principal } from './auth';
import { roleHas, type Permission } from './rbac';
import { liveProgress } from './workflow-state';

/**
 * The real-time channels, authenticated on upgrade (`Authorization: Bearer …` or `?access_token=`):
 * - /ws/documents/processing — document stage events (`?document_id=` for one, with a snapshot first);
 * - /ws/graph/updates — entities and relationships a document added or its deletion removed;
 * - /ws/queries/batch — progress of batch queries (`?batch_id=`, with a snapshot first);
 * - /ws/system/alerts — dependencies down or back, model error-rate spikes (administrators);
 * - /ws/models/optimizations — each step of a model optimisation run: started, a candidate scored,
 *   decided, finished (`?run_id=` for one; model administrators).
 *
 * Activities append events to Redis streams; one reader per API process tails them and fans the
 * events out. Every event carries its stream id as `id`: a client that reconnects with
 * `?last_event_id=…` first receives what it missed, as far as the stream still holds it. Events of
 * a private document reach only its owner. A ping every heartbeat interval; a client that answered
 * none of the last two is dropped.
 */
export interface WsHub {
  close(): Promise<void>;
}

export interface WsOptions {
  /** @default 30000 ms */
  heartbeatMs?: number;
  /** How often every connection's session is checked again (logout, disabled account, membership, expiry). @default 5000 ms */
  reauthMs?: number;
  /** Called with the channel and its open connections whenever that count changes. */
  onConnections?: (channel: string, open: number) => void;
}

interface Client {
  ws: WebSocket;
  principal: Principal;
  path: string;
  channel: Channel;
  /** The document or batch the client follows (all of the workspace when absent). */
  subject?: string;
  /** Pings sent since the client last answered one. */
  unanswered: number;
}

interface Channel {
  stream: string;
  /** The event field a client's subject filter applies to. */
  key: 'document_id' | 'batch_id' | 'dependency' | 'run_id';
  type: string;
  /** Events for the whole installation rather than one workspace. */
  global?: boolean;
  permission: Permission;
}

const CHANNELS: Record<string, Channel> = {
  '/ws/documents/processing': { stream: EVENTS_STREAM, key: 'document_id', type: 'stage', permission: 'read' },
  '/ws/graph/updates': { stream: GRAPH_EVENTS_STREAM, key: 'document_id', type: 'graph', permission: 'read' },
  '/ws/queries/batch': { stream: QUERY_EVENTS_STREAM, key: 'batch_id', type: 'batch', permission: 'read' },
  '/ws/system/alerts': { stream: ALERTS_STREAM, key: 'dependency', type: 'alert', global: true, permission: 'model_management' },
  '/ws/models/optimizations': { stream: OPTIMIZATION_EVENTS_STREAM, key: 'run_id', type: 'optimization', global: true, permission: 'model_management' },
};

const refuse = (socket: import('node:stream').Duplex, status: string) => {
  socket.write(`HTTP/1.1 ${status}\r\nConnection: close\r\n\r\n`);
  socket.destroy();
};

export function attachWebSockets(server: Server, deps: Deps, authenticate: (req: IncomingMessage) => Promise<Principal | null>, opts: WsOptions = {}): WsHub {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<Client>();
  const reader: Redis = deps.redis.duplicate();
  let stopped = false;

  const counted = (path: string) => opts.onConnections?.(path, [...clients].filter((c) => c.path === path).length);

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const channel = CHANNELS[url.pathname];
    if (!channel) return refuse(socket, '404 Not Found');
    authenticate(req).then(
      (principal) => {
        if (!principal) return refuse(socket, '401 Unauthorized');
        if (!roleHas(principal.role, channel.permission)) return refuse(socket, '403 Forbidden');
        wss.handleUpgrade(req, socket, head, (ws) => void onConnect(ws, url, principal, channel));
      },
      (err: Error) => {
        // The token could not be checked (a store is away): the client may try again.
        console.warn(`websocket upgrade on ${url.pathname} could not be authenticated: ${err.message}`);
        refuse(socket, '503 Service Unavailable');
      },
    );
  });

  const send = (c: Client, msg: unknown) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  };

  const matches = (c: Client, stream: string, e: Record<string, unknown>) =>
    stream === c.channel.stream &&
    // A global channel carries installation-wide events (`*`) and those of the client's workspace.
    (e.workspace_id === c.principal.workspaceId || (c.channel.global && e.workspace_id === '*')) &&
    (!c.subject || e[c.channel.key] === c.subject) &&
    (e.visibility !== 'private' || e.owner_id === c.principal.userId) &&
    // A user's own work (query batches): its events reach them and the workspace's administrators.
    (e.user_id === undefined || e.user_id === c.principal.userId || c.principal.role === 'admin');

  /** A client no longer served: counted out once, whichever way it went. */
  const forget = (c: Client) => {
    if (clients.delete(c)) counted(c.path);
  };

  async function onConnect(ws: WebSocket, url: URL, principal: Principal, channel: Channel) {
    const subject = url.searchParams.get(channel.key) ?? undefined;
    const lastEventId = url.searchParams.get('last_event_id');
    const client: Client = { ws, principal, path: url.pathname, channel, subject, unanswered: 0 };
    const workspaceId = principal.workspaceId;
    const gone = () => forget(client);
    ws.on('pong', () => (client.unanswered = 0));
    ws.on('close', gone);
    ws.on('error', gone);
    if (channel.type === 'stage' && subject) {
      const r = await deps.db.query(
        `SELECT id, status, stage, counts, error, workflow_id FROM documents
          WHERE id = $1 AND workspace_id = $2 AND (visibility = 'organisation' OR owner_id = $3::uuid)`,
        [subject, workspaceId, principal.userId],
      );
      const doc = r.rows[0];
      let progress = null;
      if (doc?.workflow_id && (doc.status === 'processing' || doc.status === 'queued')) {
        progress = deps.temporal ? await liveProgress(deps.temporal.workflow.getHandle(doc.workflow_id), 'progress') : null;
      }
      send(client, { type: 'snapshot', document_id: subject, found: !!doc, status: doc?.status ?? null, stage: doc?.stage ?? null, counts: doc?.counts ?? null, error: doc?.error ?? null, progress });
    }
    if (channel.type === 'batch' && subject) {
      const b = (
        await deps.db.query(`SELECT status, total, progress FROM query_batches WHERE id::text = $1 AND workspace_id = $2 AND (user_id = $3::uuid OR $4)`, [
          subject,
          workspaceId,
          principal.userId,
          principal.role === 'admin',
        ])
      ).rows[0];
      send(client, { type: 'snapshot', batch_id: subject, found: !!b, status: b?.status ?? null, total: b?.total ?? null, progress: b?.progress ?? null });
    }
    if (lastEventId && /^\d+-\d+$/.test(lastEventId)) {
      const missed = (await deps.redis.xrange(channel.stream, `(${lastEventId}`, '+', 'COUNT', 10_000)) as [string, string[]][];
      for (const [id, fields] of missed) {
        const e = parseEvent(id, fields, channel.type);
        if (e && matches(client, channel.stream, e)) send(client, e);
      }
    }
    clients.add(client);
    counted(client.path);
  }

  // One tail of each stream per process; events go to every matching client.
  void (async () => {
    const streams = [...new Set(Object.values(CHANNELS).map((c) => c.stream))];
    const typeOf = new Map(Object.values(CHANNELS).map((c) => [c.stream, c.type]));
    // Where each stream ends now, as an id: `$` in every read would skip what is appended between
    // two reads to a stream that has not yet delivered anything here.
    let last: Map<string, string> | undefined;
    while (!stopped) {
      try {
        const from = (last ??= new Map(
          await Promise.all(streams.map(async (s) => [s, ((await reader.xrevrange(s, '+', '-', 'COUNT', 1)) as [string, string[]][])[0]?.[0] ?? '0-0'] as const)),
        ));
        const res = (await reader.xread('COUNT', 500, 'BLOCK', 2000, 'STREAMS', ...streams, ...streams.map((s) => from.get(s)!))) as [string, [string, string[]][]][] | null;
        for (const [stream, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            from.set(stream, id);
            const e = parseEvent(id, fields, typeOf.get(stream) ?? 'event');
            if (!e) continue;
            for (const c of clients) if (matches(c, stream, e)) send(c, e);
          }
        }
      } catch (err) {
        // Redis away (or the reader closed at shutdown): logged, and read again after a pause.
        if (stopped) break;
        console.warn(`websocket event reader: ${(err as Error).message}; retrying in 1 s`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  // Sessions end on the socket too: within reauthMs of a logout, a disabled account, a lost
  // membership or the access token's expiry, the connection is closed and delivers nothing more.
  const drop = (c: Client, code: number, reason: string) => {
    forget(c);
    c.ws.close(code, reason);
  };
  const reauth = setInterval(() => {
    void (async () => {
      const open = [...clients];
      if (!open.length) return;
      const now = Math.floor(Date.now() / 1000);
      const revoked = await deps.redis.mget(...open.map((c) => revokedKey(c.principal.jti)));
      const rows = (
        await deps.db.query(
          `SELECT p.user_id::text AS user_id, p.workspace_id, u.disabled, m.role
             FROM unnest($1::uuid[], $2::text[]) AS p(user_id, workspace_id)
             LEFT JOIN users u ON u.id = p.user_id
             LEFT JOIN workspace_members m ON m.user_id = p.user_id AND m.workspace_id = p.workspace_id`,
          [open.map((c) => c.principal.userId), open.map((c) => c.principal.workspaceId)],
        )
      ).rows;
      const state = new Map(rows.map((r) => [`${r.user_id}|${r.workspace_id}`, r]));
      open.forEach((c, i) => {
        const r = state.get(`${c.principal.userId}|${c.principal.workspaceId}`);
        if (c.principal.exp <= now) drop(c, 4401, 'access token expired');
        else if (revoked[i]) drop(c, 4401, 'logged out');
        else if (!r || r.disabled !== false) drop(c, 4401, 'account disabled');
        else if (!r.role || !roleHas(r.role, c.channel.permission)) drop(c, 4403, 'no longer permitted');
      });
    })().catch((err: Error) => console.error('websocket session check failed:', err.message));
  }, opts.reauthMs ?? 5000);

  // Heartbeats: a client that answered neither of the last two pings is gone. One unanswered ping
  // is not enough: when this process was busy past an interval, the timer runs before the pong
  // waiting in the socket is read, and a healthy client would be dropped for the server's delay.
  const ping = setInterval(() => {
    for (const c of clients) {
      if (c.unanswered >= 2) {
        c.ws.terminate();
        forget(c);
        continue;
      }
      c.unanswered += 1;
      c.ws.ping();
    }
  }, opts.heartbeatMs ?? 30_000);

  return {
    async close() {
      stopped = true;
      clearInterval(ping);
      clearInterval(reauth);
      for (const c of clients) c.ws.terminate();
      wss.close();
      reader.disconnect();
    },
  };
}

function parseEvent(id: string, fields: string[], type: string): ({ id: string } & Record<string, unknown>) | null {
  const i = fields.indexOf('event');
  if (i < 0) return null;
  try {
    return { id, type, ...(JSON.parse(fields[i + 1]!) as Record<string, unknown>) };
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    console.warn(`stream event ${id} is not JSON; skipped`);
    return null;
  }
}
