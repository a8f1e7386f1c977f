import type { Where } from 'chromadb';
import neo4j from 'neo4j-driver';
import { COLLECTIONS, SqlFilter, vectorCollection } from '../adapters';
import type { Deps } from '../deps';
import { EMBEDDING_FOR } from '../domain/model-aliases';
import { graphScope, readableScopeLabels } from '../domain/graph-scope';
import {
  contentTerms,
  decompose,
  keywordQuery,
  reciprocalRankFusion,
  spotDates,
  spotSources,
  type Mode,
  type SubQuestion,
} from '../domain/query-plan';
import { extractFast } from '../domain/fast-extraction';
import { CHUNK_SEARCH_INDEX, isNeo4jTimeout } from '../adapters/neo4j';

/**
 * Hybrid retrieval: vector search in Chroma, BM25 keyword search on Neo4j's full-text index and graph
 * search over the entities the question names, each run per sub-question (the planner's clauses) and
 * fused by reciprocal rank. Every store query is scoped to the workspace; filters narrow the
 * documents first (in PostgreSQL) and every mode honours the same set.
 */

export interface QueryFilters {
  document_ids?: string[];
  types?: string[];
  categories?: string[];
  /** ISO dates (inclusive) on the document's own date, else its upload date. */
  date_from?: string;
  date_to?: string;
  /** Sources (publisher / origin) as the documents name them. */
  sources?: string[];
}

export interface LinkedEntity {
  id: string;
  name: string;
  type: string;
  mentions: number;
}

export interface RetrievalPlan {
  terms: string[];
  sources: string[];
  dates: string[];
  subQuestions: SubQuestion[];
  entities: LinkedEntity[];
}

export interface RankedChunk {
  chunk_id: string;
  document_id: string;
  title: string;
  source: string | null;
  published: string | null;
  page: number | null;
  position: number;
  text: string;
  score: number;
  /** 1-based rank of this chunk in each mode's own list (over all sub-questions: the best one). */
  ranks: Partial<Record<'vector' | 'keyword' | 'graph', number>>;
}

export interface RetrievalResult {
  chunks: RankedChunk[];
  plan: RetrievalPlan;
  timings_ms: Record<string, number>;
}

export interface RetrieveOptions {
  workspaceId: string;
  question: string;
  mode: Mode;
  topK: number;
  filters?: QueryFilters;
  /** Split multi-hop questions into their clauses (default true). */
  decompose?: boolean;
  /** Limit the documents to those a reader may see (document-level access). */
  readableBy?: string | null;
  /** Link the question's entities even when the graph does not rank (answers report them). */
  withEntities?: boolean;
  /** Hybrid fusion weights in place of the chosen ones (the evaluation's sweep; not part of the API). */
  weights?: FusionWeights;
}

export interface FusionWeights {
  keyword: number;
  vector: number;
  graph: number;
}

/** Candidates each mode contributes per sub-question before fusion. */
const CANDIDATES = 40;

/**
 * Fusion settings, chosen on the tuning slice of MultiHop-RAG's development split (every fifth
 * question; `EVAL_SWEEP=0,0.1,0.2,0.3,0.4,0.6 npm run eval:multihop`, bench/results/multihop-dev.json):
 * keyword search leads; vectors at 0.2 gave the best Hits@4 and AllFacts@10 there (at 0 MRR@10 and
 * Hits@10 are higher: the English MiniLM embeddings of the time added little); the entity graph of the nlp profile
 * lowered every metric at every weight tried (0.1–0.6), so hybrid ranking leaves it out and the graph
 * serves entities and paths to the answer instead.
 */
export const WEIGHTS: Readonly<FusionWeights> = { keyword: 1, vector: 0.2, graph: 0 };
/** A named source's sub-question weighs a little less than the whole question. */
const SUB_WEIGHT = 0.9;
/** At most this many chunks of one document lead the list (multi-hop questions need several). */
const DOC_CAP = 2;

