import { api, startSystem, type System } from '../helpers/system';

/** GET /api/metrics: Prometheus text whose counters move when work is done. */
describe('metrics', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({}, { worker: false });
  }, 120_000);
  afterAll(async () => {
    await sys?.stop();
  });

  /** Parses the exposition format into sample → value (validating every line's shape). */
  function parse(text: string): Map<string, number> {
    const samples = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
      if (!m) throw new Error(`not Prometheus text: ${line}`);
      samples.set(m[1]!, Number(m[2]));
    }
    return samples;
  }

  it('parses as Prometheus text and counts requests by route and status', async () => {
    const r1 = await api(sys.url, '/api/metrics');
    expect(r1.status).toBe(200);
    expect(r1.headers.get('content-type')).toContain('text/plain');
    const before = parse(r1.text);
    const key = 'neuronode_http_request_duration_seconds_count{method="POST",route="/api/retrieve",status="400"}';
    for (let i = 0; i < 3; i++) await api(sys.url, '/api/retrieve', { method: 'POST', json: { question: '' } });
    const after = parse((await api(sys.url, '/api/metrics')).text);
    expect((after.get(key) ?? 0) - (before.get(key) ?? 0)).toBe(3);
    expect([...after.keys()].some((k) => k.startsWith('neuronode_llm_calls_total{'))).toBe(true);
    expect([...after.keys()].some((k) => k.startsWith('neuronode_workflows{'))).toBe(true);
  });
});
