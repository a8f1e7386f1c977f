import { CircuitBreakers, CircuitOpenError } from '../../src/adapters/circuit';

describe('circuit breaker per alias', () => {
  let t = 0;
  const cb = () => new CircuitBreakers({ failureThreshold: 3, coolDownMs: 1000, maxCoolDownMs: 4000, now: () => t });
  beforeEach(() => (t = 0));

  it('opens after consecutive failures, fails fast, lets one trial through, and closes on its success', () => {
    const c = cb();
    for (let i = 0; i < 3; i++) {
      c.before('a');
      c.failure('a');
    }
    expect(() => c.before('a')).toThrow(CircuitOpenError);
    expect(c.snapshot().a!.state).toBe('open');
    c.before('b'); // other aliases are unaffected
    t = 1000;
    c.before('a'); // the trial
    expect(() => c.before('a')).toThrow(CircuitOpenError); // only one at a time
    c.success('a');
    expect(c.snapshot().a!.state).toBe('closed');
    c.before('a');
  });

  it('doubles the cool-down when the trial fails, up to the limit; a success resets the count', () => {
    const c = cb();
    for (let i = 0; i < 3; i++) c.failure('a');
    for (const coolDown of [2000, 4000, 4000]) {
      t += 1000_000;
      c.before('a');
      c.failure('a');
      expect(c.snapshot().a!.retry_in_ms).toBe(coolDown);
    }
    const d = cb();
    d.failure('x');
    d.failure('x');
    d.success('x');
    d.failure('x');
    d.failure('x');
    d.before('x'); // two failures since the success: still closed
  });
});

describe('fallback chain', () => {
  it("follows the profile's fallback order for the same task slot, and none for local or embeddings", async () => {
    const { fallbacksOf } = await import('../../src/adapters/llm');
    expect(fallbacksOf('synthesis_premium')).toEqual(['synthesis_balanced', 'synthesis_local']);
    expect(fallbacksOf('validation_secondary_fast')).toEqual(['validation_secondary_cost_effective', 'validation_secondary_local']);
    expect(fallbacksOf('extraction_local')).toEqual([]);
    expect(fallbacksOf('text_embedding_3_large')).toEqual([]);
  });
});
