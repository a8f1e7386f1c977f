import { log } from '@temporalio/activity';
import type Redis from 'ioredis';
import { MalformedJSON, PartialJSON, parse as parsePartial } from 'partial-json';
import { QUERY_STREAM_TTL_S, type QueryStreamEvent } from '../domain/query-stream';

/**
 * Appends a query's progress events to its stream, in order. The stream is a progress channel: when
 * Redis refuses an event, the failure is logged once and the rest are not sent (the asker still gets
 * the final answer from the workflow); `flush` waits for what was sent.
 */
export function queryStreamWriter(redis: Redis, key: string | undefined) {
  let chain: Promise<void> = Promise.resolve();
  let broken = false;
  const send = (event: QueryStreamEvent) => {
    if (!key || broken) return;
    chain = chain.then(async () => {
      if (broken) return;
      try {
        await redis.multi().xadd(key, 'MAXLEN', '~', 5000, '*', 'event', JSON.stringify(event)).expire(key, QUERY_STREAM_TTL_S).exec();
      } catch (err) {
        broken = true;
        log.warn('the query progress stream is unavailable; the answer continues without progress events', { key, error: (err as Error).message });
      }
    });
  };
  return { send, flush: () => chain };
}

/** The answer sentences' text in a partial `AnswerSchema` JSON, citation markers removed. */
export function draftText(partialJson: string): string {
  let value: unknown;
  try {
    value = parsePartial(partialJson);
  } catch (err) {
    // Nothing parseable yet (or a prefix the parser cannot complete): no draft so far.
    if (err instanceof PartialJSON || err instanceof MalformedJSON) return '';
    throw err;
  }
  const sentences = (value as { sentences?: unknown } | null)?.sentences;
  if (!Array.isArray(sentences)) return '';
  return sentences
    .map((s) => (s && typeof (s as { text?: unknown }).text === 'string' ? (s as { text: string }).text.replace(/\s*\[\d+\]/g, '') : ''))
    .filter(Boolean)
    .join(' ');
}

/** Turns successive drafts into token events (or a reset when a draft does not extend the last). */
export function draftEvents(send: (e: QueryStreamEvent) => void) {
  let last = '';
  return (draft: string) => {
    if (draft === last) return;
    if (draft.startsWith(last)) send({ type: 'token', text: draft.slice(last.length) });
    else send({ type: 'reset', text: draft });
    last = draft;
  };
}
