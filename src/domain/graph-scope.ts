/**
 * Who may read a piece of the knowledge graph. Every Document, Chunk and Entity node carries exactly
 * one scope label: `scope:<workspace>` for what organisation-wide documents contributed, and
 * `scope:<workspace>/<owner>` for a private document's own nodes. Entities are resolved within a
 * scope, never across, and every relationship joins two nodes of one scope. So a private document's
 * entities, aliases, descriptions and relations live apart from everyone else's, and a graph query
 * confined to the caller's readable scope labels (`src/domain/cypher-guard.ts`) cannot reach or pass
 * through anything else. Nodes without a scope label (system-check markers, say) are readable by no
 * user query at all.
 */
export interface GraphScope {
  /** The key entity ids and entity vectors are resolved within. Organisation-wide: the workspace id. */
  key: string;
  /** The node label. */
  label: string;
}

export const SCOPE_LABEL_PREFIX = 'scope:';

export function graphScope(doc: { workspace_id: string; visibility?: string | null; owner_id?: string | null }): GraphScope {
  const key = doc.visibility === 'private' && doc.owner_id ? `${doc.workspace_id}/${doc.owner_id}` : doc.workspace_id;
  return { key, label: `${SCOPE_LABEL_PREFIX}${key}` };
}

/** The scope labels a user may read in a workspace: its organisation-wide nodes and their own private ones. */
export function readableScopeLabels(workspaceId: string, userId: string): string[] {
  return [graphScope({ workspace_id: workspaceId }).label, graphScope({ workspace_id: workspaceId, visibility: 'private', owner_id: userId }).label];
}

/** A name (label, type, property key) in backticks, with backticks inside doubled: safe in Cypher text. */
export function escapeName(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}
