export { createChroma, vectorCollection, existingCollection, pingChroma, COLLECTIONS, type VectorStore } from './chroma';
export { LlmClient, LlmOutputError, errorClass, type LlmUsage, type LlmCallContext } from './llm';
export { createNeo4j, ensureGraphSchema, pingNeo4j, type Graph } from './neo4j';
export { SqlFilter, assertMigrated, createPostgres, migrate, pingPostgres, transaction, type Db } from './postgres';
export { createRedis, pingRedis } from './redis';
export { createTemporalClient, pingTemporal, temporalTls } from './temporal';
export { withTimeout } from './timeout';
