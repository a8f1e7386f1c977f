import WebSocket from 'ws';

export type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface WsClient {
  ws: WebSocket;
  messages: Msg[];
  /** When each ping arrived. */
  pings: number[];
  /** How the connection ended, once it has. */
  closed?: { code: number; reason: string };
}

/**
 * A WebSocket client that keeps every message, the times of the pings it received and how it was
 * closed. `autoPong: false` makes a client that never answers a ping.
 */
export function connectWs(url: string, headers: Record<string, string>, opts: { autoPong?: boolean } = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers, autoPong: opts.autoPong ?? true });
    const c: WsClient = { ws, messages: [], pings: [] };
    ws.on('message', (d) => c.messages.push(JSON.parse(d.toString()) as Msg));
    ws.on('ping', () => c.pings.push(Date.now()));
    ws.on('close', (code, reason) => (c.closed = { code, reason: reason.toString() }));
    ws.once('open', () => resolve(c));
    ws.once('error', reject);
  });
}

/** Waits until the condition holds, polling every 100 ms. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 120_000, what = 'a condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
