import { Context } from '@temporalio/activity';
import type { z } from 'zod';
import { ASSIGNMENTS_VERSION_KEY, isModelFailure } from '../adapters/llm';
import type { Deps } from '../deps';
import { GOLDEN, GOLDEN_SET_VERSION, type GoldenTask } from '../domain/golden-set';
import { chooseModels, type CandidateScore, type Decision } from '../domain/model-choice';
import { PROFILES } from '../domain/model-aliases';
import { AnswerSchema, ClassificationSchema, ExtractionSchema, VerdictSchema, answerMessages, classificationMessages, extractionMessages, verdictMessages } from '../domain/prompts';

/**
 * The model optimisation's activities: score one candidate model on one task of the golden set
 * with the pipeline's own prompts, choose per profile, record everything, apply.
 */
export interface OptimizationRunInput {
  runId: string;
  candidates: string[];
  tasks: GoldenTask[];
  /** Items per task (the whole golden set when absent). */
  limit?: number;
  /** No choice may score below this on the golden set. */
  floor: number;
  /** Wait for an administrator's decision signal before applying. */
  requireApproval: boolean;
  trigger: 'schedule' | 'admin';
}

/** The stream behind `/ws/models/optimizations`: each step of a run (installation-wide, `workspace_id` `*`). */
export const OPTIMIZATION_EVENTS_STREAM = 'neuronode:events:optimizations';
const OPTIMIZATION_EVENTS_KEPT = 5_000;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
};
const norm = (s: string) => s.toLowerCase().normalize('NFKC');

