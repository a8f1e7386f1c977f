import { Router, type Request } from 'express';
import neo4j, { isNode, isPath, isRelationship, type Integer, type Node, type Record as Neo4jRecord, type Relationship } from 'neo4j-driver';
import { isNeo4jTimeout } from '../adapters/neo4j';
import { z } from 'zod';
import type { Deps } from '../deps';
import { workspaceOf } from './documents';
import { ApiError } from './errors';
import { parse } from './validate';
import { CypherRefused, guardCypher } from '../domain/cypher-guard';
import { readableScopeLabels } from '../domain/graph-scope';

/**
 * The knowledge graph over HTTP: entity search, one entity with its mentions and neighbours,
 * relationships, a subgraph for visualisation, and read-only Cypher for power users (parsed, allowlisted
 * and confined to what the caller may read by `src/domain/cypher-guard.ts`). Every query is
 * parameterised and scoped to the request's workspace.
 */

export const EntityListQuery = z
  .object({
    q: z.string().trim().min(1).max(200).optional(),
    type: z.string().trim().min(1).max(40).optional(),
    sort: z.enum(['mentions', 'degree', 'name']).default('mentions'),
    limit: z.coerce.number().int().min(1).max(200).default(50),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
  })
  .strict();

export const RelationshipQuery = z
  .object({
    type: z.string().trim().min(1).max(60).optional(),
    entity_id: z.string().trim().min(1).max(100).optional(),
    min_confidence: z.coerce.number().min(0).max(1).default(0),
    limit: z.coerce.number().int().min(1).max(500).default(100),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
  })
  .strict();

/** Entity types as a comma-separated list (`PERSON,ORGANIZATION`). */
const EntityTypes = z
  .string()
  .max(400)
  .transform((s) => s.split(',').map((t) => t.trim()).filter(Boolean))
  .optional();

export const GraphDataQuery = z
  .object({
    entity_id: z.string().trim().min(1).max(100).optional(),
    document_id: z.string().trim().min(1).max(100).optional(),
    depth: z.coerce.number().int().min(1).max(3).default(1),
    types: EntityTypes,
    limit: z.coerce.number().int().min(1).max(500).default(100),
    offset: z.coerce.number().int().min(0).max(100_000).default(0),
  })
  .strict()
  .refine((q) => !!q.entity_id !== !!q.document_id, { message: 'give exactly one of entity_id and document_id' });

export const GraphOverviewQuery = z
  .object({
    /** The most mentioned entities, at most 5,000. */
    limit: z.coerce.number().int().min(1).max(5000).default(500),
    types: EntityTypes,
  })
  .strict();

export const EntityIdParam = z.object({ id: z.string().min(1).max(100) });

export const CypherRequest = z
  .object({
    query: z.string().trim().min(1).max(5000),
    parameters: z.record(z.string(), z.unknown()).default({}),
    /** @default 1000 rows */
    limit: z.number().int().min(1).max(5000).default(1000),
    /** @default 5000 ms */
    timeout_ms: z.number().int().min(100).max(30_000).default(5000),
  })
  .strict();

/*
 * Document-level access in graph views: an entity is visible when a chunk of a document the user
 * may read mentions it; a relationship when one of its evidence chunks is readable; mentions of
 * unreadable documents are not counted. `$hidden` is null when nothing in the workspace is hidden.
 */
const VISIBLE_ENTITY = (v: string) => `($hidden IS NULL OR EXISTS { MATCH (hc:Chunk)-[:MENTIONS]->(${v}) WHERE NOT hc.document_id IN $hidden })`;
const VISIBLE_RELATION = (r: string) => `($hidden IS NULL OR any(x IN ${r}.evidence WHERE EXISTS { MATCH (hc:Chunk {id: x}) WHERE NOT hc.document_id IN $hidden }))`;
const MENTIONS = (v: string) => `COUNT { MATCH (mc:Chunk)-[:MENTIONS]->(${v}) WHERE $hidden IS NULL OR NOT mc.document_id IN $hidden }`;

const toPlain = (v: unknown): unknown => {
  if (neo4j.isInt(v)) return (v as Integer).toNumber();
  if (Array.isArray(v)) return v.map(toPlain);
  if (v && typeof v === 'object') {
    if ('labels' in v && 'properties' in v) return { labels: (v as Node).labels, ...(toPlain((v as Node).properties) as object) };
    if ('type' in v && 'properties' in v && 'start' in v) return { type: (v as Relationship).type, ...(toPlain((v as Relationship).properties) as object) };
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toPlain(x)]));
  }
  return v;
};

