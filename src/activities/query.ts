import { createHash } from 'node:crypto';
import { ApplicationFailure, asyncLocalStorage } from '@temporalio/activity';
import { z } from 'zod';
import type { Deps } from '../deps';
import { countTokens } from '../domain/chunking';
import { chatAlias, type Profile } from '../domain/model-aliases';
import { AnswerSchema, VerdictSchema, answerMessages, verdictMessages } from '../domain/prompts';
import { answersQuestion, asksInGerman, claimOf, expectedAnswerType, leadingYes, negations, supportFloor } from '../domain/answer-type';
import { INTENTS, clauses, contentTerms, intentByRules, lexicalSupport, termSupport, type Intent, type Mode } from '../domain/query-plan';
import { draftEvents, draftText, queryStreamWriter } from './query-stream';
import { errorClass, isModelFailure } from '../adapters/llm';
import { createRetriever, type QueryFilters, type RankedChunk, type RetrievalPlan } from '../retrieval/retrieve';

/**
 * The question pipeline's activities: intent, retrieval, context synthesis, answer generation,
 * validation, history and the answer cache. Retrieval and bookkeeping run as local activities of the
 * `answerQuery` workflow (fast); model calls run on the LLM task queue (bounded concurrency).
 */

export const QUERY_EVENTS_STREAM = 'neuronode:events:queries';

export interface AnswerInput {
  queryId: string;
  workspaceId: string;
  userId: string | null;
  question: string;
  profile: Profile;
  mode: Mode;
  topK: number;
  filters: QueryFilters;
  cacheKey: string | null;
  batchId?: string;
  batchIndex?: number;
  /** false: retrieval only — the ranked chunks, no model call (batch evaluation, bring-your-own LLM). */
  generate?: boolean;
  /** true: the activities append progress events (stages, answer tokens) to the query's stream. */
  stream?: boolean;
}

export interface StageInfo {
  ms: number;
  alias?: string;
  model?: string | null;
  tokens?: number;
  cost_usd?: number;
}

export interface Citation {
  n: number;
  document_id: string;
  title: string;
  chunk_id: string;
  page: number | null;
  snippet: string;
  score: number;
}

export interface AnswerResponse {
  query_id: string;
  workflow_id: string | null;
  question: string;
  answer: string;
  draft_answer?: string;
  intent: Intent;
  citations: Citation[];
  entities: { id: string; name: string; type: string }[];
  graph_paths: { nodes: string[]; relations: string[] }[];
  validation: { grounded: boolean; score: number; reasons: string[] };
  stages: Record<string, StageInfo>;
  tokens: number;
  cost_usd: number;
  cached: boolean;
  /** Retrieval-only requests: the ranked chunks (without their full text). */
  retrieved?: { chunk_id: string; document_id: string; title: string; page: number | null; score: number; ranks: RankedChunk['ranks'] }[];
}

/** Sources handed to the model, numbered; what the answer may cite. */
export interface ContextSource {
  n: number;
  chunk: RankedChunk;
  text: string;
  flagged: boolean;
}

/**
 * Sentences in documents that address a model ("ignore previous instructions", "you are now…",
 * "system prompt") are removed from the context before any model sees it, and the answer reports it.
 */
const INJECTION =
  /(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+)?(previous|prior|above|earlier|your)?\s*(instructions|prompts?|rules|context)|you are now|new instructions|system prompt|act as (an?|the)\b|respond (only )?with|antworte (nur )?mit|ignoriere (alle |die )?(vorherigen |bisherigen )?(anweisungen|instruktionen)|du bist (jetzt|nun)/i;

export function neutraliseInstructions(text: string): { text: string; flagged: boolean } {
  let flagged = false;
  // Sentence by sentence, lines kept as lines (a configuration block stays readable).
  const out = text
    .split(/\n+/)
    .map((line) =>
      line
        .split(/(?<=[.!?])\s+/)
        .map((s) => {
          if (INJECTION.test(s)) {
            flagged = true;
            return '[instruction-like text removed]';
          }
          return s;
        })
        .join(' '),
    )
    .join('\n');
  return { text: out, flagged };
}

const IntentSchema = z.object({ intent: z.enum(INTENTS), confidence: z.number().int().min(0).max(100) });


/**
 * Output bounds of the answer and verdict calls: room for the schemas' fullest output (six sentences
 * of 400 characters with their sources; three claims of 120 characters) at worse than one character
 * per token, so constrained output is never cut off inside a string.
 */
const ANSWER_MAX_TOKENS = 1600;
const VERDICT_MAX_TOKENS = 800;

