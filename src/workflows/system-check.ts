import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { Profile } from '../domain/model-aliases';

const stores = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
});
// Model calls on a CPU can take a while; they get a longer bound and fewer attempts.
const models = proxyActivities<Activities>({
  startToCloseTimeout: '3m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s', maximumAttempts: 3 },
});

export interface SystemCheckInput {
  checkId: string;
  workspaceId: string;
  profile: Profile;
}

/** Proves the wiring end to end: PostgreSQL, Redis, Neo4j, LiteLLM (chat JSON + embeddings), Chroma. */
export async function systemCheck(input: SystemCheckInput) {
  const { checkId, workspaceId, profile } = input;
  const [postgres, redis, neo4j] = await Promise.all([
    stores.checkPostgres(checkId, workspaceId),
    stores.checkRedis(checkId, workspaceId),
    stores.checkGraph(checkId, workspaceId),
  ]);
  const llm = await models.checkLlmJson(checkId, workspaceId, profile);
  const chroma = await models.checkVectors(checkId, workspaceId);
  const result = { checkId, workspaceId, steps: { postgres, redis, neo4j, llm, chroma } };
  await stores.recordSystemCheck(checkId, workspaceId, workflowInfo().workflowId, result);
  return result;
}
