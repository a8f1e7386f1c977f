import { freshUpload, upload, waitForDocument } from '../helpers/documents';
import { multihopCorpus } from '../helpers/fixtures';
import { api, authHeaders, startSystem, type System } from '../helpers/system';
import { connectWs, until } from '../helpers/ws';

/** Connects as the administrator of the system under test unless other headers are given. */
const connect = (url: string, headers: Record<string, string> = authHeaders(url.replace(/^ws/, 'http').replace(/(\/\/[^/]+).*$/, '$1'))) => connectWs(url, headers);

describe('WS /ws/documents/processing', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('streams a document’s stages in order, after a snapshot, and a reconnect with the last event id misses nothing', async () => {
    const a = multihopCorpus()[42]!;
    const bytes = Buffer.from(`${a.title}\n\n${a.body}\n\nwebsocket test`);
    // Start from a clean slate (an earlier run may have left this document), then delete it again
    // so the upload below starts a new run while the sockets listen.
    const id = await freshUpload(sys.url, 'ws.txt', bytes);
    await waitForDocument(sys.url, id);
    await api(sys.url, `/api/documents/${id}?wait=true`, { method: 'DELETE' });
    const wsUrl = sys.url.replace('http', 'ws');

    const all = await connect(`${wsUrl}/ws/documents/processing`);
    const up = await upload(sys.url, [{ name: 'ws.txt', bytes }]);
    expect(up.json.documents[0].document_id).toBe(id);
    const late = await connect(`${wsUrl}/ws/documents/processing?document_id=${id}`);
    await until(() => all.messages.some((m) => m.document_id === id && m.stage === 'done'));
    await until(() => late.messages.some((m) => m.stage === 'done'));

    const stages = all.messages.filter((m) => m.document_id === id && m.status === 'started').map((m) => m.stage);
    expect(stages).toEqual(['detect', 'extract', 'metadata', 'chunk', 'classify', 'entities', 'resolve', 'embed', 'graph']);
    expect(late.messages[0]).toEqual(expect.objectContaining({ type: 'snapshot', document_id: id, found: true }));
    // Event ids increase strictly.
    const ids = all.messages.filter((m) => m.id).map((m) => m.id!);
    const key = (x: string) => x.split('-').map(Number) as [number, number];
    for (let i = 1; i < ids.length; i++) {
      const [a1, b1] = key(ids[i - 1]!);
      const [a2, b2] = key(ids[i]!);
      expect(a2 > a1 || (a2 === a1 && b2 > b1)).toBe(true);
    }

    // A client that saw only the first three events reconnects and gets the rest, in order.
    const mine = all.messages.filter((m) => m.document_id === id);
    const resumed = await connect(`${wsUrl}/ws/documents/processing?last_event_id=${mine[2]!.id}`);
    await until(() => resumed.messages.filter((m) => m.document_id === id).length >= mine.length - 3);
    expect(resumed.messages.filter((m) => m.document_id === id).map((m) => m.id)).toEqual(mine.slice(3).map((m) => m.id));
    for (const c of [all, late, resumed]) c.ws.close();
  });

  it('refuses other paths', async () => {
    await expect(connect(`${sys.url.replace('http', 'ws')}/ws/elsewhere`)).rejects.toThrow(/404/);
  });

  it('refuses an upgrade without a valid token', async () => {
    const wsUrl = `${sys.url.replace('http', 'ws')}/ws/documents/processing`;
    await expect(connect(wsUrl, {})).rejects.toThrow(/401/);
    await expect(connect(wsUrl, { authorization: `Bearer ${sys.token.slice(0, -4)}AAAA` })).rejects.toThrow(/401/);
    await expect(connect(`${wsUrl}?access_token=not-a-token`, {})).rejects.toThrow(/401/);
    // A browser passes the token in the query string.
    const ok = await connect(`${wsUrl}?access_token=${sys.token}`, {});
    ok.ws.close();
  });
});