/** A model that twice returns output failing its schema will not do better on a retry. */
const invalidOutput = (err: Error): never => {
  if (err.name === 'LlmOutputError') throw ApplicationFailure.nonRetryable(err.message, 'LlmOutputInvalid');
  throw err;
};

/** Adds an event to a stream once per marker key: KEYS = [marker, stream]; ARGV = [marker TTL s, stream max length, event]. */
const PUBLISH_ONCE = `if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[3])
end
return false`;

export function cacheKeyFor(workspaceId: string, corpusVersion: string, q: { question: string; profile: string; mode: string; topK: number; filters: unknown; readableBy: string | null }): string {
  const norm = q.question.trim().replace(/\s+/g, ' ').toLowerCase();
  const h = createHash('sha256').update(JSON.stringify([workspaceId, corpusVersion, norm, q.profile, q.mode, q.topK, q.filters, q.readableBy])).digest('hex');
  return `neuronode:answer:${workspaceId}:${h}`;
}

/** What the answer model was shown of a source: its title, publisher and date line, and its text. */
const evidenceOf = (s: ContextSource | undefined) => (s ? `${s.chunk.title} ${s.chunk.source ?? ''} ${s.chunk.published?.slice(0, 10) ?? ''} ${s.text}` : '');

/** What the answer model was shown of the sources a sentence cites, as one text. */
const citedEvidence = (cited: number[], byN: Map<number, ContextSource>) => cited.map((n) => evidenceOf(byN.get(n))).join(' ');

/**
 * How much of a claim stands in the given sources (lexical support). A claim with no words of content
 * (a number, citation marks) is supported by nothing.
 */
function claimSupport(claim: string, cited: number[], byN: Map<number, ContextSource>): number {
  return contentTerms(claim).length === 0 ? 0 : lexicalSupport(claim, citedEvidence(cited, byN));
}

interface LexicalMeasure {
  /** How much of the sentence's claim stands in the sources it cites. */
  support: number;
  /** How much must (supportFloor). */
  floor: number;
}

/** Each sentence's lexical support and the floor it must reach (a bare "Yes."/"No." claims what the question asks). */
function lexicalMeasures(question: string, sentences: { text: string; sources: number[] }[], byN: Map<number, ContextSource>): LexicalMeasure[] {
  return sentences.map((s) => {
    const claim = claimOf(question, s.text);
    return { support: claimSupport(claim, s.sources, byN), floor: supportFloor(question, claim) };
  });
}

/**
 * A text's sentences, each line split at its full stops: a line is a unit of its own, so a
 * configuration block or a list (no full stop anywhere) splits into its lines. With `maxTokens`, a
 * unit longer than that is cut further (see `splitLong`): text without line breaks (a PDF's table,
 * chunks stored before chunking kept them) reads as one "sentence" of hundreds of tokens. Empty
 * units dropped; `line` is the unit's line, `i` its place among the units.
 */
function textUnits(text: string, maxTokens = Infinity, pieceTokens = maxTokens): { s: string; line: number; i: number }[] {
  return text
    .split('\n')
    .flatMap((line, l) =>
      line
        .split(/(?<=[.!?])\s+/)
        .flatMap((s) => splitLong(s.trim(), maxTokens, pieceTokens))
        .map((s) => ({ s, line: l })),
    )
    .filter((u) => u.s.length > 0)
    .map((u, i) => ({ ...u, i }));
}

/** Words per piece when a unit has no clause boundary to cut at. */
const WORDS_PER_PIECE = 12;

/**
 * A unit of more than `maxTokens` tokens, cut at its clause boundaries (after , ; { }), the clauses
 * merged back in order up to `pieceTokens`; a clause still longer is cut every WORDS_PER_PIECE words.
 * Joined with single spaces the pieces give the unit back.
 */
function splitLong(unit: string, maxTokens: number, pieceTokens: number): string[] {
  if (!Number.isFinite(maxTokens) || countTokens(unit) <= maxTokens) return [unit];
  const clauses = unit.split(/(?<=[,;{}])\s+/).flatMap((c) => {
    if (countTokens(c) <= pieceTokens) return [c];
    const words = c.split(/\s+/);
    return Array.from({ length: Math.ceil(words.length / WORDS_PER_PIECE) }, (_, k) => words.slice(k * WORDS_PER_PIECE, (k + 1) * WORDS_PER_PIECE).join(' '));
  });
  const out: string[] = [];
  for (const c of clauses) {
    const last = out[out.length - 1];
    if (last !== undefined && countTokens(`${last} ${c}`) <= pieceTokens) out[out.length - 1] = `${last} ${c}`;
    else out.push(c);
  }
  return out;
}

