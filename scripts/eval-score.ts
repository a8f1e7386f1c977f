/** MultiHop-RAG retrieval scoring, as the paper's retrieval_evaluate.py defines it. */

const squash = (s: string) => s.replace(/ /g, '').replace(/\n/g, '');

/** The paper's metrics (retrieval_evaluate.py), plus AllFacts@10. */
export function scoreRetrieval(retrieved: string[][], gold: string[][]) {
  let h10 = 0, h4 = 0, all10 = 0;
  const maps: number[] = [];
  const mrrs: number[] = [];
  retrieved.forEach((list, qi) => {
    const g = gold[qi]!.map(squash);
    const r = list.slice(0, 10).map(squash);
    let first: number | null = null;
    let ap = 0;
    const found: string[] = [];
    r.forEach((text, i) => {
      const rank = i + 1;
      if (!g.some((f) => text.includes(f))) return;
      first ??= rank;
      let count = 0;
      for (const f of g) {
        if (text.includes(f) && !found.includes(f)) {
          count++;
          found.push(f);
        }
      }
      ap += count / rank;
    });
    if (first !== null) h10++;
    if (first !== null && first <= 4) h4++;
    if (g.every((f) => r.some((text) => text.includes(f)))) all10++;
    maps.push(ap / Math.min(g.length, 10));
    mrrs.push(first ? 1 / first : 0);
  });
  const n = gold.length || 1;
  const r4 = (x: number) => +x.toFixed(4);
  return { queries: gold.length, 'Hits@4': r4(h4 / n), 'Hits@10': r4(h10 / n), 'MRR@10': r4(mrrs.reduce((a, b) => a + b, 0) / n), 'MAP@10': r4(maps.reduce((a, b) => a + b, 0) / n), 'AllFacts@10': r4(all10 / n) };
}

