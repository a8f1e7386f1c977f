import type { paths } from '../lib/api-types';

/** The model profiles of the API (its PROFILES), cheapest and nearest first. */
export const MODEL_PROFILES = ['local', 'fast', 'cost_effective', 'balanced', 'premium'] as const;
export type ModelProfile = (typeof MODEL_PROFILES)[number];
/** What a document can be ingested with: no model at all (nlp), or a model profile (the API's INGEST_PROFILES). */
export const INGEST_PROFILES = ['nlp', ...MODEL_PROFILES] as const;
export type IngestProfile = (typeof INGEST_PROFILES)[number];

/** The options of a profile chooser: first "none chosen" (the server's default), then each profile. */
export function ProfileOptions({ profiles, none }: { profiles: readonly string[]; none: string }) {
  return (
    <>
      <option value="">{none}</option>
      {profiles.map((p) => (
        <option key={p} value={p}>
          {p}
        </option>
      ))}
    </>
  );
}

type AssignBody = paths['/api/admin/models/assign']['post']['requestBody'] extends { content: { 'application/json': infer B } } ? B : never;
type OptimizeBody = paths['/api/admin/models/optimize']['post']['requestBody'] extends { content: { 'application/json': infer B } } ? B : never;
/** The model slots an administrator assigns models to (the API's TASKS). */
export const TASK_SLOTS = ['classification', 'extraction', 'synthesis', 'validation_primary', 'validation_secondary'] as const;
/** The tasks an optimisation run scores on the golden set (the API's GOLDEN_TASKS). */
export const GOLDEN_TASKS = ['classification', 'extraction', 'synthesis', 'validation'] as const;

/** Compiles only when both lists hold the same names: a task or profile the API adds breaks the web build here. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const complete: [Same<(typeof TASK_SLOTS)[number], AssignBody['task']>, Same<ModelProfile, AssignBody['profile']>, Same<(typeof GOLDEN_TASKS)[number], NonNullable<OptimizeBody['tasks']>[number]>] = [true, true, true];
void complete;
