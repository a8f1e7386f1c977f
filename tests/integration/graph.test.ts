import { ingest } from '../helpers/documents';
import { api, startSystem, type System } from '../helpers/system';

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

  it('runs read-only Cypher with a row limit and a time limit', async () => {
    const ok = await api(sys.url, '/api/graph/query', {
      method: 'POST',
      json: { query: 'MATCH (e:Entity) WHERE e.workspace_id = $workspace_id AND e.name = $name RETURN e.name AS name', parameters: { name: 'Nordhavn Shipyard' } },
    });
    expect(ok.status).toBe(200);
    expect(ok.json.rows[0]).toEqual({ name: 'Nordhavn Shipyard' });

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
