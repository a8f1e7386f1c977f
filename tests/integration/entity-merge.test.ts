import { closeDeps, createDeps, type Deps } from '../../src/deps';
import { EMBEDDING_FOR, entityMergeSimilarity } from '../../src/domain/model-aliases';
import { stackEnv } from '../helpers/stack';

/**
 * The threshold at which entity resolution merges two same-type entities, against the embedding model
 * the local default serves (through LiteLLM): no two different entities merge, and most spellings of
 * one entity do. Not merging is the safe side; a false merge joins two entities' graphs for good.
 */
const SAME: [string, string][] = [
  ['Stadtwerke Ulmbach GmbH', 'Stadtwerke Ulmbach'],
  ['OpenAI Inc.', 'OpenAI'],
  ['Deutsche Bahn AG', 'Deutsche Bahn'],
  ['Sam Altman', 'Samuel Altman'],
  ['Federal Reserve', 'the Federal Reserve'],
  ['Bundesnetzagentur', 'Die Bundesnetzagentur'],
  ['Microsoft Corp.', 'Microsoft Corporation'],
  ['Elon Musk', 'Musk'],
  ['European Central Bank', 'European Central Bank (ECB)'],
  ['Dr. Henrike Solberg', 'Henrike Solberg'],
];
const DIFFERENT: [string, string][] = [
  ['Stadtwerke Ulmbach', 'Stadtwerke Kessenich'],
  ['Sam Altman', 'Sam Bankman-Fried'],
  ['Google', 'Microsoft'],
  ['Berlin', 'Bern'],
  ['Apple Inc.', 'Apple Records'],
  ['Deutsche Bahn', 'Deutsche Bank'],
  ['European Central Bank', 'European Commission'],
  ['Elon Musk', 'Jeff Bezos'],
  ['Federal Reserve', 'Bank of England'],
  ['Henrike Solberg', 'Henrike Sollberg-Meyer'],
  ['Nvidia', 'AMD'],
  ['Tesla', 'Toyota'],
  ['Ulmbach', 'Ulm'],
  ['Anna Schmidt', 'Anna Schneider'],
];

let deps: Deps;
beforeAll(async () => {
  deps = await createDeps(stackEnv(), { temporal: false });
});
afterAll(async () => {
  await closeDeps(deps);
});

it('merges most spellings of one entity and never two different entities', async () => {
  const { llm } = deps;
  const cosines = async (pairs: [string, string][]) => {
    const { vectors, model } = await llm.embed(EMBEDDING_FOR.entities, pairs.flat());
    return { model, values: pairs.map((_, i) => vectors[2 * i]!.reduce((s, x, k) => s + x * vectors[2 * i + 1]![k]!, 0)) };
  };
  const same = await cosines(SAME);
  const different = await cosines(DIFFERENT);
  const threshold = entityMergeSimilarity(same.model);
  console.log(`${same.model}: threshold ${threshold}; same ${same.values.map((v) => v.toFixed(3)).join(' ')}; different ${different.values.map((v) => v.toFixed(3)).join(' ')}`);
  expect(different.values.filter((v) => v >= threshold)).toEqual([]);
  expect(same.values.filter((v) => v >= threshold).length).toBeGreaterThanOrEqual(8);
});