export function createOptimizeActivities(deps: Deps) {
  const { db, llm, redis } = deps;
  /**
   * Announces a step of a run after it is recorded. A retried activity announces again: an event
   * tells a client to read the run anew, so a repeat changes nothing.
   */
  const announce = async (runId: string, step: 'started' | 'scored' | 'decided' | 'finished', fields: Record<string, unknown>) => {
    const event = { workspace_id: '*', run_id: runId, step, ...fields, at: new Date().toISOString() };
    await redis.xadd(OPTIMIZATION_EVENTS_STREAM, 'MAXLEN', '~', OPTIMIZATION_EVENTS_KEPT, '*', 'event', JSON.stringify(event));
  };

  return {
    async startOptimizationRun(input: OptimizationRunInput): Promise<void> {
      await db.query(
        `INSERT INTO optimization_runs (id, status, trigger, golden_version, candidates, tasks, floor, require_approval)
         VALUES ($1, 'running', $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
        [input.runId, input.trigger, GOLDEN_SET_VERSION, JSON.stringify(input.candidates), JSON.stringify(input.tasks), input.floor, input.requireApproval],
      );
      await announce(input.runId, 'started', { status: 'running' });
    },

    /** Every item of the task through the candidate; a failed or invalid reply scores as wrong. */
    async evaluateCandidate(input: { runId: string; task: GoldenTask; model: string; limit?: number }): Promise<CandidateScore> {
      const ctx = { workflowId: Context.current().info.workflowExecution?.workflowId, activity: 'evaluateCandidate' };
      const latencies: number[] = [];
      let cost = 0;
      let errors = 0;
      const call = async <T>(messages: Parameters<typeof llm.chatJson>[1], schema: z.ZodType<T>, maxTokens: number): Promise<T | null> => {
        try {
          const { value, usage } = await llm.chatJson(input.model, messages, schema, ctx, { maxTokens, temperature: 0 });
          latencies.push(usage.latencyMs);
          cost += usage.costUsd;
          return value;
        } catch (err) {
          // The candidate failed the item (unreachable, refused, invalid output): it scores as wrong.
          if (!isModelFailure(err)) throw err;
          errors++;
          return null;
        }
      };
      const points: number[] = [];
      const take = <T>(items: T[]) => items.slice(0, input.limit ?? items.length);
      if (input.task === 'classification') {
        for (const it of take(GOLDEN.classification)) {
          const v = await call(classificationMessages({ title: '(untitled)', format: 'text', sample: it.text }), ClassificationSchema, 120);
          points.push(v?.document_type === it.document_type ? 1 : 0);
        }
      } else if (input.task === 'extraction') {
        for (const it of take(GOLDEN.extraction)) {
          const v = await call(extractionMessages([it.text]), ExtractionSchema, 900);
          const found = (v?.entities ?? []).map((e) => norm(e.name));
          const hits = it.entities.filter((g) => found.some((f) => f.includes(norm(g)) || norm(g).includes(f)));
          const precision = found.length ? found.filter((f) => it.entities.some((g) => f.includes(norm(g)) || norm(g).includes(f))).length / found.length : 0;
          const recall = hits.length / it.entities.length;
          points.push(precision + recall ? (2 * precision * recall) / (precision + recall) : 0);
        }
      } else if (input.task === 'synthesis') {
        for (const it of take(GOLDEN.synthesis)) {
          const v = await call(answerMessages({ listing: `[1] Source\n${it.context}`, question: it.question, intent: 'factual' }), AnswerSchema, 400);
          const text = norm((v?.sentences ?? []).map((s) => s.text).join(' '));
          const refused = !v || v.insufficient || text.length === 0;
          points.push(it.answer === null ? (v && refused ? 1 : 0) : !refused && it.answer.every((w) => text.includes(norm(w))) ? 1 : 0);
        }
      } else {
        for (const it of take(GOLDEN.validation)) {
          const v = await call(verdictMessages({ sources: `[1] ${it.context}`, question: '(see answer)', answer: `${it.answer} [1]` }), VerdictSchema, 300);
          points.push(v ? ((v.verdict === 'supported') === it.grounded ? 1 : 0) : 0);
        }
      }
      const score: CandidateScore = {
        task: input.task,
        model: input.model,
        quality: points.length ? points.reduce((a, b) => a + b, 0) / points.length : 0,
        p50Ms: median(latencies),
        costUsd: cost,
        items: points.length,
        errors,
      };
      // Keyed by task and model, so a retried activity replaces rather than adds.
      await db.query(`UPDATE optimization_runs SET scores = scores || jsonb_build_object($2::text, $3::jsonb) WHERE id = $1`, [input.runId, `${input.task}|${input.model}`, JSON.stringify(score)]);
      await announce(input.runId, 'scored', { status: 'running', task: input.task, model: input.model, quality: score.quality });
      return score;
    },

    async decideModels(input: { runId: string; scores: CandidateScore[]; floor: number; requireApproval: boolean }): Promise<Decision[]> {
      const decisions = chooseModels(input.scores, PROFILES, input.floor);
      const status = input.requireApproval ? 'awaiting_approval' : 'deciding';
      await db.query(`UPDATE optimization_runs SET decision = $2, status = $3 WHERE id = $1`, [input.runId, JSON.stringify(decisions), status]);
      await announce(input.runId, 'decided', { status });
      return decisions;
    },

    /** The decisions become assignments (source: optimization), effective at once everywhere. */
    async applyDecisions(input: { runId: string; decisions: Decision[] }): Promise<number> {
      let applied = 0;
      for (const d of input.decisions) {
        if (!d.model) continue;
        await db.query(
          `INSERT INTO model_assignments (task, profile, model, source, reason) VALUES ($1, $2, $3, 'optimization', $4)
           ON CONFLICT (task, profile) DO UPDATE SET model = EXCLUDED.model, source = 'optimization', reason = EXCLUDED.reason, updated_by = NULL, updated_at = now()`,
          [d.task, d.profile, d.model, JSON.stringify({ run_id: input.runId, rule: d.rule })],
        );
        applied++;
      }
      await redis.incr(ASSIGNMENTS_VERSION_KEY);
      return applied;
    },

    async finishOptimizationRun(input: { runId: string; status: 'applied' | 'rejected' | 'failed'; note?: string }): Promise<void> {
      await db.query(`UPDATE optimization_runs SET status = $2, note = $3, finished_at = now() WHERE id = $1`, [input.runId, input.status, input.note ?? null]);
      await announce(input.runId, 'finished', { status: input.status });
    },
  };
}
