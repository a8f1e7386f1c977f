import { freshUpload, upload, waitForDocument } from '../helpers/documents';
import { stack } from '../helpers/stack';
import { api, authHeaders, login, startSystem, type System } from '../helpers/system';
import { connectWs, until as waitUntil, type Msg } from '../helpers/ws';
import { allChatAliases, type ChatAlias } from '../../src/domain/model-aliases';

/**
 * Real-time channels against the real stack: graph updates as ingestion and deletion change the
 * graph (in order with the document's stages, resumable, private documents kept private), system
 * alerts when a real dependency goes down and comes back, heartbeats, and authentication.
 */
jest.setTimeout(600_000);

const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

let sys: System;
beforeAll(async () => {
  // The alert monitor runs its rounds only when a test calls check(): a round of its own timer in the
  // middle of a test's failing calls would count some of them and not others.
  sys = await startSystem({ WS_HEARTBEAT_MS: 500 }, { alertTimer: false });
});
afterAll(async () => {
  await sys?.stop();
});

const connect = (path: string, headers: Record<string, string> = authHeaders(sys.url), opts: { autoPong?: boolean } = {}) =>
  connectWs(`${sys.url.replace('http', 'ws')}${path}`, headers, opts);
const until = (cond: () => boolean | Promise<boolean>, ms = 180_000, what?: string) => waitUntil(cond, ms, what);

describe('WS /ws/graph/updates', () => {
  it('reports the entities and relationships a document adds and its deletion removes, in order with its stages', async () => {
    const text = `Henrike Vasquez founded the Corvallis Rope Works in Brightwater. ${RUN}\n\nHenrike Vasquez and Tobias Lindqvist ran the Corvallis Rope Works together.`;
    const graph = await connect('/ws/graph/updates');
    const stages = await connect('/ws/documents/processing');
    const id = await freshUpload(sys.url, `graph-${RUN}.txt`, Buffer.from(text));
    await waitForDocument(sys.url, id);
    await until(() => graph.messages.some((m) => m.document_id === id && m.change === 'added'));
    const added = graph.messages.find((m) => m.document_id === id && m.change === 'added')!;
    expect(added).toMatchObject({ type: 'graph', workspace_id: 'default', id: expect.stringMatching(/^\d+-\d+$/) });
    expect(added.entity_count).toBeGreaterThan(0);
    expect(added.entities.map((e: { name: string }) => e.name).join(' ')).toMatch(/Henrike Vasquez/);
    // The entities are really in the graph.
    const e = await api(sys.url, `/api/graph/entities?q=${encodeURIComponent('Henrike Vasquez')}`);
    expect(e.json.entities.map((x: { id: string }) => x.id)).toEqual(expect.arrayContaining([added.entities.find((x: { name: string }) => /Henrike/.test(x.name)).id]));
    // In order with the document's stages: after the graph stage began, before the document was done.
    await until(() => stages.messages.some((m) => m.document_id === id && m.stage === 'done'));
    const at = (m: Msg) => Date.parse(m.at);
    const graphStage = stages.messages.find((m) => m.document_id === id && m.stage === 'graph')!;
    const done = stages.messages.find((m) => m.document_id === id && m.stage === 'done')!;
    expect(at(added)).toBeGreaterThanOrEqual(at(graphStage));
    expect(at(added)).toBeLessThanOrEqual(at(done));

    expect((await api(sys.url, `/api/documents/${id}?wait=true`, { method: 'DELETE' })).status).toBe(200);
    await until(() => graph.messages.some((m) => m.document_id === id && m.change === 'removed'));
    const removed = graph.messages.find((m) => m.document_id === id && m.change === 'removed')!;
    expect(removed.entities_removed.map((x: { name: string }) => x.name).join(' ')).toMatch(/Henrike Vasquez/);
    const mine = graph.messages.filter((m) => m.document_id === id);
    expect(mine.map((m) => m.change)).toEqual(['added', 'removed']);

    // A reconnect with the last event id it saw resumes exactly after it.
    const resumed = await connect(`/ws/graph/updates?last_event_id=${added.id}&document_id=${id}`);
    await until(() => resumed.messages.length >= 1);
    expect(resumed.messages.map((m) => m.id)).toEqual([removed.id]);
    for (const c of [graph, stages, resumed]) c.ws.close();
  });

  it("keeps a private document's graph changes from other users", async () => {
    const email = `owner-${RUN}@example.com`;
    const password = `pw-${RUN}-Correct-Horse`;
    expect((await api(sys.url, '/api/admin/users', { method: 'POST', json: { email, password, role: 'power_user' } })).status).toBe(201);
    const owner = (await login(sys.url, { email, password })).access_token as string;
    const others = await connect('/ws/graph/updates'); // the administrator: not the owner
    const othersStages = await connect('/ws/documents/processing');
    const own = await connect('/ws/graph/updates', { authorization: `Bearer ${owner}` });
    const ownStages = await connect('/ws/documents/processing', { authorization: `Bearer ${owner}` });
    const up = await upload(sys.url, [{ name: `private-graph-${RUN}.txt`, bytes: Buffer.from(`Ingeborg Saltmarsh designed the Quillon Bridge. ${RUN}`) }], 'nlp', { token: owner, visibility: 'private' });
    const id = up.json.documents[0].document_id as string;
    await waitForDocument(sys.url, id, 240_000, owner);
    await until(() => {
      if (own.closed) throw new Error(`the owner's graph channel was closed: ${JSON.stringify(own.closed)}`);
      return own.messages.some((m) => m.document_id === id);
    });
    await until(() => ownStages.messages.some((m) => m.document_id === id && m.stage === 'done'));
    await new Promise((r) => setTimeout(r, 1000));
    // The other user's channels were open throughout: they would have carried the events.
    for (const c of [others, othersStages, own, ownStages]) expect(c.closed).toBeUndefined();
    expect(others.messages.filter((m) => m.document_id === id)).toEqual([]);
    expect(othersStages.messages.filter((m) => m.document_id === id)).toEqual([]);
    for (const c of [others, othersStages, own, ownStages]) c.ws.close();
  });
});