/** A node or relationship of a Cypher result, as the graph view of its results draws it. */
export interface ResultGraph {
  nodes: { id: string; labels: string[]; name: string; type: string }[];
  relationships: { id: string; type: string; source: string; target: string }[];
  /** Relationships returned whose end nodes were not returned, so not drawn. */
  dangling: number;
}

/**
 * The nodes and relationships anywhere in the records (values, lists, maps, paths), each once, keyed
 * by Neo4j's element id. A node's name is its `name`, `title`, `filename` or `id` property, else its
 * first label; its type an entity's `type`, else its first label.
 */
export function resultGraph(records: Neo4jRecord[]): ResultGraph {
  const nodes = new Map<string, ResultGraph['nodes'][number]>();
  const rels = new Map<string, ResultGraph['relationships'][number]>();
  const addNode = (n: Node) => {
    if (nodes.has(n.elementId)) return;
    const p = n.properties as Record<string, unknown>;
    const name = [p.name, p.title, p.filename, p.id].find((x) => typeof x === 'string' && x.length > 0) as string | undefined;
    const label = n.labels[0] ?? 'Node';
    nodes.set(n.elementId, { id: n.elementId, labels: [...n.labels], name: name ?? label, type: typeof p.type === 'string' && p.type ? p.type : label });
  };
  const addRel = (r: Relationship) => {
    if (!rels.has(r.elementId)) rels.set(r.elementId, { id: r.elementId, type: r.type, source: r.startNodeElementId, target: r.endNodeElementId });
  };
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || neo4j.isInt(v)) return;
    if (isNode(v)) return addNode(v as Node);
    if (isRelationship(v)) return addRel(v as Relationship);
    if (isPath(v)) {
      addNode(v.start as Node);
      for (const seg of v.segments) {
        addNode(seg.end as Node);
        addRel(seg.relationship as Relationship);
      }
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) walk(x);
  };
  for (const r of records) for (const v of r.values()) walk(v);
  const all = [...rels.values()];
  const drawn = all.filter((r) => nodes.has(r.source) && nodes.has(r.target));
  return { nodes: [...nodes.values()], relationships: drawn, dangling: all.length - drawn.length };
}

