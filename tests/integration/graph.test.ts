import { ingest, upload, waitForDocument } from '../helpers/documents';
import { adminCredentials, api, login, startSystem, type System } from '../helpers/system';

/** The knowledge-graph API against what an ingested fixture really contains, and safe Cypher. */
const DOC = `---
title: "Lindqvist Ferries orders electric vessels"
source: "Harbour Weekly"
---
# Lindqvist Ferries orders electric vessels

Lindqvist Ferries ordered four electric vessels from Nordhavn Shipyard in Gothenburg.
Chief executive Ingrid Lindqvist said the Nordhavn Shipyard vessels will enter service in 2027.
`;

describe('knowledge-graph API', () => {
  let sys: System;
  let docId: string;

  beforeAll(async () => {
    sys = await startSystem({}, { worker: true });
    const doc = await ingest(sys.url, 'lindqvist-ferries.md', Buffer.from(DOC));
    expect(doc.status).toBe('completed');
    docId = doc.id;
  }, 300_000);

  afterAll(async () => {
    await sys?.stop();
  });

  it('finds entities by prefix and fuzzy name, with their mentions and neighbours', async () => {
    const prefix = await api(sys.url, '/api/graph/entities?q=Nordhav');
    expect(prefix.status).toBe(200);
    const yard = prefix.json.entities.find((e: { name: string }) => e.name === 'Nordhavn Shipyard');
    expect(yard).toBeDefined();
    expect(yard.mentions).toBeGreaterThanOrEqual(1);
    const fuzzy = await api(sys.url, '/api/graph/entities?q=Nordhafn');
    expect(fuzzy.json.entities.map((e: { name: string }) => e.name)).toContain('Nordhavn Shipyard');

    const one = await api(sys.url, `/api/graph/entities/${yard.id}`);
    expect(one.status).toBe(200);
    expect(one.json.mentions.some((m: { document_id: string; snippet: string }) => m.document_id === docId && m.snippet.includes('Nordhavn Shipyard'))).toBe(true);
    expect(one.json.neighbours.map((n: { name: string }) => n.name)).toEqual(expect.arrayContaining(['Ingrid Lindqvist']));
    expect((await api(sys.url, '/api/graph/entities/does-not-exist')).status).toBe(404);

    const rels = await api(sys.url, `/api/graph/relationships?entity_id=${yard.id}`);
    expect(rels.status).toBe(200);
    expect(rels.json.relationships.length).toBeGreaterThan(0);
    expect(rels.json.relationships.every((r: { source_id: string; target_id: string }) => r.source_id === yard.id || r.target_id === yard.id)).toBe(true);
  });

  it('returns a document subgraph with nodes and edges', async () => {
    const g = await api(sys.url, `/api/graph/data?document_id=${docId}&depth=1&limit=50`);
    expect(g.status).toBe(200);
    const names = g.json.nodes.map((n: { name: string }) => n.name);
    expect(names).toEqual(expect.arrayContaining(['Nordhavn Shipyard', 'Ingrid Lindqvist']));
    expect(g.json.edges.length).toBeGreaterThan(0);
    const ids = new Set(g.json.nodes.map((n: { id: string }) => n.id));
    for (const e of g.json.edges) expect(ids.has(e.source) && ids.has(e.target)).toBe(true);
    expect((await api(sys.url, '/api/graph/data?depth=9')).status).toBe(400);
  });

  it("draws the workspace's overview: its most mentioned entities and the edges among them, without another user's private document", async () => {
    const run = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
    const ws = `graph-${run}`;
    // The run id sits inside the word: a name ending in the id's last letters ("…0ts", "…fly") is read
    // by the English tagger as a plural or an adverb, and the entity becomes "Holdings" alone.
    const canary = `Quorv${run}ath`;
    expect((await api(sys.url, '/api/admin/workspaces', { method: 'POST', json: { id: ws, name: 'Graph overview' } })).status).toBe(201);
    const admin = (await login(sys.url, { ...adminCredentials(), workspace_id: ws })).access_token as string;
    const password = `graph-${run}-Passw0rd!`;
    const alice = await api(sys.url, '/api/admin/users', { method: 'POST', json: { email: `alice-${run}@example.com`, password, role: 'power_user' }, token: admin });
    expect(alice.status).toBe(201);
    const aliceToken = (await login(sys.url, { email: `alice-${run}@example.com`, password, workspace_id: ws })).access_token as string;
    const put = async (token: string, name: string, text: string, visibility: 'private' | 'organisation') => {
      const up = await upload(sys.url, [{ name, bytes: Buffer.from(text), type: 'text/plain' }], 'nlp', { token, visibility });
      expect(up.status).toBe(202);
      const done = await waitForDocument(sys.url, up.json.documents[0].document_id, 240_000, token);
      expect(done.status).toBe('completed');
    };
    await put(admin, `org-${run}.txt`, `${DOC}\nNordhavn Shipyard also builds ferries for Lindqvist Ferries in Malmö. Run ${run}.`, 'organisation');
    await put(aliceToken, `private-${run}.txt`, `${canary} Holdings owns the Nordhavn Shipyard. ${canary} Holdings works with Ingrid Lindqvist. Run ${run}.`, 'private');

    const asAdmin = await api(sys.url, '/api/graph/overview?limit=5000', { token: admin });
    expect(asAdmin.status).toBe(200);
    const names = asAdmin.json.nodes.map((n: { name: string }) => n.name);
    expect(names).toEqual(expect.arrayContaining(['Nordhavn Shipyard', 'Ingrid Lindqvist']));
    expect(asAdmin.text).not.toContain(canary);
    expect(asAdmin.json).toMatchObject({ limit: 5000, truncated: false, total_entities: names.length });
    // Most mentioned first; every edge joins two of the nodes returned.
    const mentions = asAdmin.json.nodes.map((n: { mentions: number }) => n.mentions);
    expect(mentions).toEqual([...mentions].sort((a, b) => b - a));
    expect(mentions.every((m: number) => m >= 1)).toBe(true);
    const ids = new Set(asAdmin.json.nodes.map((n: { id: string }) => n.id));
    expect(asAdmin.json.edges.length).toBeGreaterThan(0);
    for (const e of asAdmin.json.edges) expect(ids.has(e.source) && ids.has(e.target)).toBe(true);

    // The owner of the private document sees its entity too.
    const asAlice = await api(sys.url, '/api/graph/overview?limit=5000', { token: aliceToken });
    expect(asAlice.json.nodes.map((n: { name: string }) => n.name)).toEqual(expect.arrayContaining([`${canary} Holdings`]));
    expect(asAlice.json.total_entities).toBeGreaterThan(asAdmin.json.total_entities);

    const top = await api(sys.url, '/api/graph/overview?limit=1', { token: admin });
    expect(top.json).toMatchObject({ truncated: true, total_entities: names.length });
    expect(top.json.nodes).toEqual([asAdmin.json.nodes[0]]);
    const type = asAdmin.json.nodes[0].type as string;
    const typed = await api(sys.url, `/api/graph/overview?types=${encodeURIComponent(type)}`, { token: admin });
    expect(typed.json.nodes.length).toBeGreaterThan(0);
    expect(typed.json.nodes.every((n: { type: string }) => n.type === type)).toBe(true);
    for (const bad of ['limit=5001', 'limit=0', 'depth=2']) expect((await api(sys.url, `/api/graph/overview?${bad}`, { token: admin })).status).toBe(400);
  }, 600_000);

  it('runs read-only Cypher with a row limit and a time limit', async () => {
    const ok = await api(sys.url, '/api/graph/query', {
      method: 'POST',
      json: { query: 'MATCH (e:Entity) WHERE e.workspace_id = $workspace_id AND e.name = $name RETURN e.name AS name', parameters: { name: 'Nordhavn Shipyard' } },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.rows[0]).toEqual({ name: 'Nordhavn Shipyard' });
    // Scalars only: nothing to draw.
    expect(ok.json.graph).toEqual({ nodes: [], relationships: [], dangling: 0 });

    // Paths: their nodes and relationships, each once, every relationship between two returned nodes.
    const paths = await api(sys.url, '/api/graph/query', {
      method: 'POST',
      json: { query: 'MATCH p = (a:Entity {name: $name})-[:RELATED_TO]-(b:Entity) WHERE a.workspace_id = $workspace_id RETURN p, b.name AS other', parameters: { name: 'Nordhavn Shipyard' } },
    });
    expect(paths.status).toBe(200);
    const g = paths.json.graph as { nodes: { id: string; name: string; labels: string[] }[]; relationships: { id: string; type: string; source: string; target: string }[]; dangling: number };
    const others = paths.json.rows.map((r: { other: string }) => r.other);
    expect(others).toContain('Ingrid Lindqvist');
    expect(g.nodes.map((n) => n.name).sort()).toEqual([...new Set(['Nordhavn Shipyard', ...others])].sort());
    expect(g.nodes.every((n) => n.labels.includes('Entity'))).toBe(true);
    expect(g.relationships).toHaveLength(paths.json.row_count);
    expect(new Set(g.relationships.map((r) => r.id)).size).toBe(g.relationships.length);
    const yardId = g.nodes.find((n) => n.name === 'Nordhavn Shipyard')!.id;
    const nodeIds = new Set(g.nodes.map((n) => n.id));
    for (const r of g.relationships) {
      expect(r.type).toBe('RELATED_TO');
      expect(nodeIds.has(r.source) && nodeIds.has(r.target)).toBe(true);
      expect([r.source, r.target]).toContain(yardId);
    }
    expect(g.dangling).toBe(0);
    // A relationship without its end nodes is counted, not drawn.
    const bare = await api(sys.url, '/api/graph/query', {
      method: 'POST',
      json: { query: 'MATCH (a:Entity {name: $name})-[r:RELATED_TO]-() WHERE a.workspace_id = $workspace_id RETURN r', parameters: { name: 'Nordhavn Shipyard' } },
    });
    expect(bare.json.graph.relationships).toEqual([]);
    expect(bare.json.graph.dangling).toBe(paths.json.row_count);

    const capped = await api(sys.url, '/api/graph/query', { method: 'POST', json: { query: 'UNWIND range(1, 5000) AS x WITH x WHERE $workspace_id IS NOT NULL RETURN x', limit: 10 } });
    expect(capped.json.row_count).toBe(10);
    expect(capped.json.truncated).toBe(true);

    const slow = await api(sys.url, '/api/graph/query', {
      method: 'POST',
      json: { query: 'UNWIND range(1, 200000000) AS x WITH x WHERE $workspace_id IS NOT NULL AND x % 7 = 3 RETURN count(x) AS n', timeout_ms: 300 },
    });
    expect(slow.status).toBe(504);
  });

  // Refused and confined queries: tests/integration/graph-query-security.test.ts.
});