/**
 * What an answer adds to its question, and how much of that its cited sources contain: the content
 * terms of its sentences that the question does not already have, each looked up in the sources its
 * sentence cites. Only for questions that ask for a name, a number or a date, whose answer is exactly
 * such an addition: an answer that repeats the question's words around an invented place or date
 * ("… wurde in Deutschland verkündet", "… am 15. Oktober 1996") is otherwise mostly supported.
 */
export function addedInformation(question: string, sentences: { text: string; sources: number[] }[], byN: Map<number, ContextSource>): { terms: number; support: number; missing: string[] } {
  if (!['entity', 'number', 'date'].includes(expectedAnswerType(question))) return { terms: 0, support: 1, missing: [] };
  let terms = 0;
  let found = 0;
  const missing: string[] = [];
  for (const s of sentences) {
    const own = [...new Set(contentTerms(s.text))];
    const inQuestion = termSupport(own, question);
    const added = own.filter((_, i) => inQuestion[i]! < 1);
    if (added.length === 0) continue;
    const support = termSupport(added, citedEvidence(s.sources, byN));
    terms += added.length;
    support.forEach((x, i) => {
      found += x;
      if (x === 0) missing.push(added[i]!);
    });
  }
  return { terms, support: terms ? +(found / terms).toFixed(3) : 1, missing: [...new Set(missing)] };
}

/** Below this share of what the answer adds found in its sources, the answer is not grounded. */
export const ADDED_FLOOR = 0.5;

/**
 * Citations that point at the wrong source, re-pointed. Small models often cite [1] or a neighbour for
 * a sentence that another source of the same context states word for word. When the sources a sentence
 * cites do not support its claim (below its support floor, as validation measures it) and another
 * source does, better than the cited ones, the sentence cites that source instead; a user who opens
 * the citation then finds the passage. A sentence no source supports keeps its citations, and
 * validation refuses it.
 */
export function repointCitations(question: string, sentences: { text: string; sources: number[] }[], sources: ContextSource[]): { sentences: { text: string; sources: number[] }[]; repointed: number } {
  const byN = new Map(sources.map((s) => [s.n, s]));
  let repointed = 0;
  const out = sentences.map((sentence) => {
    const claim = claimOf(question, sentence.text);
    if (contentTerms(claim).length === 0) return sentence;
    const floor = supportFloor(question, claim);
    const cited = claimSupport(claim, sentence.sources, byN);
    if (cited >= floor) return sentence;
    const best = sources.map((s) => ({ n: s.n, support: claimSupport(claim, [s.n], byN) })).sort((a, b) => b.support - a.support || a.n - b.n)[0];
    if (!best || best.support < floor || best.support <= cited) return sentence;
    repointed++;
    return { text: sentence.text, sources: [best.n] };
  });
  return { sentences: out, repointed };
}

/**
 * A "yes" that the sources deny. Small models read past a negation: asked "Darf jemand der Folter
 * unterworfen werden?" over "Niemand darf der Folter … unterworfen werden." they answer "Ja". When a
 * yes/no question of one clause, itself without a negation, is restated by one sentence of the
 * sources (at least half of the question's content terms, two or more, stand in it), that sentence
 * negates it, and the answer leads with yes, the answer becomes "No." and that sentence, both citing
 * its source. A "no" is never turned into a yes: a sentence that shares the question's words without
 * a negation may still state something else.
 */
