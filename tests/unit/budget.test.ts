import { estimateIngestionCost, nextUtcMidnight } from '../../src/domain/budget';

const price = { input: 1e-6, output: 2e-6 };
const free = { input: 0, output: 0 };
const base = { title: 'Report', format: 'text', prices: { classification: price, extraction: price, embedding: free }, maxOutput: { classification: 120, extraction: 1800 } };
const chunk = (i: number) => `Chunk ${i}: the Varde Harbour Heat project pipes waste heat to ${i * 100} homes in Esbjerg.`;

describe('ingestion cost estimate', () => {
  it('counts one classification and one extraction call per three chunks, with their real prompts', () => {
    const one = estimateIngestionCost({ ...base, chunks: [chunk(1)] });
    const seven = estimateIngestionCost({ ...base, chunks: Array.from({ length: 7 }, (_, i) => chunk(i)) });
    expect(one.calls).toBe(2);
    expect(seven.calls).toBe(1 + 3);
    // Output at the bounds when nothing is on record: 120 + batches × 1800.
    expect(seven.tokens_out).toBe(120 + 3 * 1800);
    expect(seven.basis).toEqual({ classification_out: 'bound', extraction_out: 'bound' });
    expect(seven.cost_usd).toBeCloseTo(seven.tokens_in * 1e-6 + seven.tokens_out * 2e-6, 9);
    expect(seven.tokens_in).toBeGreaterThan(one.tokens_in);
    // The prompts' instructions count too, not only the chunk text.
    expect(one.tokens_in).toBeGreaterThan(one.embedding_tokens * 2);
  });

  it('uses observed output lengths when they are on record, and keeps the bound as the worst case', () => {
    const chunks = Array.from({ length: 4 }, (_, i) => chunk(i));
    const e = estimateIngestionCost({ ...base, chunks, observedOutput: { classification: 30, extraction: 200 } });
    expect(e.basis).toEqual({ classification_out: 'observed', extraction_out: 'observed' });
    expect(e.tokens_out).toBe(30 + 2 * 200);
    expect(e.worst_case_usd).toBeGreaterThan(e.cost_usd);
    expect(e.worst_case_usd).toBeCloseTo(estimateIngestionCost({ ...base, chunks }).cost_usd, 9);
  });

  it('prices embeddings by chunk tokens, and an empty document costs nothing to extract', () => {
    const e = estimateIngestionCost({ ...base, chunks: [], prices: { classification: free, extraction: free, embedding: { input: 1e-6, output: 0 } } });
    expect(e.calls).toBe(1);
    expect(e.cost_usd).toBe(0);
    const withText = estimateIngestionCost({ ...base, chunks: [chunk(1)], prices: { classification: free, extraction: free, embedding: { input: 1e-6, output: 0 } } });
    expect(withText.cost_usd).toBeCloseTo(withText.embedding_tokens * 1e-6, 12);
  });

  it('counts only embeddings for a profile without model calls', () => {
    const chunks = Array.from({ length: 5 }, (_, i) => chunk(i));
    const e = estimateIngestionCost({ ...base, chunks, chatCalls: false, prices: { ...base.prices, embedding: { input: 1e-6, output: 0 } } });
    expect(e).toMatchObject({ calls: 0, tokens_in: 0, tokens_out: 0 });
    expect(e.embedding_tokens).toBeGreaterThan(0);
    expect(e.cost_usd).toBeCloseTo(e.embedding_tokens * 1e-6, 12);
    expect(e.worst_case_usd).toBe(e.cost_usd);
  });

  it('knows when the day’s spend starts again', () => {
    expect(nextUtcMidnight(new Date('2026-11-28T17:25:00Z')).toISOString()).toBe('2026-11-29T00:00:00.000Z');
    expect(nextUtcMidnight(new Date('2026-12-31T23:59:59Z')).toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });
});
