import neo4j, { type Driver } from 'neo4j-driver';

export type Graph = Driver;

export function createNeo4j(url: string, user: string, password: string): Driver {
  return neo4j.driver(url, neo4j.auth.basic(user, password), {
    connectionTimeout: 5000,
    connectionAcquisitionTimeout: 10_000,
    maxTransactionRetryTime: 15_000,
    maxConnectionPoolSize: 20,
    disableLosslessIntegers: true,
  });
}

/**
 * The graph schema of the seed: uniqueness on ids, and a full-text index over chunk content and
 * context (title, source, date) for keyword retrieval (Lucene BM25). The "standard-no-stop-words"
 * analyzer handles German and English alike (language-specific stemming would favour one of them
 * for mixed corpora); the query side removes stop words of both languages. The workspace id is in
 * the index too, so a search is narrowed to one workspace inside Lucene, not after it.
 */
export const CHUNK_SEARCH_INDEX = 'chunk_search';
const SCHEMA = [
  'CREATE CONSTRAINT document_id IF NOT EXISTS FOR (d:Document) REQUIRE d.id IS UNIQUE',
  'CREATE CONSTRAINT entity_id IF NOT EXISTS FOR (e:Entity) REQUIRE e.id IS UNIQUE',
  'CREATE CONSTRAINT chunk_id IF NOT EXISTS FOR (c:Chunk) REQUIRE c.id IS UNIQUE',
  'CREATE CONSTRAINT system_check_id IF NOT EXISTS FOR (s:SystemCheck) REQUIRE s.id IS UNIQUE',
  'CREATE INDEX entity_ws_name IF NOT EXISTS FOR (e:Entity) ON (e.workspace_id, e.normalized_name)',
  'CREATE INDEX chunk_ws IF NOT EXISTS FOR (c:Chunk) ON (c.workspace_id)',
  'CREATE INDEX document_ws IF NOT EXISTS FOR (d:Document) ON (d.workspace_id)',
  'DROP INDEX chunk_content IF EXISTS',
  `CREATE FULLTEXT INDEX ${CHUNK_SEARCH_INDEX} IF NOT EXISTS FOR (c:Chunk) ON EACH [c.content, c.context, c.workspace_id]
     OPTIONS { indexConfig: { \`fulltext.analyzer\`: 'standard-no-stop-words' } }`,
  `CREATE FULLTEXT INDEX entity_names IF NOT EXISTS FOR (e:Entity) ON EACH [e.name, e.aliases, e.workspace_id]
     OPTIONS { indexConfig: { \`fulltext.analyzer\`: 'standard-no-stop-words' } }`,
];

/** A Neo4j transaction stopped by its time limit (the driver's `timeout`, or the server's own). */
export function isNeo4jTimeout(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return !!e && (e.code?.includes('TransactionTimedOut') === true || e.code?.includes('Transaction.Terminated') === true || /timed out|terminated/i.test(e.message ?? ''));
}

export async function ensureGraphSchema(driver: Driver): Promise<void> {
  for (const statement of SCHEMA) {
    await driver.executeQuery(statement);
  }
}

export async function pingNeo4j(driver: Driver): Promise<string> {
  const info = await driver.getServerInfo();
  return `Neo4j ${info.agent ?? '?'} (protocol ${info.protocolVersion ?? '?'})`;
}
