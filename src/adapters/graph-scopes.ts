import type { ChromaClient } from 'chromadb';
import type { Driver } from 'neo4j-driver';
import type { Pool } from 'pg';
import { COLLECTIONS, existingCollection } from './chroma';
import { escapeName, graphScope, SCOPE_LABEL_PREFIX } from '../domain/graph-scope';

/**
 * Gives nodes written before scope labels existed their label (see `src/domain/graph-scope.ts`), and
 * restores the rule that every relationship joins two nodes of one scope. Idempotent and cheap once
 * done: it only looks at nodes without a scope label.
 *
 * - Documents and their chunks: the document's scope, from its PostgreSQL record (a node without a
 *   record stays unlabelled, so no user query reads it).
 * - Entities: the scope of the chunks that mention them. An entity that chunks of several scopes
 *   mention (entities used to be shared across private and organisation-wide documents) stays in
 *   the organisation-wide scope if one of them is, otherwise in the first; mentions from the other
 *   scopes' chunks and relations joining entities of different scopes are removed, and relation
 *   evidence from other scopes is dropped. Reprocessing such a private document links it again,
 *   within its own scope.
 * - Document references across scopes are removed.
 * - Entity vectors in Chroma get their scope's key in their metadata (entity resolution searches
 *   near-duplicates within a scope by it).
 *
 * Runs once per installation (recorded in Neo4j as a `:NeuronodeMigration` node without a scope
 * label, which no user query can read), one process at a time.
 */
export async function migrateGraphScopes(db: Pool, graph: Driver, chroma: ChromaClient): Promise<{ documents: number; entities: number; detached: number; vectors: number } | null> {
  const client = await db.connect();
  try {
    await client.query('SELECT pg_advisory_lock(727002)');
    if ((await graph.executeQuery(`MATCH (m:NeuronodeMigration {id: $id}) RETURN m`, { id: MARKER })).records.length) return null;
    const done = { ...(await labelGraphScopes(db, graph)), vectors: await scopeEntityVectors(graph, chroma) };
    await graph.executeQuery(`MERGE (m:NeuronodeMigration {id: $id}) ON CREATE SET m.at = datetime()`, { id: MARKER });
    return done;
  } finally {
    await client.query('SELECT pg_advisory_unlock(727002)');
    client.release();
  }
}

const MARKER = 'graph_0001_scope_labels';
/** A node's scope label in Cypher (null when it has none). */
const scopeOf = (v: string) => `[l IN labels(${v}) WHERE l STARTS WITH '${SCOPE_LABEL_PREFIX}'][0]`;

