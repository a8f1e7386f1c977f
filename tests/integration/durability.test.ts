import type { ChildProcess } from 'node:child_process';
import { COLLECTIONS } from '../../src/adapters';
import { makeDeleteWorkflowId } from '../../src/domain/ids';
import { freshUpload, ingest, waitForDocument } from '../helpers/documents';
import { multihopCorpus } from '../helpers/fixtures';
import { stack } from '../helpers/stack';
import { stopChild } from '../helpers/teardown';
import { startWorkerProcess } from '../helpers/worker';
import { api, startSystem, type System } from '../helpers/system';

/** A document of many chunks (about sixty): six real news articles. */
function bigDocument(seed: number): Buffer {
  const arts = multihopCorpus().slice(seed, seed + 6);
  return Buffer.from(arts.map((a) => `${a.title}\n\n${a.body}`).join('\n\n'));
}

async function waitForStage(base: string, id: string, stages: string[], timeoutMs = 120_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const d = await api(base, `/api/documents/${id}`);
    if (stages.includes(d.json.stage)) return d.json;
    if (d.json.status !== 'processing' && d.json.status !== 'queued') throw new Error(`document ended (${d.json.status}) before reaching ${stages}`);
    if (Date.now() > until) throw new Error(`document never reached ${stages} (at ${d.json.stage})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('durability: a killed worker and store outages lose and duplicate nothing', () => {
  /** Counts of everything the document left in each store. */
  async function counts(sys: System, id: string) {
    const pg = (
      await sys.deps.db.query(
        `SELECT (SELECT count(*) FROM chunks WHERE document_id = $1)::int AS chunks,
                (SELECT count(*) FROM document_entities WHERE document_id = $1)::int AS entities,
                (SELECT count(*) FROM document_relations WHERE document_id = $1)::int AS relations`,
        [id],
      )
    ).rows[0];
    const col = await sys.deps.chroma.getCollection({ name: COLLECTIONS.chunks });
    const vectors = (await col.get({ where: { document_id: id }, include: [] })).ids.length;
    const g = await sys.deps.graph.executeQuery(
      `MATCH (d:Document {id: $id})-[:CONTAINS]->(c:Chunk)
       OPTIONAL MATCH (c)-[m:MENTIONS]->(e:Entity)
       RETURN count(DISTINCT c) AS chunks, count(DISTINCT e) AS entities, count(m) AS mentions`,
      { id },
    );
    const r = g.records[0]!;
    return { ...pg, vectors, graphChunks: r.get('chunks'), graphEntities: r.get('entities'), mentions: r.get('mentions') };
  }

  /** A document ingested before every outage of this file, and what each store held of it then. */
  let kept: { id: string; counts: Awaited<ReturnType<typeof counts>> };
  beforeAll(async () => {
    const sys = await startSystem();
    try {
      const doc = await ingest(sys.url, 'before-outages.txt', bigDocument(500));
      expect(doc.status).toBe('completed');
      kept = { id: doc.id, counts: await counts(sys, doc.id) };
      expect(kept.counts.chunks).toBeGreaterThan(30);
      expect(kept.counts.vectors).toBe(kept.counts.chunks);
      expect(kept.counts.graphChunks).toBe(kept.counts.chunks);
    } finally {
      await sys.stop();
    }
  }, 600_000);

  describe('kill -9 of the worker during a multi-chunk ingestion', () => {
    let sys: System;
    let worker: ChildProcess | undefined;
    beforeAll(async () => {
      sys = await startSystem({}, { worker: false });
    });
    afterAll(async () => {
      if (worker) await stopChild(worker, 'SIGKILL');
      await sys?.stop();
    });

    it('completes after a restart, with the same counts in every store as a clean run', async () => {
      worker = await startWorkerProcess();
      const id = await freshUpload(sys.url, 'crash.txt', bigDocument(100));
      const at = await waitForStage(sys.url, id, ['entities', 'resolve', 'embed', 'graph']);
      worker.kill('SIGKILL');
      await new Promise((r) => worker!.once('exit', r));
      const stuck = await api(sys.url, `/api/documents/${id}`);
      expect(stuck.json.status).toBe('processing');

      worker = await startWorkerProcess();
      const done = await waitForDocument(sys.url, id, 300_000);
      expect(done.status).toBe('completed');
      const afterCrash = await counts(sys, id);
      expect(afterCrash.chunks).toBeGreaterThan(30);
      expect(afterCrash.vectors).toBe(afterCrash.chunks);
      expect(afterCrash.graphChunks).toBe(afterCrash.chunks);
      expect(afterCrash.graphEntities).toBe(afterCrash.entities);

      // A clean run of the same document (reprocess, no crash) leaves exactly the same counts.
      const re = await api(sys.url, `/api/documents/${id}/reprocess`, { method: 'POST', json: {} });
      expect(re.status).toBe(202);
      await new Promise((r) => setTimeout(r, 500));
      expect((await waitForDocument(sys.url, id, 300_000)).status).toBe('completed');
      expect(await counts(sys, id)).toEqual(afterCrash);
      expect(at.stage).toEqual(expect.any(String));
    });
  });

  describe('store outages during ingestion', () => {
    let sys: System;
    beforeAll(async () => {
      sys = await startSystem();
    });
    afterAll(async () => {
      await sys?.stop();
    });

    it.each([
      // Entity resolution already needs Chroma (near-duplicate search), then the embedding stage.
      ['chroma', ['resolve', 'embed'], 'entities'],
      ['neo4j', ['graph'], 'embed'],
    ])('%s stopped mid-ingestion: the workflow retries, completes once it is back, and nothing is duplicated', async (service, failingStages, stopAt) => {
      const id = await freshUpload(sys.url, `${service}-outage.txt`, bigDocument(service === 'chroma' ? 200 : 300));
      await waitForStage(sys.url, id, [stopAt, ...failingStages]);
      expect((await stack('stop', service)).code).toBe(0);
      try {
        // The workflow reaches the stage that needs the stopped store and keeps retrying there.
        await waitForStage(sys.url, id, failingStages);
        const handle = sys.deps.temporal!.workflow.getHandle(`ingest-${id}`);
        let attempts = 0;
        for (let i = 0; i < 120 && attempts < 2; i++) {
          const desc = await handle.describe();
          attempts = Math.max(0, ...(desc.raw.pendingActivities ?? []).map((a) => a.attempt ?? 0));
          await new Promise((r) => setTimeout(r, 500));
        }
        expect(attempts).toBeGreaterThanOrEqual(2);
        expect((await api(sys.url, `/api/documents/${id}`)).json.status).toBe('processing');
      } finally {
        expect((await stack('start', service)).code).toBe(0);
      }
      const done = await waitForDocument(sys.url, id, 300_000);
      expect(done.status).toBe('completed');
      const c = await counts(sys, id);
      expect(c.vectors).toBe(c.chunks);
      expect(c.graphChunks).toBe(c.chunks);
      expect(c.graphEntities).toBe(c.entities);
    });

    it('chroma stopped mid-deletion: the deletion retries, completes once it is back, and leaves no vector behind', async () => {
      const doc = await ingest(sys.url, 'delete-during-outage.txt', bigDocument(400));
      expect(doc.status).toBe('completed');
      const before = await counts(sys, doc.id);
      expect(before.vectors).toBeGreaterThan(0);
      const handle = sys.deps.temporal!.workflow.getHandle(makeDeleteWorkflowId(doc.id));
      expect((await stack('stop', 'chroma')).code).toBe(0);
      try {
        const del = await api(sys.url, `/api/documents/${doc.id}`, { method: 'DELETE' });
        expect(del.status).toBe(202);
        // The vector step fails while Chroma is away, and Temporal retries it: the deletion neither
        // completes nor moves on to the graph and the record.
        let pending: { activityType?: { name?: string | null } | null; attempt?: number | null }[] = [];
        for (let i = 0; i < 120; i++) {
          pending = (await handle.describe()).raw.pendingActivities ?? [];
          if ((pending[0]?.attempt ?? 0) >= 2) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        expect(pending.map((a) => [a.activityType?.name, (a.attempt ?? 0) >= 2])).toEqual([['deleteDocumentVectors', true]]);
        const during = await api(sys.url, `/api/documents/${doc.id}`);
        expect([during.status, during.json.status]).toEqual([200, 'deleting']);
      } finally {
        expect((await stack('start', 'chroma')).code).toBe(0);
      }
      expect(await handle.result()).toMatchObject({ deleted: true, vectors: before.vectors });
      expect((await api(sys.url, `/api/documents/${doc.id}`)).status).toBe(404);
      expect(await counts(sys, doc.id)).toEqual({ chunks: 0, entities: 0, relations: 0, vectors: 0, graphChunks: 0, graphEntities: 0, mentions: 0 });
    });
  });

  it('a document ingested before the outages is still whole: the same counts in every store after them', async () => {
    const sys = await startSystem();
    try {
      const doc = await api(sys.url, `/api/documents/${kept.id}`);
      expect(doc.json.status).toBe('completed');
      expect(await counts(sys, kept.id)).toEqual(kept.counts);
    } finally {
      await sys.stop();
    }
  });
});
