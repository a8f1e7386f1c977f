import { ChromaNotFoundError } from 'chromadb';
import { COLLECTIONS, vectorCollection } from '../../src/adapters';
import { createActivities } from '../../src/activities';
import { taskQueues } from '../../src/config';
import { EMBEDDING_FOR } from '../../src/domain/model-aliases';
import { dropStaleCollection, vectorCollectionsToMigrate } from '../../src/vector-migration';
import type { MigrateVectorsResult } from '../../src/workflows';
import { upload, waitForDocument } from '../helpers/documents';
import { adminCredentials, api, login, startSystem, type System } from '../helpers/system';

/**
 * The re-embedding migration after an embedding model change, against the real Chroma, LiteLLM and
 * model server: a collection whose recorded model is not the one its alias serves is found and
 * dropped (collections of this run's own, so the shared ones stay as they are), a completed
 * document's vectors are written again without touching its status, and the workflow returns at once
 * when every shared collection holds the served model's vectors (scripts/test.sh migrates them first).
 * The whole migration over every stored document runs by `npm run migrate:vectors`; it is not repeated
 * here because it re-embeds everything earlier runs left in the stores.
 */
const RUN = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
const WS = `vectors-${RUN}`;
let sys: System;
let token: string;

beforeAll(async () => {
  sys = await startSystem();
  expect((await api(sys.url, '/api/admin/workspaces', { method: 'POST', json: { id: WS, name: 'Vector migration' } })).status).toBe(201);
  token = (await login(sys.url, { ...adminCredentials(), workspace_id: WS })).access_token as string;
});
afterAll(async () => {
  for (const name of [`vm-${RUN}-stale`, `vm-${RUN}-current`]) {
    try {
      await sys?.deps.chroma.deleteCollection({ name });
    } catch (err) {
      if (!(err instanceof ChromaNotFoundError)) throw err; // dropped by the test itself
    }
  }
  await sys?.stop();
});

it('finds a collection of an earlier model and drops it once; leaves one of the served model and a missing one alone', async () => {
  const { chroma, llm } = sys.deps;
  const served = await llm.embed(EMBEDDING_FOR.chunks, ['probe']);
  const dimension = served.vectors[0]!.length;
  const stale = `vm-${RUN}-stale`;
  const current = `vm-${RUN}-current`;
  await chroma.createCollection({ name: stale, embeddingFunction: null, metadata: { 'hnsw:space': 'cosine', embedding_model: 'an-earlier-model', embedding_dimension: 768 } });
  await vectorCollection(chroma, current, served.model, dimension);

  const targets = [stale, current, `vm-${RUN}-missing`].map((collection) => ({ collection, alias: EMBEDDING_FOR.chunks }));
  const steps = await vectorCollectionsToMigrate(sys.deps, targets);
  expect(steps).toEqual([{ collection: stale, from: 'an-earlier-model/768', to: `${served.model}/${dimension}` }]);

  expect(await dropStaleCollection(sys.deps, steps[0]!)).toBe(true);
  await expect(chroma.getCollection({ name: stale, embeddingFunction: undefined })).rejects.toBeInstanceOf(ChromaNotFoundError);
  expect(await dropStaleCollection(sys.deps, steps[0]!)).toBe(false);
  // A collection that already holds the served model's vectors is never dropped.
  expect(await dropStaleCollection(sys.deps, { collection: current, from: 'an-earlier-model/768', to: `${served.model}/${dimension}` })).toBe(false);
  expect((await chroma.getCollection({ name: current, embeddingFunction: undefined })).metadata?.embedding_model).toBe(served.model);
  expect(await vectorCollectionsToMigrate(sys.deps, targets)).toEqual([]);
});

it('writes a completed document’s vectors again, so vector search finds it, and leaves its status and stage', async () => {
  const up = await upload(sys.url, [{ name: `reembed-${RUN}.txt`, bytes: Buffer.from(`Thessaly Brandt directs the Oberwald Glassworks in Lindenau. The glassworks employs 212 people. Run ${RUN}.`) }], 'nlp', { token });
  expect(up.status).toBe(202);
  const id = up.json.documents[0].document_id as string;
  const before = await waitForDocument(sys.url, id, 240_000, token);
  expect(before.status).toBe('completed');
  const col = await sys.deps.chroma.getCollection({ name: COLLECTIONS.chunks, embeddingFunction: undefined });
  const written = await col.get({ where: { document_id: id }, include: [] });
  expect(written.ids.length).toBeGreaterThan(0);

  // The document's vectors are gone, as after a collection of an earlier model was dropped.
  await col.delete({ where: { document_id: id } });
  const ask = () => api(sys.url, '/api/retrieve', { method: 'POST', token, json: { question: 'Who directs the Oberwald Glassworks?', mode: 'vector', top_k: 5 } });
  const gone = await ask();
  expect(gone.status).toBe(200);
  expect(gone.json.chunks.filter((c: { document_id: string }) => c.document_id === id)).toEqual([]);

  const activities = createActivities(sys.deps);
  expect(await activities.reembedDocument(id)).toEqual({ chunkVectors: written.ids.length, entityVectors: expect.any(Number) });
  expect((await col.get({ where: { document_id: id }, include: [] })).ids.sort()).toEqual([...written.ids].sort());
  const found = await ask();
  expect(found.json.chunks[0].document_id).toBe(id);
  const after = (await api(sys.url, `/api/documents/${id}`, { token })).json;
  expect({ status: after.status, stage: after.stage }).toEqual({ status: before.status, stage: before.stage });
  // A document that is no longer there is skipped, not an error.
  expect(await activities.reembedDocument(`doc_missing_${RUN}`)).toBeNull();
});

it('runs as a workflow that returns at once when every collection holds the served model’s vectors', async () => {
  expect(await vectorCollectionsToMigrate(sys.deps)).toEqual([]);
  const result = (await sys.deps.temporal!.workflow.execute('migrateVectors', {
    taskQueue: taskQueues(sys.deps.env).main,
    workflowId: `migrate-vectors-test-${RUN}`,
    args: [{}],
  })) as MigrateVectorsResult;
  expect(result).toEqual({ steps: [], reembedded: 0 });
});
