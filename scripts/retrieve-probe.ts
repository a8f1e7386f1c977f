import { parseConfig } from '../src/config';
import { closeDeps, createDeps } from '../src/deps';
import { createRetriever } from '../src/retrieval/retrieve';
async function main() {
  const deps = await createDeps(parseConfig(process.env), { temporal: false });
  const r = createRetriever(deps);
  for (const mode of ['keyword', 'vector', 'graph', 'hybrid'] as const) {
    const t = performance.now();
    const res = await r.retrieve({ workspaceId: process.argv[3] ?? 'eval-multihop', question: process.argv[2]!, mode, topK: 5 });
    console.log(mode, Math.round(performance.now() - t), 'ms', JSON.stringify(res.timings_ms));
    if (mode === 'hybrid') console.log(JSON.stringify({ ...res.plan }).slice(0, 1500));
    for (const c of res.chunks) console.log('  ', c.score, JSON.stringify(c.ranks), c.source, '|', c.title.slice(0, 60), '|', c.text.slice(0, 80));
  }
  await closeDeps(deps);
}
main().catch((e) => { console.error(e); process.exit(1); });