describe('WS /ws/system/alerts', () => {
  it('is for administrators only and refuses unauthenticated upgrades', async () => {
    await expect(connect('/ws/system/alerts', {})).rejects.toThrow(/401/);
    const email = `viewer-${RUN}@example.com`;
    const password = `pw-${RUN}-Correct-Horse`;
    await api(sys.url, '/api/admin/users', { method: 'POST', json: { email, password, role: 'user' } });
    const t = (await login(sys.url, { email, password })).access_token as string;
    await expect(connect('/ws/system/alerts', { authorization: `Bearer ${t}` })).rejects.toThrow(/403/);
  });

  it('announces a real dependency going down and coming back, and a model error-rate spike', async () => {
    const alerts = await connect('/ws/system/alerts');
    // This process must be the watcher (a monitor that ended without handing back its lease holds it
    // for three intervals), and the current states are known before anything changes.
    await until(async () => (await sys.alerts.check(), sys.alerts.watching()), 60_000, 'this process to hold the alert watcher lease');
    // An alias whose state is "ok" now and for which five failed calls make a spike whatever else
    // called it in the monitor's window (calls - 2 × failed ≤ 5): other files' calls may be counted
    // beside ours, and the alert must count them all.
    const window = sys.alerts.windowMinutes;
    await sys.alerts.check();
    const candidates = await sys.deps.db.query(
      `SELECT a AS alias, count(m.*)::int AS calls, count(m.*) FILTER (WHERE NOT m.ok)::int AS failed
         FROM unnest($1::text[]) AS a LEFT JOIN model_calls m ON m.alias = a AND m.at > now() - make_interval(mins => $2)
        GROUP BY a HAVING NOT (count(m.*) >= 5 AND 2 * count(m.*) FILTER (WHERE NOT m.ok) >= count(m.*))
           AND count(m.*) - 2 * count(m.*) FILTER (WHERE NOT m.ok) <= 5
        ORDER BY count(m.*), a LIMIT 1`,
      [allChatAliases(), window],
    );
    if (!candidates.rows.length) throw new Error(`no chat alias can be made to spike with five failures in the last ${window} minutes`);
    const alias = candidates.rows[0].alias as ChatAlias;
    await sys.alerts.check();
    expect((await stack('stop', 'litellm')).code).toBe(0);
    try {
      // Calls that really fail while the gateway is down.
      for (let i = 0; i < 5; i++) await expect(sys.deps.llm.chat(alias, [{ role: 'user', content: 'ping' }], { workspaceId: 'default' })).rejects.toThrow();
      await sys.alerts.check();
      const seen = () => JSON.stringify(alerts.messages.map((m) => [m.kind, m.dependency ?? m.alias]));
      await until(() => alerts.messages.some((m) => m.kind === 'dependency_down' && m.dependency === 'litellm'), 30_000, 'dependency_down for litellm').catch((e) => {
        throw new Error(`${(e as Error).message}; alerts seen: ${seen()}`);
      });
      await until(() => alerts.messages.some((m) => m.kind === 'model_error_rate' && m.alias === alias), 30_000, `model_error_rate for ${alias}`).catch((e) => {
        throw new Error(`${(e as Error).message}; alerts seen: ${seen()}`);
      });
      const spike = alerts.messages.find((m) => m.kind === 'model_error_rate' && m.alias === alias)!;
      // The alert states its window, and its counts are exactly the calls recorded in that window:
      // at least our five failures (the round ran after all of them), and the rule's threshold met.
      expect(spike.window_minutes).toBe(window);
      expect(spike.failed).toBeGreaterThanOrEqual(5);
      expect(spike.calls).toBeGreaterThanOrEqual(spike.failed);
      expect(spike.error_rate).toBe(Number((spike.failed / spike.calls).toFixed(3)));
      expect(spike.error_rate).toBeGreaterThanOrEqual(0.5);
      const recount = await sys.deps.db.query(
        `SELECT count(*)::int AS calls, count(*) FILTER (WHERE NOT ok)::int AS failed FROM model_calls WHERE alias = $1 AND at > $2 AND at <= $3`,
        [alias, spike.window_start, spike.window_end],
      );
      expect(recount.rows[0]).toEqual({ calls: spike.calls, failed: spike.failed });
      expect(Date.parse(spike.window_end) - Date.parse(spike.window_start)).toBe(window * 60_000);
    } finally {
      expect((await stack('start', 'litellm')).code).toBe(0);
    }
    const end = Date.now() + 120_000;
    while (!alerts.messages.some((m) => m.kind === 'dependency_up' && m.dependency === 'litellm')) {
      if (Date.now() > end) throw new Error('no dependency_up alert for litellm');
      await sys.alerts.check();
      await new Promise((r) => setTimeout(r, 1000));
    }
    const kinds = alerts.messages.filter((m) => m.dependency === 'litellm').map((m) => m.kind);
    expect(kinds.indexOf('dependency_down')).toBeLessThan(kinds.lastIndexOf('dependency_up'));
    alerts.ws.close();
  });
});

