/**
 * npm run bench:ingest — ingestion throughput on a fixed corpus (the first N MultiHop-RAG articles),
 * for the NLP profile (no LLM) and the local LLM profile, through the real durable pipeline
 * (Temporal + every store). Writes bench/results/ingest.json.
 *
 *   BENCH_NLP_DOCS (default 100)  articles for the NLP profile
 *   BENCH_LLM_DOCS (default 3)    articles for the local-LLM profile (CPU model: minutes per article)
 *
 * Baseline, measured in the same run: the same articles through the pure in-process steps (format
 * detection, extraction, chunking, NLP entity extraction) with no stores and no Temporal, so the
 * durable pipeline's overhead is visible. Needs the stack (stack/stack.sh up).
 */
import { storeFile } from '../src/api/documents';
import { parseConfig, taskQueues } from '../src/config';
import { chunkSections } from '../src/domain/chunking';
import { extractFast } from '../src/domain/fast-extraction';
import { detectFormat } from '../src/domain/formats';
import { detectLanguage } from '../src/domain/language';
import { makeBatchWorkflowId, newId } from '../src/domain/ids';
import { extractContent } from '../src/extraction/extract';
import { benchSystem, percentile, run, writeResult } from './bench-kit';
import { loadCorpus, type Article } from './eval-corpus';

const pct = percentile;
const median = (xs: number[]) => pct(xs, 50);

