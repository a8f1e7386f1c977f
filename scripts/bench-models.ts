/**
 * npm run bench:models — speed of the local models through the LiteLLM proxy, as the pipelines see
 * them: chat generation tokens/s for each local chat model and embedding ms per chunk. Medians of
 * several runs; written to bench/results/models.json. Needs the stack (stack/stack.sh up).
 */
import OpenAI from 'openai';
import { parseConfig } from '../src/config';
import { LOCAL_CHAT_MODELS } from '../src/domain/model-aliases';
import { writeResult } from './bench-kit';
import { LANGUAGE_PAIRS } from './language-pairs';

const RUNS = 5;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// A ~200-token English/German paragraph, the size of a typical chunk.
const CHUNK =
  'The Federal Network Agency (Bundesnetzagentur) in Bonn regulates electricity, gas, telecommunications, post and railways. ' +
  'Die Bundesnetzagentur überwacht den Wettbewerb auf den Energiemärkten und genehmigt die Netzentgelte der Betreiber. ' +
  'In 2023 it approved grid expansion plans for high-voltage direct-current lines such as SuedLink, which connects wind farms ' +
  'in Schleswig-Holstein with industrial regions in Bavaria and Baden-Württemberg. Critics argue that the approval process is slow, ' +
  'while operators such as TenneT and TransnetBW point to court challenges and local resistance. ';

async function main() {
  const env = parseConfig(process.env);
  const client = new OpenAI({ baseURL: `${env.LITELLM_URL}/v1`, apiKey: env.LITELLM_MASTER_KEY, timeout: 300_000 });
  const chat: Record<string, unknown> = {};
  for (const model of LOCAL_CHAT_MODELS) {
    const tps: number[] = [];
    const latency: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      const r = await client.chat.completions.create({
        model,
        messages: [{ role: 'user', content: `Summarise in detail, run ${i}: ${CHUNK}` }],
        max_tokens: 128,
        temperature: 0.7,
      });
      const ms = performance.now() - t0;
      const timings = (r as unknown as { timings?: { predicted_per_second?: number } }).timings;
      tps.push(timings?.predicted_per_second ?? (r.usage?.completion_tokens ?? 0) / (ms / 1000));
      latency.push(ms);
    }
    chat[model] = { generation_tokens_per_s_median: +median(tps).toFixed(1), request_ms_median_128_tokens: Math.round(median(latency)) };
    console.log(model, chat[model]);
  }
  const embeddings: Record<string, unknown> = {};
  for (const batch of [1, 32]) {
    const perChunk: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const input = Array.from({ length: batch }, (_, j) => `${j} ${i} ${CHUNK}`);
      const t0 = performance.now();
      await client.embeddings.create({ model: 'text_embedding_3_large', input, encoding_format: 'float' });
      perChunk.push((performance.now() - t0) / batch);
    }
    embeddings[`batch_${batch}`] = { ms_per_chunk_median: +median(perChunk).toFixed(1) };
    console.log(`embeddings batch ${batch}`, embeddings[`batch_${batch}`]);
  }
  // How well the local embedding model separates meaning in German (and across German/English):
  // cosine similarity of paraphrase pairs against unrelated pairs.
  const cos = (a: number[], b: number[]) => a.reduce((s2, x, i) => s2 + x * b[i]!, 0);
  const similarity: Record<string, number> = {};
  for (const [kind, list] of Object.entries(LANGUAGE_PAIRS)) {
    const flat = list.flatMap((p) => [p[0], p[1]]);
    const r = await client.embeddings.create({ model: 'text_embedding_3_large', input: flat, encoding_format: 'float' });
    const v = r.data.sort((a, b) => a.index - b.index).map((d) => d.embedding);
    const sims = list.map((_, i) => cos(v[2 * i]!, v[2 * i + 1]!));
    similarity[`${kind}_mean_cosine`] = +(sims.reduce((a, b) => a + b, 0) / sims.length).toFixed(3);
  }
  console.log('similarity', similarity);

  const out = {
    runs: RUNS,
    chunk_chars: CHUNK.length,
    via: 'LiteLLM proxy → local model server',
    chat,
    embeddings,
    embedding_language_check: similarity,
  };
  writeResult('models.json', out);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