describe('heartbeats and connection metrics', () => {
  it('pings every open connection and counts connections by channel', async () => {
    const c = await connect('/ws/documents/processing');
    await until(() => c.pings.length >= 2, 10_000);
    const metrics = await api(sys.url, '/api/metrics');
    expect(metrics.text).toMatch(/neuronode_websocket_connections\{channel="\/ws\/documents\/processing"\} [1-9]/);
    c.ws.close();
  });

  it('keeps a client that answered while this process was busy, and drops one that answers no ping', async () => {
    const busy = await connect('/ws/documents/processing');
    // The pong leaves before the handler runs; the handler then blocks this process (server and
    // client alike) past the next heartbeat, whose timer runs before the waiting pong is read.
    busy.ws.once('ping', () => {
      const end = Date.now() + 800;
      while (Date.now() < end);
    });
    const silent = await connect('/ws/documents/processing', authHeaders(sys.url), { autoPong: false });
    await until(() => busy.pings.length >= 6, 10_000, 'six pings');
    expect(busy.closed).toBeUndefined();
    expect(busy.ws.readyState).toBe(busy.ws.OPEN);
    // The silent client is dropped after its second unanswered ping, not before.
    await until(() => silent.closed !== undefined, 5_000, 'the silent client to be dropped');
    expect(silent.closed!.code).toBe(1006);
    expect(silent.pings.length).toBe(2);
    busy.ws.close();
  });
});
