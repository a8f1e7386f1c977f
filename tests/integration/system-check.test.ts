import { COLLECTIONS } from '../../src/adapters';
import { api, startSystem, type System } from '../helpers/system';

describe('the system-check workflow, started through the API, touches every store', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('completes, and each store holds what it wrote', async () => {
    const before = Number((await sys.deps.db.query('SELECT count(*) AS n FROM model_calls')).rows[0].n);
    const res = await api(sys.url, '/api/system/check', { method: 'POST', json: { profile: 'local' } });
    expect(res.status).toBe(200);
    const { checkId, steps, workflow_id: workflowId } = res.json;
    expect(workflowId).toBe(`system-check-${checkId}`);
    for (const step of ['postgres', 'redis', 'neo4j', 'llm', 'chroma']) expect(steps[step].ok).toBe(true);
    expect(steps.llm.detail).toMatch(/status=(ok|degraded), language=(de|en)/);
    expect(steps.llm.servedBy).toBe('openai/local-gemma3-270m');
    expect(steps.chroma.dimension).toBe(384);

    // PostgreSQL: the recorded result.
    const row = await sys.deps.db.query('SELECT workflow_id, result FROM system_checks WHERE id = $1', [checkId]);
    expect(row.rows[0].workflow_id).toBe(workflowId);
    // Neo4j: the node.
    const { records } = await sys.deps.graph.executeQuery('MATCH (s:SystemCheck {id: $id}) RETURN s.workspace_id AS ws', { id: checkId });
    expect(records[0]?.get('ws')).toBe('default');
    // Chroma: both vectors, with the embedding model recorded on the collection.
    const col = await sys.deps.chroma.getCollection({ name: COLLECTIONS.systemChecks });
    const got = await col.get({ where: { check_id: checkId } });
    expect(got.ids.sort()).toEqual([`${checkId}-0`, `${checkId}-1`]);
    expect(col.metadata?.embedding_dimension).toBe(384);
    // Redis: the key.
    expect(await sys.deps.redis.get(`neuronode:system-check:${checkId}`)).toBe('default');
    // Model analytics: the chat call and the embedding calls, with latency, tokens and cost.
    const calls = await sys.deps.db.query(
      `SELECT alias, served_by, latency_ms, tokens_in, cost_usd, ok FROM model_calls WHERE id > 0 ORDER BY id DESC LIMIT 3`,
    );
    expect(Number((await sys.deps.db.query('SELECT count(*) AS n FROM model_calls')).rows[0].n)).toBeGreaterThanOrEqual(before + 3);
    const chat = calls.rows.find((c) => c.alias === 'classification_local') ?? (
      await sys.deps.db.query(`SELECT * FROM model_calls WHERE alias = 'classification_local' ORDER BY id DESC LIMIT 1`)
    ).rows[0];
    expect(chat).toEqual(expect.objectContaining({ ok: true, served_by: 'openai/local-gemma3-270m' }));
    expect(chat.tokens_in).toBeGreaterThan(0);
    expect(chat.cost_usd).toBeGreaterThan(0);
  });

  it('refuses an unknown profile with a 400 naming the field', async () => {
    const res = await api(sys.url, '/api/system/check', { method: 'POST', json: { profile: 'gold' } });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe('validation_failed');
    expect(res.json.error.details[0].path).toBe('profile');
  });
});
