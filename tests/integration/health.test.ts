import { api, startSystem, type System } from '../helpers/system';
import { stack } from '../helpers/stack';

describe('GET /api/health against the real stack', () => {
  let sys: System;
  beforeAll(async () => {
    sys = await startSystem({ RATE_LIMIT_HEALTH_PER_MIN: 100 });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it('answers 200 with every dependency up and its latency', async () => {
    const res = await api(sys.url, '/api/health');
    expect(res.json.failing).toEqual([]);
    expect(res.status).toBe(200);
    for (const name of ['postgres', 'redis', 'neo4j', 'chroma', 'litellm', 'temporal']) {
      expect(res.json.dependencies[name]).toEqual(expect.objectContaining({ ok: true, latency_ms: expect.any(Number) }));
    }
  });

  it('GET /api/status names each service with its version', async () => {
    const res = await api(sys.url, '/api/status');
    expect(res.status).toBe(200);
    expect(res.json.services.postgres.version).toMatch(/^PostgreSQL 15\./);
    expect(res.json.services.neo4j.version).toMatch(/Neo4j\/5\.26/);
    expect(res.json.services.litellm.version).toMatch(/LiteLLM 1\.83\.14/);
    expect(res.json.services.temporal.state).toBe('up');
    expect(res.json.temporal_ui).toMatch(/:8233$/);
  });

  it('answers 503 naming Chroma while Chroma is stopped, and 200 again once it is back', async () => {
    expect((await stack('stop', 'chroma')).code).toBe(0);
    try {
      const down = await api(sys.url, '/api/health');
      expect(down.status).toBe(503);
      expect(down.json.failing).toEqual(['chroma']);
      expect(down.json.dependencies.chroma.ok).toBe(false);
      expect(down.json.dependencies.chroma.error).toEqual(expect.any(String));
      // Anyone may see that Chroma is down; only an administrator sees why.
      const anon = await api(sys.url, '/api/health', { token: null });
      expect(anon.status).toBe(503);
      expect(anon.json).toEqual({ status: 'unhealthy', failing: ['chroma'] });
      expect(anon.text).not.toContain(down.json.dependencies.chroma.error);
    } finally {
      expect((await stack('start', 'chroma')).code).toBe(0);
    }
    const up = await api(sys.url, '/api/health');
    expect(up.status).toBe(200);
  });

  it('answers 503 naming Redis while Redis is stopped', async () => {
    expect((await stack('stop', 'redis')).code).toBe(0);
    try {
      const down = await api(sys.url, '/api/health');
      expect(down.status).toBe(503);
      expect(down.json.failing).toEqual(['redis']);
    } finally {
      expect((await stack('start', 'redis')).code).toBe(0);
    }
    // ioredis reconnects on its own; give it a moment.
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await api(sys.url, '/api/health')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 250));
    }
    expect(status).toBe(200);
  });

  it('limits health checks per address, each answered by at most one probe of the stores at a time', async () => {
    const burst = await Promise.all(Array.from({ length: 120 }, () => api(sys.url, '/api/health', { token: null })));
    const limited = burst.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThan(0);
    for (const r of burst.filter((x) => x.status === 200)) expect(r.json).toEqual({ status: 'healthy', failing: [] });
  });

  it('answers unknown routes and malformed JSON with the one error shape', async () => {
    const missing = await api(sys.url, '/api/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toEqual({ error: { code: 'not_found', message: expect.any(String) } });
    const bad = await api(sys.url, '/api/system/check', { method: 'POST', body: '{"profile":', headers: { 'content-type': 'application/json' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_json');
    expect(bad.headers.get('x-request-id')).toEqual(expect.any(String));
  });
});
