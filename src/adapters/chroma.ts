import { ChromaClient, ChromaNotFoundError, type Collection } from 'chromadb';

export type VectorStore = ChromaClient;

export function createChroma(url: string): ChromaClient {
  const u = new URL(url);
  return new ChromaClient({
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'https:' ? 443 : 80)),
    ssl: u.protocol === 'https:',
  });
}

/** Collections of the seed; cosine distance. */
export const COLLECTIONS = { chunks: 'document_chunks', entities: 'entities', systemChecks: 'system_checks' } as const;

/**
 * Gets or creates a collection whose vectors come from our own embedding calls (never Chroma's
 * built-in function). The embedding model and dimension are recorded in the collection metadata, and
 * a mismatch is refused: a model change is a migration, not a silent mix of vector spaces.
 */
export async function vectorCollection(
  chroma: ChromaClient,
  name: string,
  model: string,
  dimension: number,
): Promise<Collection> {
  const col = await chroma.getOrCreateCollection({
    name,
    embeddingFunction: null,
    metadata: { 'hnsw:space': 'cosine', embedding_model: model, embedding_dimension: dimension },
    configuration: { hnsw: { space: 'cosine' } },
  });
  const meta = col.metadata ?? {};
  if (meta.embedding_model !== model || Number(meta.embedding_dimension) !== dimension) {
    throw new Error(
      `collection ${name} holds vectors of ${String(meta.embedding_model)}/${String(meta.embedding_dimension)}, ` +
        `not ${model}/${dimension}: re-embed it (a model change is a migration)`,
    );
  }
  return col;
}

/**
 * A collection that exists, or null when it was never created (nothing was ever written to it). Any
 * other failure (Chroma unreachable) is thrown: callers that delete or migrate retry until it answers.
 */
export async function existingCollection(chroma: ChromaClient, name: string): Promise<Collection | null> {
  try {
    return await chroma.getCollection({ name, embeddingFunction: undefined });
  } catch (err) {
    if (err instanceof ChromaNotFoundError) return null;
    throw err;
  }
}

export async function pingChroma(chroma: ChromaClient): Promise<string> {
  await chroma.heartbeat();
  return `Chroma ${await chroma.version()}`;
}
