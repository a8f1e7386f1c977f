import { parseMetrics as parse } from '../helpers/metrics';
import { api, startSystem, type System } from '../helpers/system';

/** GET /api/metrics: Prometheus text whose counters move when work is done. */
describe('metrics', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem();
  }, 120_000);
  afterAll(async () => {
    await sys?.stop();
  });

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
    // Every store behind the shared metrics was read for this scrape.
    for (const source of ['postgres', 'redis', 'temporal']) expect([source, after.get(`neuronode_metrics_source_up{source="${source}"}`)]).toEqual([source, 1]);
  });

  it('serves activity latency from every worker as a histogram that moves when activities run', async () => {
    const count = (m: Map<string, number>, activity: string) => m.get(`neuronode_activity_duration_seconds_count{activity="${activity}"}`) ?? 0;
    const before = parse((await api(sys.url, '/api/metrics')).text);
    // A retrieval-only query runs the answerQuery workflow and its activities on the worker.
    const r = await api(sys.url, '/api/query/batch', { method: 'POST', json: { questions: ['Which activities ran?'], generate: false } });
    expect(r.status).toBe(202);
    const end = Date.now() + 120_000;
    let after = before;
    while (count(after, 'retrieveForQuestion') <= count(before, 'retrieveForQuestion')) {
      if (Date.now() > end) throw new Error('activity latency did not move');
      await new Promise((res) => setTimeout(res, 1000));
      after = parse((await api(sys.url, '/api/metrics')).text);
    }
    const inf = after.get('neuronode_activity_duration_seconds_bucket{activity="retrieveForQuestion",le="+Inf"}');
    expect(inf).toBe(count(after, 'retrieveForQuestion'));
    expect(after.get('neuronode_activity_duration_seconds_sum{activity="retrieveForQuestion"}')).toBeGreaterThan(0);
    // Buckets are cumulative.
    expect(after.get('neuronode_activity_duration_seconds_bucket{activity="retrieveForQuestion",le="0.1"}')!).toBeLessThanOrEqual(after.get('neuronode_activity_duration_seconds_bucket{activity="retrieveForQuestion",le="10"}')!);
  }, 180_000);
});