async function labelGraphScopes(db: Pool, graph: Driver): Promise<{ documents: number; entities: number; detached: number }> {
  const unlabelled = `none(l IN labels(x) WHERE l STARTS WITH '${SCOPE_LABEL_PREFIX}')`;
  let documents = 0;
  for (;;) {
    const ids = (await graph.executeQuery(`MATCH (x:Document) WHERE ${unlabelled} RETURN x.id AS id LIMIT 500`)).records.map((r) => r.get('id') as string);
    if (!ids.length) break;
    const rows = (await db.query(`SELECT id, workspace_id, visibility, owner_id FROM documents WHERE id = ANY($1)`, [ids])).rows;
    const byLabel = new Map<string, string[]>();
    for (const r of rows) {
      const { label } = graphScope(r);
      byLabel.set(label, [...(byLabel.get(label) ?? []), r.id]);
    }
    for (const [label, docs] of byLabel) {
      await graph.executeQuery(
        `UNWIND $docs AS id MATCH (x:Document {id: id}) SET x:${escapeName(label)}
         WITH x OPTIONAL MATCH (x)-[:CONTAINS]->(c:Chunk) SET c:${escapeName(label)}`,
        { docs },
      );
      documents += docs.length;
    }
    const orphans = ids.filter((id) => !rows.some((r) => r.id === id));
    if (orphans.length === ids.length) break; // only nodes without a record are left: they stay unlabelled
  }

  let entities = 0;
  let detached = 0;
  for (;;) {
    const found = (
      await graph.executeQuery(
        `MATCH (x:Entity) WHERE ${unlabelled}
         OPTIONAL MATCH (c:Chunk)-[:MENTIONS]->(x)
         WITH x, collect(DISTINCT ${scopeOf('c')}) AS scopes
         RETURN x.id AS id, x.workspace_id AS ws, scopes LIMIT 500`,
      )
    ).records.map((r) => ({ id: r.get('id') as string, ws: r.get('ws') as string, scopes: (r.get('scopes') as (string | null)[]).filter((s): s is string => !!s) }));
    if (!found.length) break;
    const labelled = found.filter((e) => e.scopes.length);
    if (!labelled.length) break; // entities no labelled chunk mentions stay unlabelled
    for (const e of labelled) {
      const label = e.scopes.includes(`${SCOPE_LABEL_PREFIX}${e.ws}`) ? `${SCOPE_LABEL_PREFIX}${e.ws}` : e.scopes[0]!;
      const r = await graph.executeQuery(
        `MATCH (x:Entity {id: $id}) SET x:${escapeName(label)}
         WITH x OPTIONAL MATCH (c:Chunk)-[m:MENTIONS]->(x) WHERE NOT c:${escapeName(label)} DELETE m
         RETURN count(m) AS n`,
        { id: e.id },
      );
      entities++;
      detached += Number(r.records[0]?.get('n') ?? 0);
    }
  }
  // Relations: both ends in one scope, evidence only from that scope's chunks.
  const across = await graph.executeQuery(
    `MATCH (a:Entity)-[r:RELATED_TO]->(b:Entity) WITH r, ${scopeOf('a')} AS sa, ${scopeOf('b')} AS sb
     WHERE sa IS NULL OR sb IS NULL OR sa <> sb DELETE r RETURN count(*) AS n`,
  );
  detached += Number(across.records[0]?.get('n') ?? 0);
  const evidence = await graph.executeQuery(
    `MATCH (a:Entity)-[r:RELATED_TO]->(:Entity) WITH r, ${scopeOf('a')} AS s
     WITH r, [x IN r.evidence WHERE EXISTS { MATCH (c:Chunk {id: x}) WHERE s IN labels(c) }] AS kept
     WHERE size(kept) < size(r.evidence)
     SET r.evidence = kept, r.weight = size(kept) RETURN count(*) AS n`,
  );
  detached += Number(evidence.records[0]?.get('n') ?? 0);
  await graph.executeQuery(`MATCH ()-[r:RELATED_TO]->() WHERE size(r.evidence) = 0 DELETE r`);
  const refs = await graph.executeQuery(
    `MATCH (a:Document)-[r:REFERENCES]->(b:Document) WITH r, ${scopeOf('a')} AS sa, ${scopeOf('b')} AS sb
     WHERE sa IS NULL OR sb IS NULL OR sa <> sb
     DELETE r RETURN count(*) AS n`,
  );
  detached += Number(refs.records[0]?.get('n') ?? 0);
  return { documents, entities, detached };
}

/** Writes each entity vector's scope key (from its node's scope label) where the metadata lacks one. */
async function scopeEntityVectors(graph: Driver, chroma: ChromaClient): Promise<number> {
  const col = await existingCollection(chroma, COLLECTIONS.entities);
  if (!col) return 0; // no entity was ever embedded
  let updated = 0;
  for (let offset = 0; ; offset += 500) {
    const page = await col.get({ limit: 500, offset, include: ['metadatas'] });
    if (!page.ids.length) break;
    const missing = page.ids.map((id, i) => ({ id, meta: page.metadatas[i] ?? {} })).filter((x) => x.meta.scope === undefined);
    if (!missing.length) continue;
    const labels = new Map(
      (
        await graph.executeQuery(
          `UNWIND $ids AS id MATCH (e:Entity {id: id}) RETURN id, ${scopeOf('e')} AS label`,
          { ids: missing.map((m) => m.id) },
        )
      ).records.map((r) => [r.get('id') as string, r.get('label') as string | null]),
    );
    await col.update({
      ids: missing.map((m) => m.id),
      metadatas: missing.map((m) => ({ ...m.meta, scope: labels.get(m.id)?.slice(SCOPE_LABEL_PREFIX.length) ?? String(m.meta.workspace_id ?? '') })),
    });
    updated += missing.length;
  }
  return updated;
}
