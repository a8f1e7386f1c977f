/**
 * A streamed question's progress: the answer pipeline's activities append events to a Redis stream
 * of the query's own, and the API forwards them to the asker as server-sent events. Pure names and
 * shapes only (the workflow imports this module).
 */
export const queryStreamKey = (queryId: string) => `neuronode:query-stream:${queryId}`;

/** How long a query's progress stream outlives its last event. */
export const QUERY_STREAM_TTL_S = 600;

export type QueryStreamEvent =
  | { type: 'stage'; stage: 'intent'; intent: string; ms: number }
  | { type: 'stage'; stage: 'retrieval'; chunks: number; ms: number }
  | { type: 'stage'; stage: 'generation' }
  | { type: 'stage'; stage: 'validation' }
  | { type: 'stage'; stage: 'validated'; grounded: boolean; ms: number }
  /** More of the draft answer: `text` extends what was sent before. */
  | { type: 'token'; text: string }
  /** The draft answer starts over (a repair attempt, or a fallback model): `text` replaces it. */
  | { type: 'reset'; text: string };
