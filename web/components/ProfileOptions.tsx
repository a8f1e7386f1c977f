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