export function correctDeniedYes(question: string, sentences: { text: string; sources: number[] }[], sources: ContextSource[]): { sentences: { text: string; sources: number[] }[]; corrected: boolean } {
  const unchanged = { sentences, corrected: false };
  if (expectedAnswerType(question) !== 'yes_no' || leadingYes(sentences[0]?.text ?? '') !== true || negations(question) > 0) return unchanged;
  // A question of several clauses (one report against another) is not restated by one sentence.
  if (clauses(question).filter((c) => contentTerms(c.text).length >= 3).length > 1) return unchanged;
  const terms = [...new Set(contentTerms(question))];
  let best: { n: number; sentence: string; found: number } | null = null;
  for (const s of sources) {
    for (const { s: sentence } of textUnits(s.text)) {
      const found = termSupport(terms, sentence).reduce((a, b) => a + b, 0);
      if (!best || found > best.found) best = { n: s.n, sentence: sentence.replace(/^[\s\-*•#>]+/, '').trim(), found };
    }
  }
  if (!best || best.found < 2 || best.found < terms.length / 2 || negations(best.sentence) % 2 === 0) return unchanged;
  const no = asksInGerman(question) ? 'Nein.' : 'No.';
  return { sentences: [{ text: no, sources: [best.n] }, { text: best.sentence.slice(0, 400), sources: [best.n] }], corrected: true };
}

export function createQueryActivities(deps: Deps) {
  const { db, redis, llm } = deps;
  const retriever = createRetriever(deps);
  /** The workflow of the running activity; undefined when called outside one. */
  const wfId = () => asyncLocalStorage.getStore()?.info.workflowExecution?.workflowId;

  const classifyIntent = async (input: { workspaceId: string; question: string; profile: Profile; useModel?: boolean }): Promise<{ intent: Intent; by: 'model' | 'rules'; stage: StageInfo }> => {
    const t = performance.now();
    const rules = intentByRules(input.question);
    if (input.useModel === false) return { intent: rules, by: 'rules', stage: { ms: Math.round(performance.now() - t) } };
    const alias = chatAlias('classification', input.profile);
    try {
      const { value, usage } = await llm.chatJson(
        alias,
        [
          { role: 'system', content: 'You classify the intent of a question asked to a document search system. Answer with JSON only.' },
          {
            role: 'user',
            content: `Intents: factual (one fact), comparison (two or more things compared), temporal (change over time or order of events), aggregation (counts, totals, lists), inference (a person or thing identified from several clues), exploratory (open-ended).\nQuestion: ${input.question.slice(0, 1500)}`,
          },
        ],
        IntentSchema,
        { workspaceId: input.workspaceId, workflowId: wfId(), activity: 'analyzeIntent' },
        { maxTokens: 40, schemaName: 'intent' },
      );
      // A weak model's low-confidence guess does not override a clear rule.
      const intent = value.confidence >= 60 || rules === 'exploratory' ? value.intent : rules;
      return { intent, by: intent === value.intent ? 'model' : 'rules', stage: { ms: Math.round(performance.now() - t), alias, model: usage.servedBy, tokens: usage.tokensIn + usage.tokensOut, cost_usd: usage.costUsd } };
    } catch (err) {
      // The intent model failed (unreachable, circuit open, invalid output, the spend limit): the rules decide.
      if (!isModelFailure(err)) throw err;
      console.warn(`intent model ${alias} failed (${errorClass(err)}); the rules decided the intent`);
      return { intent: rules, by: 'rules', stage: { ms: Math.round(performance.now() - t), alias, model: null, tokens: 0, cost_usd: 0 } };
    }
  };

  type Sentence = { text: string; sources: number[] };
  type JudgeInput = { workspaceId: string; question: string; profile: Profile; sources: ContextSource[]; sentences: Sentence[] };
  type Judgement = { grounded: boolean; score: number; reasons: string[]; stages: Record<string, StageInfo>; sentences: Sentence[]; left_out: Sentence[] };

  /**
   * An answer whose sentences are partly found in the sources they cite and partly not (a small
   * model's right first sentence followed by invented ones) is judged on the sentences that are:
   * when the first sentence is among them, and they alone answer the question and pass every check
   * below, they are the answer and the others are left out (and named in the reasons). Otherwise the
   * whole draft is judged as it stands.
   */
  const judgeAnswer = async (input: JudgeInput): Promise<Judgement> => {
    const byN = new Map(input.sources.map((s) => [s.n, s]));
    const measured = lexicalMeasures(input.question, input.sentences, byN);
    const supported = input.sentences.map((s, i) => s.sources.length > 0 && measured[i]!.support >= measured[i]!.floor);
    const kept = input.sentences.filter((_, i) => supported[i]);
    const leftOut = input.sentences.filter((_, i) => !supported[i]);
    // Only sentences after the first: the answer model is told to answer in its first sentence, and
    // the sentences after an unsupported answer are its context, not an answer (a draft "… ist
    // Artikel 26. [1]" whose first sentence was left out answered "which article?" with its second).
    if (supported[0] && leftOut.length > 0) {
      const trimmed = await judgeSentences({ ...input, sentences: kept }, measured.filter((_, i) => supported[i]));
      // Judged by the validators (not refused by the checks before them): that judgement stands.
      if (trimmed.grounded || Object.keys(trimmed.stages).length > 0) {
        const note = `${leftOut.length} sentence(s) not found in the sources they cite were left out: ${leftOut.map((s) => `"${s.text.slice(0, 80)}"`).join('; ')}`;
        return { ...trimmed, reasons: [note, ...trimmed.reasons], sentences: kept, left_out: leftOut };
      }
    }
    return { ...(await judgeSentences(input, measured)), sentences: input.sentences, left_out: [] };
  };

  /** `measured`: lexicalMeasures of `input.sentences`, in their order. */
  const judgeSentences = async (input: JudgeInput, measured: LexicalMeasure[]): Promise<{ grounded: boolean; score: number; reasons: string[]; stages: Record<string, StageInfo> }> => {
    const reasons: string[] = [];
    const byN = new Map(input.sources.map((s) => [s.n, s]));
    const uncited = input.sentences.filter((s) => s.sources.length === 0);
    if (uncited.length) reasons.push(`${uncited.length} sentence(s) cite no source`);
    const support = measured.map((m) => m.support);
    const lexical = support.length ? support.reduce((a, b) => a + b, 0) / support.length : 0;
    const weak = measured.filter((m) => m.support < m.floor).length;
    if (weak) reasons.push(`${weak} sentence(s) are mostly not found in their cited sources (lexical support ${lexical.toFixed(2)})`);
    // The answer must be of the kind the question asks for (yes/no, a number, a date, a name).
    const kind = answersQuestion(input.question, input.sentences.map((s) => s.text));
    // No validator is asked about an answer that does not answer.
    if (!kind.ok) return { grounded: false, score: 0, reasons: [...reasons, kind.reason], stages: {} };
    // Nor one whose name, number or date is not in the sources it cites.
    const added = addedInformation(input.question, input.sentences, byN);
    if (added.terms > 0 && added.support < ADDED_FLOOR) {
      return { grounded: false, score: 0, reasons: [...reasons, `what the answer adds to the question (${added.missing.slice(0, 5).join(', ')}) is not in the sources it cites`], stages: {} };
    }
    const lexicalOk = uncited.length === 0 && weak === 0;
    // Near-verbatim: nearly every content word of every sentence stands in the source it cites.
    const verbatim = uncited.length === 0 && support.length > 0 && support.every((x) => x >= 0.85);

    const stages: Record<string, StageInfo> = {};
    const judge = async (slot: 'validation_primary' | 'validation_secondary') => {
      const alias = chatAlias(slot, input.profile);
      const t = performance.now();
      const cited = [...new Set(input.sentences.flatMap((s) => s.sources))].map((n) => byN.get(n)).filter((s): s is ContextSource => !!s);
      const { value, usage } = await llm.chatJson(
        alias,
        verdictMessages({
          sources: cited.map((s) => `[${s.n}] ${s.text}`).join('\n\n'),
          question: input.question,
          answer: input.sentences.map((s) => `${s.text} ${s.sources.map((n) => `[${n}]`).join('')}`).join(' '),
        }),
        VerdictSchema,
        { workspaceId: input.workspaceId, workflowId: wfId(), activity: 'validateAnswer' },
        // The verdict schema's fullest output (three claims of 120 characters) must fit, or a model that
        // fills it is cut off inside a string and validation fails.
        { maxTokens: VERDICT_MAX_TOKENS, schemaName: 'verdict' },
      ).catch(invalidOutput);
      stages[slot] = { ms: Math.round(performance.now() - t), alias, model: usage.servedBy, tokens: usage.tokensIn + usage.tokensOut, cost_usd: usage.costUsd };
      return value;
    };
    let verdict = await judge('validation_primary');
    const primarySays = verdict.verdict === 'supported';
    if (primarySays !== lexicalOk) {
      const second = await judge('validation_secondary');
      reasons.push(`validators disagreed (primary: ${verdict.verdict}, lexical: ${lexicalOk ? 'supported' : 'unsupported'}); secondary: ${second.verdict}`);
      verdict = second;
    }
    if (verdict.verdict !== 'supported') reasons.push(`validator: ${verdict.verdict}${verdict.unsupported_claims.length ? ` (${verdict.unsupported_claims.join('; ')})` : ''}`);
    // A near-verbatim answer is grounded by what it quotes; a paraphrase needs the validators too.
    const grounded = uncited.length === 0 && (verbatim || (lexicalOk ? verdict.verdict !== 'unsupported' : verdict.verdict === 'supported' && lexical >= 0.4));
    if (verbatim && verdict.verdict !== 'supported') reasons.push('grounded by near-verbatim support in the cited sources, over the validator');
    const conf = verdict.confidence / 100;
    const score = +(0.5 * lexical + 0.5 * (verdict.verdict === 'supported' ? conf : verdict.verdict === 'partially_supported' ? 0.5 * conf : 1 - conf)).toFixed(3);
    if (grounded && reasons.length === 0) reasons.push('every sentence is supported by the sources it cites');
    return { grounded, score, reasons, stages };
  };

  return {
    /** Step 1: intent, by the classification alias; rules when the model fails or disagrees with itself. */
    async analyzeIntent(input: { workspaceId: string; question: string; profile: Profile; useModel?: boolean; streamKey?: string }): Promise<{ intent: Intent; by: 'model' | 'rules'; stage: StageInfo }> {
      const r = await classifyIntent(input);
      const stream = queryStreamWriter(redis, input.streamKey);
      stream.send({ type: 'stage', stage: 'intent', intent: r.intent, ms: r.stage.ms });
      await stream.flush();
      return r;
    },

    /** Steps 2–3: planning (entities, sources, dates, clauses) and hybrid retrieval. */
    async retrieveForQuestion(input: { workspaceId: string; question: string; mode: Mode; topK: number; filters: QueryFilters; readableBy?: string | null; streamKey?: string }): Promise<{ chunks: RankedChunk[]; plan: RetrievalPlan; graphPaths: { nodes: string[]; relations: string[] }[]; coverage: { share: number; missing: string[] }; stage: StageInfo; timings: Record<string, number> }> {
      const t = performance.now();
      const r = await retriever.retrieve({ workspaceId: input.workspaceId, question: input.question, mode: input.mode, topK: input.topK, filters: input.filters, readableBy: input.readableBy, withEntities: true });
      const graphPaths = await retriever.graphPaths(input.workspaceId, r.plan.entities);
      const ms = Math.round(performance.now() - t);
      const stream = queryStreamWriter(redis, input.streamKey);
      stream.send({ type: 'stage', stage: 'retrieval', chunks: r.chunks.length, ms });
      await stream.flush();
      return { chunks: r.chunks, plan: r.plan, graphPaths, coverage: coverageOf(input.question, r.chunks), stage: { ms }, timings: r.timings_ms };
    },

    /** Steps 4–5: the sources within the profile's token budget, and the answer with [n] citations. */
    async generateAnswer(input: { workspaceId: string; question: string; intent: Intent; profile: Profile; chunks: RankedChunk[]; streamKey?: string }): Promise<{ sources: ContextSource[]; insufficient: boolean; incompleteFlag: boolean; sentences: { text: string; sources: number[] }[]; repointed: number; deniedYes: boolean; stage: StageInfo; synthesis: StageInfo }> {
      const t0 = performance.now();
      const sources = synthesiseContext(input.question, input.chunks, CONTEXT[input.profile].budget, CONTEXT[input.profile].perSource);
      const synthesis = { ms: Math.round(performance.now() - t0) };
      const alias = chatAlias('synthesis', input.profile);
      const t = performance.now();
      const stream = queryStreamWriter(redis, input.streamKey);
      stream.send({ type: 'stage', stage: 'generation' });
      const draft = draftEvents(stream.send);
      const listing = sources.map((s) => `[${s.n}] ${s.chunk.title}${s.chunk.source ? ` — ${s.chunk.source}` : ''}${s.chunk.published ? `, ${s.chunk.published.slice(0, 10)}` : ''}${s.chunk.page ? `, page ${s.chunk.page}` : ''}\n${s.text}`).join('\n\n');
      const { value, usage } = await llm.chatJson(
        alias,
        answerMessages({ listing, question: input.question, intent: input.intent }),
        AnswerSchema,
        { workspaceId: input.workspaceId, workflowId: wfId(), activity: 'generateAnswer' },
        { maxTokens: ANSWER_MAX_TOKENS, schemaName: 'cited_answer', ...(input.streamKey ? { onText: (text: string) => draft(draftText(text)) } : {}) },
      )
        .catch(invalidOutput)
        .finally(() => stream.flush());
      const valid = new Set(sources.map((s) => s.n));
      const seen = new Set<string>();
      const sentences = value.sentences
        .map((s) => ({ text: s.text.replace(/\s*\[\d+\]/g, '').trim(), sources: [...new Set(s.sources.filter((n) => valid.has(n)))] }))
        // Small models repeat themselves; a sentence said once is enough.
        .filter((s) => s.text.length > 0 && !seen.has(s.text.toLowerCase()) && seen.add(s.text.toLowerCase()));
      const cited = repointCitations(input.question, sentences, sources);
      const checked = correctDeniedYes(input.question, cited.sentences, sources);
      return {
        sources,
        insufficient: sentences.length === 0,
        incompleteFlag: value.insufficient && sentences.length > 0,
        sentences: checked.sentences,
        repointed: cited.repointed,
        deniedYes: checked.corrected,
        stage: { ms: Math.round(performance.now() - t), alias, model: usage.servedBy, tokens: usage.tokensIn + usage.tokensOut, cost_usd: usage.costUsd },
        synthesis,
      };
    },

    /**
     * Step 6: every sentence must be supported by the sources it cites. Lexical support is measured;
     * the primary validator judges; the secondary decides when the two disagree. Sentences not found
     * in their sources are left out when the rest answers the question on its own (see judgeAnswer);
     * `sentences` is the answer that was judged.
     */
    async validateAnswer(input: JudgeInput & { streamKey?: string }): Promise<Judgement> {
      const t = performance.now();
      const stream = queryStreamWriter(redis, input.streamKey);
      stream.send({ type: 'stage', stage: 'validation' });
      const v = await judgeAnswer(input);
      stream.send({ type: 'stage', stage: 'validated', grounded: v.grounded, ms: Math.round(performance.now() - t) });
      await stream.flush();
      return v;
    },

    /** Writes (or completes) the history row; a batch item is written once, whatever retries happen. */
    async recordQuery(input: { queryId: string; workspaceId: string; userId: string | null; question: string; request: unknown; response: AnswerResponse | null; status: 'completed' | 'failed'; error?: string; batchId?: string; batchIndex?: number; cacheKey?: string | null; durationMs: number }): Promise<{ stored: boolean }> {
      const r = await db.query(
        `INSERT INTO queries (id, workspace_id, user_id, question, request, response, status, answer, grounded, workflow_id, batch_id, batch_index, duration_ms, error)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
         ON CONFLICT DO NOTHING RETURNING id`,
        [
          input.queryId, input.workspaceId, input.userId, input.question, JSON.stringify(input.request), input.response ? JSON.stringify(input.response) : null, input.status,
          input.response?.answer ?? null, input.response?.validation.grounded ?? null, input.response?.workflow_id ?? null, input.batchId ?? null, input.batchIndex ?? null, input.durationMs, input.error ?? null,
        ],
      );
      if (input.cacheKey && input.response && input.status === 'completed') await redis.set(input.cacheKey, JSON.stringify(input.response), 'EX', 24 * 3600);
      if (input.batchId) {
        // The item's event, exactly once even across a crash between the insert above and this: a
        // retry finds the row stored and still publishes, unless the marker says it was published.
        // Marker and event are written by one Redis script, so neither exists without the other.
        const status = r.rowCount
          ? input.status
          : ((await db.query(`SELECT status FROM queries WHERE batch_id = $1 AND batch_index = $2`, [input.batchId, input.batchIndex])).rows[0]?.status ?? input.status);
        const event = JSON.stringify({ type: 'batch_item', batch_id: input.batchId, workspace_id: input.workspaceId, user_id: input.userId, index: input.batchIndex, status, at: new Date().toISOString() });
        await redis.eval(PUBLISH_ONCE, 2, `neuronode:batch-item-event:${input.batchId}:${input.batchIndex}`, QUERY_EVENTS_STREAM, 7 * 86_400, 20_000, event);
      }
      return { stored: (r.rowCount ?? 0) > 0 };
    },

    /** A page of a batch's stored questions, in order. */
    async loadBatchQuestions(input: { batchId: string; from: number; to: number }): Promise<string[]> {
      const r = await db.query(`SELECT question FROM query_batch_items WHERE batch_id = $1 AND index >= $2 AND index < $3 ORDER BY index`, [input.batchId, input.from, input.to]);
      return r.rows.map((x) => x.question as string);
    },

    /** Batch bookkeeping: status and totals of a batch, and its events. */
    async recordBatch(input: { batchId: string; workspaceId: string; status: 'running' | 'completed' | 'cancelled' | 'failed'; progress: Record<string, number> }): Promise<void> {
      const owner = await db.query(
        `UPDATE query_batches SET status = $2, progress = $3, finished_at = CASE WHEN $2 = 'running' THEN NULL ELSE now() END WHERE id = $1 RETURNING user_id`,
        [input.batchId, input.status, JSON.stringify(input.progress)],
      );
      // Tagged with its owner: the events reach them and the workspace's administrators only.
      await redis.xadd(QUERY_EVENTS_STREAM, 'MAXLEN', '~', 20_000, '*', 'event', JSON.stringify({ type: 'batch_progress', batch_id: input.batchId, workspace_id: input.workspaceId, user_id: owner.rows[0]?.user_id ?? null, status: input.status, ...input.progress, at: new Date().toISOString() }));
    },
  };
}

/**
 * How much of the question the retrieved text speaks about: the share of the question's content
 * terms found (inflections and the parts of hyphenated compounds included, see termSupport) in the
 * chunks, their titles and sources. Below half, the
 * sources are about something else and no model is asked to answer from them.
 */
export function coverageOf(question: string, chunks: RankedChunk[]): { share: number; missing: string[] } {
  const terms = [...new Set(contentTerms(question))];
  if (terms.length === 0) return { share: 0, missing: [] };
  const text = chunks.map((c) => `${c.title} ${c.source ?? ''} ${c.text}`).join(' ');
  const support = termSupport(terms, text);
  const missing = terms.filter((_, i) => support[i]! < 1);
  return { share: +(support.reduce((a, b) => a + b, 0) / terms.length).toFixed(3), missing };
}

/** Below this share of the question's terms in the retrieved text, the answer is "Insufficient information." */
export const MIN_COVERAGE = 0.5;

/**
 * The longest unit focusSentences keeps or drops whole (a long German sentence is about 60 tokens),
 * and the size of the pieces a longer one is cut into.
 */
const FOCUS_UNIT_TOKENS = 64;
const FOCUS_PIECE_TOKENS = 24;
/** The longest line read as the heading of the unit below it. */
const HEADING_TOKENS = 12;

/**
 * The sentences and lines of `text` that say most of the question's content terms (inflections and
 * compound parts counted, see termSupport), within `room` tokens, in their original order: lines
 * stay lines, " … " marks what was left out. Lines are units of their own, so a configuration block
 * or a list (no full stop anywhere) is cut to its lines that matter instead of dropped whole. A kept
 * unit brings its heading line; units without any of the terms are left out (the room is not filled
 * for its own sake: a CPU model reads every token). Null when not one unit fits.
 */
function focusSentences(text: string, terms: string[], room: number): { text: string; tokens: number } | null {
  const units = textUnits(text, FOCUS_UNIT_TOKENS, FOCUS_PIECE_TOKENS).map((u) => ({ ...u, hits: terms.length ? termSupport(terms, u.s).reduce((a, b) => a + b, 0) : 0, tokens: countTokens(u.s) }));
  const wholeLine = (k: number) => units[k - 1]?.line !== units[k]!.line && units[k + 1]?.line !== units[k]!.line;
  // A unit's heading: the line just before it when that line is short, alone and ends no clause
  // ("Artikel 4" above the article's sentence, a comment above a setting).
  const headOf = (k: number) => (k > 0 && wholeLine(k - 1) && units[k - 1]!.tokens <= HEADING_TOKENS && !/[.,;:{}!?]$/.test(units[k - 1]!.s) ? k - 1 : null);
  const ranked = [...units.keys()].sort((a, b) => units[b]!.hits - units[a]!.hits || a - b);
  const kept = new Set<number>();
  let used = 0;
  // Units that say none of the question's terms only fill a source that says none of them at all
  // (found by meaning, in another language or in other words): then it gives its first units.
  const lexical = units.some((u) => u.hits > 0);
  for (const k of ranked) {
    if (lexical && units[k]!.hits === 0) break;
    if (kept.has(k)) continue;
    const head = headOf(k);
    const withHead = head !== null && !kept.has(head) && used + units[k]!.tokens + units[head]!.tokens <= room;
    const n = units[k]!.tokens + (withHead ? units[head!]!.tokens : 0);
    if (used + n > room) continue;
    kept.add(k);
    if (withHead) kept.add(head!);
    used += n;
  }
  const keep = [...kept].map((k) => units[k]!);
  if (keep.length === 0) return null;
  keep.sort((a, b) => a.i - b.i);
  const joined = keep
    .map((r, k) => {
      if (k === 0) return r.s;
      const prev = keep[k - 1]!;
      const gap = r.i !== prev.i + 1 ? '… ' : '';
      return `${r.line === prev.line ? ' ' : '\n'}${gap}${r.s}`;
    })
    .join('');
  return { text: joined, tokens: used };
}

/** How much of the sources the answer model reads, by profile: in all, and at most per source. */
export const CONTEXT: Record<Profile, { budget: number; perSource: number }> = {
  premium: { budget: 6000, perSource: 1000 },
  balanced: { budget: 4000, perSource: 1000 },
  cost_effective: { budget: 4000, perSource: 1000 },
  fast: { budget: 2500, perSource: 1000 },
  // A CPU reads about 60 prompt tokens a second: the sentences that matter, not whole chunks.
  local: { budget: 900, perSource: 140 },
};

/**
 * Step 4, context synthesis: sources in rank order until the token budget is spent, each reduced to
 * the sentences that share most terms with the question when it is longer than `perSource` tokens (or
 * than the budget left). Instruction-like sentences never reach the model.
 */
export function synthesiseContext(question: string, chunks: RankedChunk[], budget: number, perSource = Infinity): ContextSource[] {
  const terms = [...new Set(contentTerms(question))];
  const out: ContextSource[] = [];
  let used = 0;
  for (const chunk of chunks) {
    const clean = neutraliseInstructions(chunk.text);
    let text = clean.text;
    let tokens = countTokens(text);
    const room = Math.min(perSource, budget - used);
    if (tokens > room) {
      if (room < Math.min(40, perSource)) break;
      const focused = focusSentences(text, terms, room);
      if (!focused) continue;
      ({ text, tokens } = focused);
    }
    used += tokens;
    out.push({ n: out.length + 1, chunk, text, flagged: clean.flagged });
  }
  return out;
}

