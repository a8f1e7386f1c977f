import { api } from './system';

/** Parses Prometheus text into sample → value (validating every line's shape). */
export function parseMetrics(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    // Label values are quoted strings and may hold braces (route="/api/documents/{id}").
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

/** GET /api/metrics as the test's administrator, parsed. */
export async function scrape(url: string): Promise<Map<string, number>> {
  const r = await api(url, '/api/metrics');
  if (r.status !== 200) throw new Error(`GET /api/metrics: ${r.status}`);
  return parseMetrics(r.text);
}

/** Activities a worker completed, over every activity type. */
export function completedBy(m: Map<string, number>, worker: string): number {
  let n = 0;
  for (const [k, v] of m) if (k.startsWith('neuronode_worker_activities_total{') && k.includes(`worker="${worker}"`) && k.includes('outcome="completed"')) n += v;
  return n;
}
