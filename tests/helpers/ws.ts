import WebSocket from 'ws';

export type Msg = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** A WebSocket client that keeps every message and the times of the pings it received. */
export function connectWs(url: string, headers: Record<string, string>): Promise<{ ws: WebSocket; messages: Msg[]; pings: number[] }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const c = { ws, messages: [] as Msg[], pings: [] as number[] };
    ws.on('message', (d) => c.messages.push(JSON.parse(d.toString()) as Msg));
    ws.on('ping', () => c.pings.push(Date.now()));
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
