import type { IncomingMessage, Server } from 'node:http';
import type Redis from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { EVENTS_STREAM } from '../activities/ingest';
import { QUERY_EVENTS_STREAM } from '../activities/query';
import type { Deps } from '../deps';
import type { Principal } from './auth';

/**
 * WS /ws/documents/processing — document stage events as they happen; WS /ws/queries/batch —
 * progress of batch queries (`?batch_id=…`).
 *
 * Activities append events to a Redis stream; one reader per API process tails it and fans the
 * events out. Every event carries the stream id as `id`, so a client that reconnects with
 * `?last_event_id=…` first receives what it missed (as far as the stream still holds it). A client
 * that names `?document_id=…` gets the current snapshot (record + workflow progress) first.
 */
export interface WsHub {
  close(): Promise<void>;
}

interface Client {
  ws: WebSocket;
  workspaceId: string;
  channel: Channel;
  /** The document or batch the client follows (all of the workspace when absent). */
  subject?: string;
  alive: boolean;
}

interface Channel {
  stream: string;
  /** The event field a client's subject filter applies to. */
  key: 'document_id' | 'batch_id';
  type: string;
}

const CHANNELS: Record<string, Channel> = {
  '/ws/documents/processing': { stream: EVENTS_STREAM, key: 'document_id', type: 'stage' },
  '/ws/queries/batch': { stream: QUERY_EVENTS_STREAM, key: 'batch_id', type: 'batch' },
};

export function attachWebSockets(server: Server, deps: Deps, authenticate: (req: IncomingMessage) => Promise<Principal | null>): WsHub {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<Client>();
  const reader: Redis = deps.redis.duplicate();
  let stopped = false;

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const channel = CHANNELS[url.pathname];
    if (!channel) {
      socket.write('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    authenticate(req).then(
      (principal) => {
        if (!principal) {
          socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
          socket.destroy();
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => void onConnect(ws, url, principal.workspaceId, channel));
      },
      () => {
        socket.write('HTTP/1.1 403 Forbidden\r\nConnection: close\r\n\r\n');
        socket.destroy();
      },
    );
  });

  const send = (c: Client, msg: unknown) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  };

  const matches = (c: Client, stream: string, e: Record<string, unknown>) =>
    stream === c.channel.stream && e.workspace_id === c.workspaceId && (!c.subject || e[c.channel.key] === c.subject);

  async function onConnect(ws: WebSocket, url: URL, workspaceId: string, channel: Channel) {
    const subject = url.searchParams.get(channel.key) ?? undefined;
    const documentId = channel.key === 'document_id' ? subject : undefined;
    const lastEventId = url.searchParams.get('last_event_id');
    const client: Client = { ws, workspaceId, channel, subject, alive: true };
    ws.on('pong', () => (client.alive = true));
    ws.on('close', () => clients.delete(client));
    ws.on('error', () => clients.delete(client));
    if (documentId) {
      const r = await deps.db.query(`SELECT id, status, stage, counts, error, workflow_id FROM documents WHERE id = $1 AND workspace_id = $2`, [documentId, workspaceId]);
      const doc = r.rows[0];
      let progress = null;
      if (doc?.workflow_id && (doc.status === 'processing' || doc.status === 'queued')) {
        progress = await deps.temporal?.workflow.getHandle(doc.workflow_id).query('progress').catch(() => null);
      }
      send(client, { type: 'snapshot', document_id: documentId, found: !!doc, status: doc?.status ?? null, stage: doc?.stage ?? null, counts: doc?.counts ?? null, error: doc?.error ?? null, progress });
    }
    if (channel.key === 'batch_id' && subject) {
      const b = (await deps.db.query(`SELECT status, total, progress FROM query_batches WHERE id::text = $1 AND workspace_id = $2`, [subject, workspaceId])).rows[0];
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
  }

  // One tail of each stream per process; events go to every matching client.
  void (async () => {
    const streams = [...new Set(Object.values(CHANNELS).map((c) => c.stream))];
    const typeOf = new Map(Object.values(CHANNELS).map((c) => [c.stream, c.type]));
    const last = new Map(streams.map((s) => [s, '$']));
    while (!stopped) {
      try {
        const res = (await reader.xread('COUNT', 500, 'BLOCK', 2000, 'STREAMS', ...streams, ...streams.map((s) => last.get(s)!))) as [string, [string, string[]][]][] | null;
        for (const [stream, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            last.set(stream, id);
            const e = parseEvent(id, fields, typeOf.get(stream) ?? 'event');
            if (!e) continue;
            for (const c of clients) if (matches(c, stream, e)) send(c, e);
          }
        }
      } catch {
        if (!stopped) await new Promise((r) => setTimeout(r, 1000));
      }
    }
  })();

  // Heartbeats: a client that missed a ping is gone.
  const ping = setInterval(() => {
    for (const c of clients) {
      if (!c.alive) {
        c.ws.terminate();
        clients.delete(c);
        continue;
      }
      c.alive = false;
      c.ws.ping();
    }
  }, 30_000);

  return {
    async close() {
      stopped = true;
      clearInterval(ping);
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
  } catch {
    return null;
  }
}
