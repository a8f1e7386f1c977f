import type { Profile, TaskSlot } from './model-aliases';
import type { GoldenTask } from './golden-set';

/** One candidate's result on one task of the golden set. */
export interface CandidateScore {
  task: GoldenTask;
  model: string;
  /** 0..1, the task's metric (accuracy, entity F1, answer correctness, verdict accuracy). */
  quality: number;
  p50Ms: number;
  costUsd: number;
  items: number;
  errors: number;
}

export interface Decision {
  task: TaskSlot;
  profile: Profile;
  /** null: no candidate reaches the floor; the slot keeps what serves it now. */
  model: string | null;
  rule: string;
  evidence: CandidateScore[];
}

/** Which golden task scores which task slots. */
export const SLOTS_OF: Record<GoldenTask, TaskSlot[]> = {
  classification: ['classification'],
  extraction: ['extraction'],
  synthesis: ['synthesis'],
  validation: ['validation_primary', 'validation_secondary'],
};

/**
 * How each profile chooses among the candidates that reach the quality floor:
 * premium and local — quality first (then latency); balanced — quality per second of latency;
 * cost_effective — cost first (then quality); fast — latency first (then quality).
 */
const RULES: Record<Profile, { rule: string; better: (a: CandidateScore, b: CandidateScore) => number }> = {
  premium: { rule: 'highest quality, then lowest latency', better: (a, b) => b.quality - a.quality || a.p50Ms - b.p50Ms },
  local: { rule: 'highest quality, then lowest latency', better: (a, b) => b.quality - a.quality || a.p50Ms - b.p50Ms },
  balanced: { rule: 'highest quality per second of median latency', better: (a, b) => b.quality / Math.max(b.p50Ms, 1) - a.quality / Math.max(a.p50Ms, 1) || b.quality - a.quality },
  cost_effective: { rule: 'lowest cost, then highest quality', better: (a, b) => a.costUsd - b.costUsd || b.quality - a.quality },
  fast: { rule: 'lowest median latency, then highest quality', better: (a, b) => a.p50Ms - b.p50Ms || b.quality - a.quality },
};

export function chooseModels(scores: CandidateScore[], profiles: readonly Profile[], floor: number): Decision[] {
  const out: Decision[] = [];
  for (const [task, slots] of Object.entries(SLOTS_OF) as [GoldenTask, TaskSlot[]][]) {
    const evidence = scores.filter((s) => s.task === task);
    if (!evidence.length) continue;
    const eligible = evidence.filter((s) => s.quality >= floor);
    for (const profile of profiles) {
      const { rule, better } = RULES[profile];
      const best = [...eligible].sort(better)[0];
      for (const slot of slots) {
        out.push({ task: slot, profile, model: best?.model ?? null, rule: best ? rule : `no candidate reaches the quality floor ${floor}`, evidence });
      }
    }
  }
  return out;
}
