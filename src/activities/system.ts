import { z } from 'zod';
import { COLLECTIONS, vectorCollection } from '../adapters';
import { EMBEDDING_FOR, chatAlias, type Profile } from '../domain';
import type { Deps } from '../deps';

export interface StepResult {
  ok: true;
  latencyMs: number;
  detail: string;
}

const timed = async (fn: () => Promise<string>): Promise<StepResult> => {
  const started = Date.now();
  const detail = await fn();
  return { ok: true, latencyMs: Date.now() - started, detail };
};

const EchoSchema = z.object({
  status: z.enum(['ok', 'degraded']),
  language: z.enum(['de', 'en']),
});

/**
 * The wiring check: one activity per store, each doing a real round trip, so a green result proves
 * that a worker can reach every service the pipelines need.
 */
export function createSystemActivities(deps: Deps) {
  return {
    async checkPostgres(checkId: string, workspaceId: string): Promise<StepResult> {
      return timed(async () => {
        const r = await deps.db.query<{ n: string }>('SELECT count(*) AS n FROM workspaces WHERE id = $1', [workspaceId]);
        if (r.rows[0]?.n !== '1') throw new Error(`workspace ${workspaceId} not found`);
        return `workspace ${workspaceId} present (check ${checkId})`;
      });
    },

    async checkRedis(checkId: string, workspaceId: string): Promise<StepResult> {
      return timed(async () => {
        const key = `neuronode:system-check:${checkId}`;
        await deps.redis.set(key, workspaceId, 'EX', 3600);
        const back = await deps.redis.get(key);
        if (back !== workspaceId) throw new Error('Redis read-back mismatch');
        const receivers = await deps.redis.publish('neuronode:events:system', JSON.stringify({ type: 'system_check', checkId }));
        return `key round trip ok, event published to ${receivers} subscriber(s)`;
      });
    },

    async checkGraph(checkId: string, workspaceId: string): Promise<StepResult> {
      return timed(async () => {
        const { records } = await deps.graph.executeQuery(
          `MERGE (s:SystemCheck {id: $id}) ON CREATE SET s.workspace_id = $ws, s.created_at = datetime()
           RETURN s.id AS id`,
          { id: checkId, ws: workspaceId },
        );
        if (records[0]?.get('id') !== checkId) throw new Error('Neo4j read-back mismatch');
        return 'SystemCheck node merged and read back';
      });
    },

    async checkLlmJson(checkId: string, workspaceId: string, profile: Profile): Promise<StepResult & { tokens: number; servedBy: string | null }> {
      const started = Date.now();
      const { value, usage } = await deps.llm.chatJson(
        chatAlias('classification', profile),
        [
          { role: 'system', content: 'You report a status and the language of the user text as JSON.' },
          { role: 'user', content: 'Statusbericht: Alle Systeme laufen normal. Report status ok and the language (de or en).' },
        ],
        EchoSchema,
        { workspaceId, activity: 'checkLlmJson', workflowId: `system-check-${checkId}` },
        { maxTokens: 60, schemaName: 'status_report' },
      );
      return {
        ok: true,
        latencyMs: Date.now() - started,
        detail: `schema-valid JSON: status=${value.status}, language=${value.language}`,
        tokens: usage.tokensIn + usage.tokensOut,
        servedBy: usage.servedBy,
      };
    },

    async checkVectors(checkId: string, workspaceId: string): Promise<StepResult & { dimension: number }> {
      const started = Date.now();
      const alias = EMBEDDING_FOR.chunks;
      // Each check embeds texts of its own: identical vectors written by every earlier check would pile up
      // as exact duplicates, which an HNSW graph can leave unreachable under a filter.
      const texts = [`Neuronode links documents into a knowledge graph (check ${checkId}).`, `The weather is sunny today (check ${checkId}).`];
      const { vectors, model } = await deps.llm.embed(alias, texts, { workspaceId, activity: 'checkVectors' });
      const dimension = vectors[0]?.length ?? 0;
      const col = await vectorCollection(deps.chroma, COLLECTIONS.systemChecks, model, dimension);
      await col.upsert({
        ids: [`${checkId}-0`, `${checkId}-1`],
        embeddings: vectors,
        documents: texts,
        metadatas: [
          { workspace_id: workspaceId, check_id: checkId },
          { workspace_id: workspaceId, check_id: checkId },
        ],
      });
      const query = await deps.llm.embed(alias, ['knowledge graph of documents'], { workspaceId, activity: 'checkVectors' });
      const hits = await col.query({
        queryEmbeddings: query.vectors,
        nResults: 1,
        where: { check_id: checkId },
      });
      const top = hits.ids[0]?.[0];
      if (top !== `${checkId}-0`) throw new Error(`nearest neighbour was ${String(top)}, expected the knowledge-graph sentence`);
      return { ok: true, latencyMs: Date.now() - started, detail: `${dimension}-d vectors upserted; nearest neighbour correct`, dimension };
    },

    async recordSystemCheck(checkId: string, workspaceId: string, workflowId: string, result: unknown): Promise<void> {
      await deps.db.query(
        `INSERT INTO system_checks (id, workspace_id, workflow_id, result) VALUES ($1,$2,$3,$4)
         ON CONFLICT (id) DO UPDATE SET result = EXCLUDED.result`,
        [checkId, workspaceId, workflowId, JSON.stringify(result)],
      );
    },
  };
}