export function graphRouter(deps: Deps): Router {
  const router = Router();
  const read = async (cypher: string, params: Record<string, unknown>) => {
    const session = deps.graph.session({ defaultAccessMode: neo4j.session.READ });
    try {
      return (await session.run(cypher, params, { timeout: 10_000 })).records.map((r) => toPlain(r.toObject()) as Record<string, unknown>);
    } finally {
      await session.close();
    }
  };
  const int = (n: number) => neo4j.int(n);
  /** Private documents of other users in the request's workspace; null when there are none. */
  const hiddenFor = async (req: Request): Promise<string[] | null> => {
    const r = await deps.db.query(`SELECT id FROM documents WHERE workspace_id = $1 AND visibility = 'private' AND owner_id IS DISTINCT FROM $2::uuid`, [workspaceOf(req), req.user!.userId]);
    return r.rowCount ? r.rows.map((x) => x.id as string) : null;
  };

  router.get('/entities', async (req, res) => {
    const q = parse(EntityListQuery, req.query);
    const ws = workspaceOf(req);
    const hidden = await hiddenFor(req);
    const order = q.sort === 'name' ? 'name ASC' : q.sort === 'degree' ? 'degree DESC, name ASC' : 'mentions DESC, name ASC';
    const rows = q.q
      ? await read(
          // Prefix and fuzzy matching on names and aliases through the full-text index.
          `CALL db.index.fulltext.queryNodes('entity_names', $lucene, {limit: 1000}) YIELD node AS e, score
           WHERE e.workspace_id = $ws AND ($type IS NULL OR e.type = $type) AND ${VISIBLE_ENTITY('e')}
           WITH e, score, ${MENTIONS('e')} AS mentions, COUNT { (e)-[:RELATED_TO]-() } AS degree
           RETURN e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, mentions, degree, score
           ORDER BY score DESC, ${order} SKIP $offset LIMIT $limit`,
          { lucene: entityLucene(q.q, ws), ws, hidden, type: q.type ?? null, offset: int(q.offset), limit: int(q.limit) },
        )
      : await read(
          `MATCH (e:Entity) WHERE e.workspace_id = $ws AND ($type IS NULL OR e.type = $type) AND ${VISIBLE_ENTITY('e')}
           WITH e, ${MENTIONS('e')} AS mentions, COUNT { (e)-[:RELATED_TO]-() } AS degree
           RETURN e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, mentions, degree
           ORDER BY ${order} SKIP $offset LIMIT $limit`,
          { ws, hidden, type: q.type ?? null, offset: int(q.offset), limit: int(q.limit) },
        );
    res.json({ limit: q.limit, offset: q.offset, entities: rows });
  });

  router.get('/entities/:id', async (req, res) => {
    const { id } = parse(EntityIdParam, req.params);
    const ws = workspaceOf(req);
    const hidden = await hiddenFor(req);
    const [entity] = await read(
      `MATCH (e:Entity {id: $id}) WHERE e.workspace_id = $ws AND ${VISIBLE_ENTITY('e')}
       RETURN e.id AS id, e.name AS name, e.type AS type, e.aliases AS aliases, e.description AS description, e.confidence AS confidence`,
      { id, ws, hidden },
    );
    if (!entity) throw new ApiError('not_found', `no entity ${id}`);
    const mentions = await read(
      `MATCH (d:Document)-[:CONTAINS]->(c:Chunk)-[:MENTIONS]->(e:Entity {id: $id}) WHERE c.workspace_id = $ws AND ($hidden IS NULL OR NOT d.id IN $hidden)
       RETURN c.id AS chunk_id, d.id AS document_id, d.title AS title, c.page AS page, c.position AS position, substring(c.content, 0, 300) AS snippet
       ORDER BY d.title, c.position LIMIT 50`,
      { id, ws, hidden },
    );
    const neighbours = await read(
      `MATCH (e:Entity {id: $id})-[r:RELATED_TO]-(n:Entity) WHERE n.workspace_id = $ws AND ${VISIBLE_RELATION('r')}
       RETURN n.id AS id, n.name AS name, n.type AS type, r.type AS relation, r.weight AS weight, r.confidence AS confidence,
              startNode(r) = e AS outgoing
       ORDER BY r.weight DESC, n.name LIMIT 50`,
      { id, ws, hidden },
    );
    res.json({ ...entity, mentions, neighbours });
  });

  router.get('/relationships', async (req, res) => {
    const q = parse(RelationshipQuery, req.query);
    const hidden = await hiddenFor(req);
    const rows = await read(
      `MATCH (a:Entity)-[r:RELATED_TO]->(b:Entity)
       WHERE r.workspace_id = $ws AND ($type IS NULL OR r.type = $type) AND coalesce(r.confidence, 0) >= $min
         AND ($entity IS NULL OR a.id = $entity OR b.id = $entity) AND ${VISIBLE_RELATION('r')}
       RETURN a.id AS source_id, a.name AS source, b.id AS target_id, b.name AS target, r.type AS type,
              r.confidence AS confidence, r.weight AS weight, r.evidence[0..5] AS evidence
       ORDER BY r.weight DESC, source, target SKIP $offset LIMIT $limit`,
      { ws: workspaceOf(req), hidden, type: q.type ?? null, min: q.min_confidence, entity: q.entity_id ?? null, offset: int(q.offset), limit: int(q.limit) },
    );
    res.json({ limit: q.limit, offset: q.offset, relationships: rows });
  });

  router.get('/data', async (req, res) => {
    const q = parse(GraphDataQuery, req.query);
    const ws = workspaceOf(req);
    const hidden = await hiddenFor(req);
    if (q.document_id && hidden?.includes(q.document_id)) throw new ApiError('not_found', `no document ${q.document_id}`);
    const seeds = q.entity_id
      ? [q.entity_id]
      : (await read(`MATCH (:Document {id: $doc})-[:CONTAINS]->(:Chunk)-[:MENTIONS]->(e:Entity) WHERE e.workspace_id = $ws RETURN DISTINCT e.id AS id LIMIT 200`, { doc: q.document_id, ws })).map((r) => r.id as string);
    const nodes = await read(
      `MATCH (s:Entity) WHERE s.id IN $seeds AND s.workspace_id = $ws
       MATCH p = (s)-[:RELATED_TO*0..${q.depth}]-(n:Entity)
       WHERE all(x IN nodes(p) WHERE x.workspace_id = $ws) AND ($types IS NULL OR n.type IN $types)
         AND all(r IN relationships(p) WHERE ${VISIBLE_RELATION('r')}) AND ${VISIBLE_ENTITY('n')}
       WITH DISTINCT n
       RETURN n.id AS id, n.name AS name, n.type AS type, ${MENTIONS('n')} AS mentions
       ORDER BY (n.id IN $seeds) DESC, mentions DESC, n.id SKIP $offset LIMIT $limit`,
      { seeds, ws, hidden, types: q.types?.length ? q.types : null, offset: int(q.offset), limit: int(q.limit) },
    );
    const ids = nodes.map((n) => n.id as string);
    const edges = await read(
      `MATCH (a:Entity)-[r:RELATED_TO]->(b:Entity) WHERE a.id IN $ids AND b.id IN $ids AND r.workspace_id = $ws AND ${VISIBLE_RELATION('r')}
       RETURN a.id AS source, b.id AS target, r.type AS type, r.weight AS weight, r.confidence AS confidence LIMIT 2000`,
      { ids, ws, hidden },
    );
    res.json({ seeds, depth: q.depth, limit: q.limit, offset: q.offset, nodes, edges });
  });

  /** The workspace's graph at a glance: its most mentioned entities and every relationship among them. */
  router.get('/overview', async (req, res) => {
    const q = parse(GraphOverviewQuery, req.query);
    const ws = workspaceOf(req);
    const hidden = await hiddenFor(req);
    const types = q.types?.length ? q.types : null;
    const [count] = await read(`MATCH (n:Entity) WHERE n.workspace_id = $ws AND ($types IS NULL OR n.type IN $types) AND ${VISIBLE_ENTITY('n')} RETURN count(n) AS n`, { ws, hidden, types });
    const nodes = await read(
      `MATCH (n:Entity) WHERE n.workspace_id = $ws AND ($types IS NULL OR n.type IN $types) AND ${VISIBLE_ENTITY('n')}
       WITH n, ${MENTIONS('n')} AS mentions
       RETURN n.id AS id, n.name AS name, n.type AS type, mentions
       ORDER BY mentions DESC, n.id LIMIT $limit`,
      { ws, hidden, types, limit: int(q.limit) },
    );
    const ids = nodes.map((n) => n.id as string);
    // Parallel relationships of different types between the same two entities are separate edges.
    const edges = await read(
      `MATCH (a:Entity)-[r:RELATED_TO]->(b:Entity) WHERE a.id IN $ids AND b.id IN $ids AND r.workspace_id = $ws AND ${VISIBLE_RELATION('r')}
       RETURN a.id AS source, b.id AS target, r.type AS type, coalesce(r.weight, 1.0) AS weight
       ORDER BY weight DESC, source, target, type LIMIT $edges`,
      { ids, ws, hidden, edges: int(q.limit * 4) },
    );
    res.json({ limit: q.limit, total_entities: count!.n as number, truncated: (count!.n as number) > nodes.length, nodes, edges });
  });

  router.post('/query', async (req, res) => {
    const body = parse(CypherRequest, req.body);
    res.locals.audit = { query: body.query.slice(0, 2000), parameters: Object.keys(body.parameters) };
    const ws = workspaceOf(req);
    // `$workspace_id` is given for convenience; confinement does not depend on it (the rewriting does).
    const parameters = { ...body.parameters, workspace_id: ws };
    let cypher: string;
    try {
      // One row more than asked for tells whether the result was cut.
      cypher = guardCypher(body.query, { scopeLabels: readableScopeLabels(ws, req.user!.userId), maxRows: body.limit + 1, parameters });
    } catch (err) {
      if (err instanceof CypherRefused) throw new ApiError('bad_request', err.message, { refused: err.construct });
      throw err;
    }
    const session = deps.graph.session({ defaultAccessMode: neo4j.session.READ });
    const started = Date.now();
    try {
      // Read access mode and a transaction timeout enforced by Neo4j itself.
      const result = await session.executeRead(
        async (tx) => {
          const records = (await tx.run(cypher, parameters)).records;
          const kept = records.slice(0, body.limit);
          return { rows: kept.map((r) => toPlain(r.toObject()) as Record<string, unknown>), graph: resultGraph(kept), truncated: records.length > body.limit };
        },
        { timeout: body.timeout_ms },
      );
      res.locals.audit = { ...(res.locals.audit as object), rows: result.rows.length, truncated: result.truncated };
      res.json({ rows: result.rows, row_count: result.rows.length, truncated: result.truncated, ms: Date.now() - started, graph: result.graph });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      if (isNeo4jTimeout(err)) throw new ApiError('timeout', `the query ran longer than ${body.timeout_ms} ms and was stopped`);
      if (e.code?.startsWith('Neo.ClientError')) throw new ApiError('bad_request', `the query failed: ${e.message ?? e.code}`);
      throw err;
    } finally {
      await session.close();
    }
  });

  return router;
}

/** A Lucene query for entity names: each word as a prefix and as a fuzzy term, workspace-scoped. */
function entityLucene(q: string, workspaceId: string): string {
  const words = q.toLowerCase().split(/\s+/).map((w) => w.replace(/[+\-&|!(){}[\]^"~*?:\\/]/g, '')).filter(Boolean).slice(0, 8);
  const ws = workspaceId.replace(/["\\]/g, '');
  if (words.length === 0) return `+workspace_id:"${ws}"`;
  return `+workspace_id:"${ws}" +(${words.map((w) => `(name:${w}* OR name:${w}~ OR aliases:${w}*)`).join(' AND ')})`;
}