async function main() {
  const env = parseConfig(process.env);
  const nNlp = Number(process.env.BENCH_NLP_DOCS ?? 100);
  const nLlm = Number(process.env.BENCH_LLM_DOCS ?? 3);
  const corpus = loadCorpus();
  const docOf = (a: Article) => Buffer.from(`${a.title}\n\n${a.source}, ${a.published_at.slice(0, 10)}\n\n${a.body}`);

  // Baseline: the pure steps in this process, no stores, no Temporal.
  const baseStart = performance.now();
  let baseChunks = 0;
  for (const a of corpus.slice(0, nNlp)) {
    const bytes = docOf(a);
    const det = detectFormat(bytes, 'a.txt');
    const ex = await extractContent(bytes, det, 'a.txt');
    const chunks = chunkSections(ex.sections, { maxTokens: env.CHUNK_TOKENS, overlapTokens: env.CHUNK_OVERLAP_TOKENS });
    baseChunks += chunks.length;
    extractFast(chunks.map((c) => ({ position: c.position, text: c.text, language: detectLanguage(c.text) })));
  }
  const baseSeconds = (performance.now() - baseStart) / 1000;

  const sys = await benchSystem(env, 'bench');
  const { deps } = sys;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);

  const results: Record<string, unknown> = {};
  for (const [profile, n] of [['nlp', nNlp], ['local', nLlm]] as const) {
    if (n <= 0) continue;
    const ws = `bench-${profile}-${Date.now()}`;
    await deps.db.query(`INSERT INTO workspaces (id, name) VALUES ($1, $2)`, [ws, `benchmark ${profile}`]);
    const ids: string[] = [];
    for (const [i, a] of corpus.slice(0, n).entries()) ids.push((await storeFile(deps, ws, `article-${i}.txt`, 'text/plain', docOf(a), profile)).document_id);
    peakRss = process.memoryUsage().rss;
    const started = performance.now();
    const batchId = newId();
    const handle = await deps.temporal!.workflow.start('ingestBatch', {
      taskQueue: taskQueues(env).main,
      workflowId: makeBatchWorkflowId(batchId),
      args: [{ batchId, workspaceId: ws, profile, llmTaskQueue: taskQueues(env).llm, documentIds: ids, window: 4, chunkTokens: env.CHUNK_TOKENS, overlapTokens: env.CHUNK_OVERLAP_TOKENS }],
    });
    const summary = (await handle.result()) as { completed: number; failed: number };
    const seconds = (performance.now() - started) / 1000;

    // Per-stage durations from the workflows' own histories (scheduled → completed per activity).
    const stage: Record<string, number[]> = {};
    for (const id of ids) {
      const history = await deps.temporal!.workflow.getHandle(`ingest-${id}`).fetchHistory();
      const scheduled = new Map<string, { type: string; at: number }>();
      for (const ev of history.events ?? []) {
        const t = Number(ev.eventTime?.seconds ?? 0) * 1000 + Math.round(Number(ev.eventTime?.nanos ?? 0) / 1e6);
        if (ev.activityTaskScheduledEventAttributes) scheduled.set(String(ev.eventId), { type: ev.activityTaskScheduledEventAttributes.activityType?.name ?? '?', at: t });
        const done = ev.activityTaskCompletedEventAttributes;
        if (done) {
          const s = scheduled.get(String(done.scheduledEventId));
          if (s) (stage[s.type] ??= []).push(t - s.at);
        }
      }
    }
    const counts = (
      await deps.db.query(
        `SELECT coalesce(sum((counts->>'chunks')::int),0)::int AS chunks, coalesce(sum((counts->>'entities')::int),0)::int AS entities,
                coalesce(sum((counts->>'relations')::int),0)::int AS relations, coalesce(sum((counts->>'llm_tokens')::int),0)::int AS llm_tokens,
                count(*) FILTER (WHERE status = 'completed')::int AS completed
         FROM documents WHERE workspace_id = $1`,
        [ws],
      )
    ).rows[0];
    const entityNames = (await deps.db.query(`SELECT DISTINCT lower(name) AS n FROM document_entities WHERE workspace_id = $1`, [ws])).rows.map((r) => r.n as string);
    results[profile] = {
      documents: n,
      completed: summary.completed,
      failed: summary.failed,
      wall_seconds: +seconds.toFixed(1),
      documents_per_hour: Math.round((summary.completed / seconds) * 3600),
      chunks: counts.chunks,
      chunks_per_second: +(counts.chunks / seconds).toFixed(2),
      entities: counts.entities,
      relations: counts.relations,
      llm_tokens_per_document: Math.round(counts.llm_tokens / Math.max(1, counts.completed)),
      stage_ms: Object.fromEntries(Object.entries(stage).map(([k, v]) => [k, { p50: median(v), p95: pct(v, 95), n: v.length }])),
      distinct_entity_names: entityNames.length,
      _names: entityNames,
    };
    console.log(profile, JSON.stringify({ ...(results[profile] as object), _names: undefined }));
  }
  clearInterval(sampler);

  // How the NLP graph compares with the LLM one on the articles both ingested.
  const nlp = results.nlp as { _names: string[] } | undefined;
  const llm = results.local as { _names: string[] } | undefined;
  let comparison = null;
  if (nlp && llm) {
    const llmNames = new Set(llm._names);
    comparison = { note: `entity names over the NLP profile's ${nNlp} articles vs the LLM profile's first ${nLlm}`, llm_names: llmNames.size, llm_names_also_found_by_nlp: llm._names.filter((x) => nlp._names.includes(x)).length };
  }
  for (const r of Object.values(results)) delete (r as { _names?: string[] })._names;

  const out = {
    corpus: `MultiHop-RAG articles 0..${nNlp - 1} (text with title/source/date header)`,
    chunk_tokens: env.CHUNK_TOKENS,
    overlap_tokens: env.CHUNK_OVERLAP_TOKENS,
    window: 4,
    baseline_in_process_no_stores: { documents: nNlp, seconds: +baseSeconds.toFixed(1), documents_per_hour: Math.round((nNlp / baseSeconds) * 3600), chunks: baseChunks },
    profiles: results,
    nlp_vs_llm: comparison,
    worker_peak_rss_mb: Math.round(peakRss / 1024 / 1024),
    seed_target_documents_per_hour: 50,
  };
  writeResult('ingest.json', out);
  await sys.stop();
}

run(main);