export function createRetriever(deps: Deps) {
  const { db, graph, chroma, llm, redis } = deps;

  /**
   * The sources of the documents a reader may read (undefined: every document, for internal
   * callers), cached per corpus version.
   */
  async function sourcesOf(workspaceId: string, readableBy?: string | null): Promise<string[]> {
    const version = (await redis.get(`neuronode:corpus-version:${workspaceId}`)) ?? '0';
    const reader = readableBy === undefined ? '*' : (readableBy ?? '-');
    const key = `neuronode:sources:${workspaceId}:${version}:${reader}`;
    const cached = await redis.get(key);
    if (cached) return JSON.parse(cached) as string[];
    const rows = (
      await db.query(
        `SELECT DISTINCT metadata->>'source' AS s FROM documents WHERE workspace_id = $1 AND status = 'completed' AND metadata->>'source' IS NOT NULL
           AND ($2::text = '*' OR visibility = 'organisation' OR owner_id::text = $2)`,
        [workspaceId, reader],
      )
    ).rows;
    const sources = rows.map((r) => r.s as string).filter((s) => s.trim().length >= 3);
    await redis.set(key, JSON.stringify(sources), 'EX', 3600);
    return sources;
  }

  /** The scope labels a reader may read; null for internal callers (no reader given). */
  function scopesOf(workspaceId: string, readableBy: string | null | undefined): string[] | null {
    if (readableBy === undefined) return null;
    return readableBy ? readableScopeLabels(workspaceId, readableBy) : [graphScope({ workspace_id: workspaceId }).label];
  }

  /** The documents a filter allows, or null when nothing narrows them. */
  async function allowedDocuments(workspaceId: string, filters: QueryFilters, readableBy?: string | null): Promise<string[] | null> {
    const f = new SqlFilter([`workspace_id = $1`, `status = 'completed'`], [workspaceId]);
    if (filters.document_ids?.length) f.add(`id = ANY(?)`, filters.document_ids);
    if (filters.types?.length) f.add(`doc_type = ANY(?)`, filters.types);
    if (filters.categories?.length) f.add(`category = ANY(?)`, filters.categories);
    if (filters.sources?.length) f.add(`metadata->>'source' = ANY(?)`, filters.sources);
    const day = `coalesce(left(metadata->>'created', 10), to_char(created_at, 'YYYY-MM-DD'))`;
    if (filters.date_from) f.add(`${day} >= ?`, filters.date_from.slice(0, 10));
    if (filters.date_to) f.add(`${day} <= ?`, filters.date_to.slice(0, 10));
    if (readableBy !== undefined) f.add(`(visibility = 'organisation' OR owner_id IS NOT DISTINCT FROM ?::uuid)`, readableBy);
    if (f.conditions.length === 2) return null;
    return (await db.query(`SELECT id FROM documents WHERE ${f.sql}`, f.params)).rows.map((r) => r.id as string);
  }

  /**
   * Names in the question linked to the workspace's entities (full-text on names and aliases), of
   * the scopes the reader may read (`scopes`; null: every scope, for internal callers).
   */
  async function linkEntities(workspaceId: string, question: string, scopes: string[] | null): Promise<LinkedEntity[]> {
    const found = extractFast([{ position: 0, text: question, language: 'en' }]).entities.map((e) => e.name);
    const capitalised = question.match(/\b\p{Lu}[\p{L}\p{N}&.-]*(?:\s+(?:of|for|de|von|der|\p{Lu}[\p{L}\p{N}&.-]*))*\s*\p{Lu}?[\p{L}\p{N}&.-]*/gu) ?? [];
    const candidates = [...new Set([...found, ...capitalised].map((c) => c.trim().replace(/[’']s$/, '')).filter((c) => c.length >= 2 && contentTerms(c).length > 0))].slice(0, 12);
    if (candidates.length === 0) return [];
    const session = graph.session({ defaultAccessMode: 'READ' });
    try {
      const out = new Map<string, LinkedEntity>();
      for (const c of candidates) {
        const q = `+workspace_id:"${workspaceId.replace(/["\\]/g, '')}" +(name:"${c.replace(/["\\]/g, '')}" aliases:"${c.replace(/["\\]/g, '')}")`;
        const r = await session.run(
          `CALL db.index.fulltext.queryNodes('entity_names', $q, {limit: 3}) YIELD node, score
           WHERE node.workspace_id = $ws AND ($scopes IS NULL OR any(l IN labels(node) WHERE l IN $scopes))
             AND (toLower(node.name) = toLower($name) OR (score > 4 AND size(node.name) <= size($name) + 12))
           RETURN node.id AS id, node.name AS name, node.type AS type, COUNT { (:Chunk)-[:MENTIONS]->(node) } AS mentions
           ORDER BY score DESC LIMIT 2`,
          { q, ws: workspaceId, name: c, scopes },
        );
        for (const rec of r.records) {
          const id = rec.get('id') as string;
          if (!out.has(id)) out.set(id, { id, name: rec.get('name'), type: rec.get('type'), mentions: Number(rec.get('mentions')) });
        }
      }
      return [...out.values()].slice(0, 16);
    } catch (err) {
      // A question Lucene cannot parse links nothing; the other modes still answer.
      if (/ParseException|Failed to invoke procedure/.test((err as Error).message)) return [];
      throw err;
    } finally {
      await session.close();
    }
  }

  async function plan(workspaceId: string, question: string, splitClauses: boolean, withEntities: boolean, readableBy: string | null | undefined): Promise<RetrievalPlan> {
    const sources = await sourcesOf(workspaceId, readableBy);
    const srcMentions = spotSources(question, sources);
    const dateMentions = spotDates(question);
    const subQuestions = splitClauses ? decompose(question, srcMentions, dateMentions) : [{ text: question, sources: srcMentions.length === 1 ? [srcMentions[0]!.source] : [] }];
    return {
      terms: contentTerms(question),
      sources: [...new Set(srcMentions.map((s) => s.source))],
      dates: dateMentions.map((d) => d.date),
      subQuestions,
      entities: withEntities ? await linkEntities(workspaceId, question, scopesOf(workspaceId, readableBy)) : [],
    };
  }

  async function vectorSearch(workspaceId: string, embedding: number[], model: string, allowed: string[] | null, n: number): Promise<string[]> {
    if (allowed && allowed.length === 0) return [];
    const col = await vectorCollection(chroma, COLLECTIONS.chunks, model, embedding.length);
    const where: Where = allowed ? { $and: [{ workspace_id: workspaceId }, { document_id: { $in: allowed } }] } : { workspace_id: workspaceId };
    const r = await col.query({ queryEmbeddings: [embedding], nResults: n, where, include: ['distances'] });
    return r.ids[0] ?? [];
  }

  async function keywordSearch(workspaceId: string, text: string, allowed: string[] | null, n: number): Promise<string[]> {
    if (allowed && allowed.length === 0) return [];
    const q = keywordQuery(text, workspaceId);
    if (!q) return [];
    const session = graph.session({ defaultAccessMode: 'READ' });
    try {
      const r = await session.run(
        `CALL db.index.fulltext.queryNodes($index, $q, {limit: $limit}) YIELD node, score
         WHERE node.workspace_id = $ws AND ($allowed IS NULL OR node.document_id IN $allowed)
         RETURN node.id AS id LIMIT $n`,
        { index: CHUNK_SEARCH_INDEX, q, limit: neo4j.int(allowed ? 2000 : n), ws: workspaceId, allowed, n: neo4j.int(n) },
      );
      return r.records.map((x) => x.get('id') as string);
    } finally {
      await session.close();
    }
  }

  /**
   * Chunks that mention the question's entities, scored by how many of them each mentions (rarer
   * entities weigh more), plus their strongest neighbours in the graph at a lower weight.
   */
  async function graphSearch(workspaceId: string, entities: LinkedEntity[], text: string, allowed: string[] | null, n: number): Promise<string[]> {
    if (allowed && allowed.length === 0) return [];
    const lower = text.toLowerCase();
    const local = entities.filter((e) => lower.includes(e.name.toLowerCase()));
    const use = local.length ? local : entities;
    if (use.length === 0) return [];
    const session = graph.session({ defaultAccessMode: 'READ' });
    try {
      const r = await session.run(
        `UNWIND $ids AS eid
         MATCH (e:Entity {id: eid}) WHERE e.workspace_id = $ws
         CALL (e) {
           MATCH (e)-[r:RELATED_TO]-(nb:Entity)
           WHERE r.weight >= 2
           WITH nb, r.weight AS w ORDER BY w DESC LIMIT 5
           RETURN collect(nb) AS nbs
         }
         WITH collect(e) AS es, collect(nbs) AS nbl
         WITH [x IN es | {node: x, weight: 1.0}] + reduce(acc = [], l IN nbl | acc + [x IN l | {node: x, weight: 0.25}]) AS seeds
         UNWIND seeds AS s
         WITH s.node AS ent, max(s.weight) AS weight
         MATCH (c:Chunk)-[:MENTIONS]->(ent)
         WHERE c.workspace_id = $ws AND ($allowed IS NULL OR c.document_id IN $allowed)
         WITH c, ent, weight, COUNT { (:Chunk)-[:MENTIONS]->(ent) } AS df
         WITH c, sum(weight / log(2.0 + df)) AS score
         RETURN c.id AS id ORDER BY score DESC, id LIMIT $n`,
        { ids: use.map((e) => e.id), ws: workspaceId, allowed, n: neo4j.int(n) },
      );
      return r.records.map((x) => x.get('id') as string);
    } finally {
      await session.close();
    }
  }

  /**
   * At most DOC_CAP chunks of one document in the first places: a question that needs evidence from
   * several documents gets all of them rather than five chunks of the best one. The rest follow.
   * `documentOf` maps a chunk to its document (a chunk without a row counts as a document of its own).
   */
  function diversify(ranked: [string, number][], k: number, documentOf: (id: string) => string | undefined): [string, number][] {
    if (ranked.length <= k) return ranked.slice(0, k);
    const perDoc = new Map<string, number>();
    const first: [string, number][] = [];
    const rest: [string, number][] = [];
    for (const item of ranked.slice(0, k * 4)) {
      const d = documentOf(item[0]) ?? item[0];
      const n = perDoc.get(d) ?? 0;
      if (n < DOC_CAP) {
        first.push(item);
        perDoc.set(d, n + 1);
      } else rest.push(item);
    }
    return [...first, ...rest].slice(0, k);
  }

  async function retrieve(opts: RetrieveOptions): Promise<RetrievalResult> {
    const timings: Record<string, number> = {};
    const time = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t = performance.now();
      try {
        return await fn();
      } finally {
        timings[name] = Math.round((timings[name] ?? 0) + performance.now() - t);
      }
    };
    const { workspaceId, mode, topK } = opts;
    const weights = opts.weights ?? WEIGHTS;
    const modes = mode === 'hybrid' ? (['vector', 'keyword', 'graph'] as const).filter((m) => weights[m] > 0) : ([mode] as const);
    // Entity linking costs a full-text lookup per name: done when the graph ranks, or when asked.
    const p = await time('plan', () => plan(workspaceId, opts.question, opts.decompose !== false, modes.includes('graph' as never) || opts.withEntities === true, opts.readableBy));
    // Each named source is searched with the whole question: its clause decides only the source and
    // day (clause text alone searched worse: it loses the words that tie the parts together).
    const searches = p.subQuestions.map((sq, i) => (i === 0 ? sq : { ...sq, text: opts.question }));
    const baseFilters = opts.filters ?? {};
    const wantVector = modes.includes('vector' as never);
    const embedded = wantVector ? await time('embed', () => llm.embed(EMBEDDING_FOR.chunks, [opts.question], { workspaceId, activity: 'retrieve' })) : null;

    const best: Record<'vector' | 'keyword' | 'graph', Map<string, number>> = { vector: new Map(), keyword: new Map(), graph: new Map() };
    const perSub: { ids: string[]; weight: number }[] = [];
    for (const [i, sq] of searches.entries()) {
      // A clause that names a source (and day) searches inside it; when that finds nothing, everywhere.
      const narrow = i > 0 && (sq.sources.length > 0 || !!sq.date);
      let allowed = await time('filter', () =>
        allowedDocuments(workspaceId, narrow ? { ...baseFilters, ...(sq.sources.length ? { sources: [...(baseFilters.sources ?? []), ...sq.sources] } : {}), ...(sq.date ? { date_from: sq.date, date_to: sq.date } : {}) } : baseFilters, opts.readableBy),
      );
      if (allowed && allowed.length === 0 && narrow) allowed = await time('filter', () => allowedDocuments(workspaceId, baseFilters, opts.readableBy));
      const lists: { ids: string[]; weight: number }[] = [];
      const run = async (m: 'vector' | 'keyword' | 'graph') => {
        const ids =
          m === 'vector'
            ? await time('vector', () => vectorSearch(workspaceId, embedded!.vectors[0]!, embedded!.model, allowed, CANDIDATES))
            : m === 'keyword'
              ? await time('keyword', () => keywordSearch(workspaceId, sq.text, allowed, CANDIDATES))
              : await time('graph', () => graphSearch(workspaceId, p.entities, sq.text, allowed, CANDIDATES));
        ids.forEach((id, rank) => {
          const prev = best[m].get(id);
          if (prev === undefined || rank + 1 < prev) best[m].set(id, rank + 1);
        });
        // Keyword search carries the most weight where questions name their sources and entities;
        // the graph adds what co-occurs; vectors add paraphrase.
        lists.push({ ids, weight: mode === 'hybrid' ? weights[m] : 1 });
      };
      await Promise.all(modes.map(run));
      const fused = [...reciprocalRankFusion(lists)].sort((a, b) => b[1] - a[1]).map(([id]) => id);
      // The whole question leads; each clause adds what only it finds.
      perSub.push({ ids: fused, weight: i === 0 ? 1 : SUB_WEIGHT });
    }
    const fusedAll = [...reciprocalRankFusion(perSub)].sort((a, b) => b[1] - a[1]);
    // One read of the candidates that can still reach the top: it serves the per-document cap and
    // the chunks returned.
    const pool = fusedAll.slice(0, topK * 4);
    const rows = pool.length
      ? (
          await time('load', () =>
            db.query(
              `SELECT c.id, c.document_id, c.page, c.position, c.content, d.title, d.filename, d.metadata->>'source' AS source, d.metadata->>'created' AS published
               FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.id = ANY($1) AND c.workspace_id = $2`,
              [pool.map(([id]) => id), workspaceId],
            ),
          )
        ).rows
      : [];
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    const top = diversify(fusedAll, topK, (id) => byId.get(id)?.document_id as string | undefined);
    const maxScore = top[0]?.[1] ?? 1;
    const chunks: RankedChunk[] = [];
    for (const [id, score] of top) {
      const r = byId.get(id);
      // A chunk deleted since it was indexed is skipped, never returned half-known.
      if (!r) continue;
      chunks.push({
        chunk_id: id,
        document_id: r.document_id,
        title: r.title ?? r.filename,
        source: r.source ?? null,
        published: r.published ?? null,
        page: r.page ?? null,
        position: r.position,
        text: r.content,
        score: +(score / maxScore).toFixed(4),
        ranks: Object.fromEntries((['vector', 'keyword', 'graph'] as const).filter((m) => best[m].has(id)).map((m) => [m, best[m].get(id)!])),
      });
    }
    return { chunks, plan: p, timings_ms: timings };
  }

  /** Shortest paths (≤ 3 hops) between the question's entities: the graph's account of how they connect. */
  async function graphPaths(workspaceId: string, entities: LinkedEntity[], limit = 5): Promise<{ nodes: string[]; relations: string[] }[]> {
    const ids = entities.slice(0, 5).map((e) => e.id);
    if (ids.length < 2) return [];
    const session = graph.session({ defaultAccessMode: 'READ' });
    try {
      const r = await session.run(
        `UNWIND $ids AS a UNWIND $ids AS b
         WITH a, b WHERE a < b
         MATCH (x:Entity {id: a}), (y:Entity {id: b})
         WHERE x.workspace_id = $ws AND y.workspace_id = $ws
         MATCH p = shortestPath((x)-[:RELATED_TO*..3]-(y))
         WHERE all(n IN nodes(p) WHERE n.workspace_id = $ws)
         RETURN [n IN nodes(p) | n.name] AS nodes, [r IN relationships(p) | r.type] AS rels
         LIMIT $limit`,
        { ids, ws: workspaceId, limit: neo4j.int(limit) },
        { timeout: 2000 },
      );
      return r.records.map((x) => ({ nodes: x.get('nodes') as string[], relations: x.get('rels') as string[] }));
    } catch (err) {
      // Paths are an account of the answer, not the answer: past their time limit there are none.
      if (isNeo4jTimeout(err)) return [];
      throw err;
    } finally {
      await session.close();
    }
  }

  return { retrieve, graphPaths, sourcesOf, allowedDocuments };
}

export type Retriever = ReturnType<typeof createRetriever>;
