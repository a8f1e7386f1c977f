import type { IncomingMessage, Server } from 'node:http';
import type Redis from 'ioredis';
import { WebSocketServer, type WebSocket } from 'ws';
import { EVENTS_STREAM } from '../activities/ingest';
import type { Deps } from '../deps';

/**
 * WS /ws/documents/processing — document stage events as they happen.
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
  documentId?: string;
  alive: boolean;
}

const PATH = '/ws/documents/processing';

export function attachWebSockets(server: Server, deps: Deps, workspaceOf: (req: IncomingMessage) => string | null): WsHub {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const clients = new Set<Client>();
  const reader: Redis = deps.redis.duplicate();
  let stopped = false;

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== PATH) {
      socket.write('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    const workspaceId = workspaceOf(req);
    if (!workspaceId) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => void onConnect(ws, url, workspaceId));
  });

  const send = (c: Client, msg: unknown) => {
    if (c.ws.readyState === c.ws.OPEN) c.ws.send(JSON.stringify(msg));
  };

  const matches = (c: Client, e: { workspace_id?: string; document_id?: string }) =>
    e.workspace_id === c.workspaceId && (!c.documentId || e.document_id === c.documentId);

  async function onConnect(ws: WebSocket, url: URL, workspaceId: string) {
    const documentId = url.searchParams.get('document_id') ?? undefined;
    const lastEventId = url.searchParams.get('last_event_id');
    const client: Client = { ws, workspaceId, documentId, alive: true };
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
    if (lastEventId && /^\d+-\d+$/.test(lastEventId)) {
      const missed = (await deps.redis.xrange(EVENTS_STREAM, `(${lastEventId}`, '+', 'COUNT', 10_000)) as [string, string[]][];
      for (const [id, fields] of missed) {
        const e = parseEvent(id, fields);
        if (e && matches(client, e)) send(client, e);
      }
    }
    clients.add(client);
  }

  // One tail of the stream per process; events go to every matching client.
  void (async () => {
    let last = '$';
    while (!stopped) {
      try {
        const res = (await reader.xread('COUNT', 500, 'BLOCK', 2000, 'STREAMS', EVENTS_STREAM, last)) as [string, [string, string[]][]][] | null;
        for (const [, entries] of res ?? []) {
          for (const [id, fields] of entries) {
            last = id;
            const e = parseEvent(id, fields);
            if (!e) continue;
            for (const c of clients) if (matches(c, e)) send(c, e);
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

function parseEvent(id: string, fields: string[]): ({ id: string; workspace_id?: string; document_id?: string } & Record<string, unknown>) | null {
  const i = fields.indexOf('event');
  if (i < 0) return null;
  try {
    return { id, type: 'stage', ...(JSON.parse(fields[i + 1]!) as Record<string, unknown>) };
  } catch {
    return null;
  }
}
