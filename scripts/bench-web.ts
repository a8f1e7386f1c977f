/**
 * First-load JavaScript of the web application's pages: builds it, serves it, and for each page sums
 * the scripts its HTML loads (raw and gzip -9), beside the same figure for the not-found page, the
 * floor every page shares (React, the Next.js router, and our root layout: providers and navigation),
 * measured in the same run. The pages that draw a graph (the graph page, the Cypher page's results)
 * also count the chunk of the drawing (sigma.js, graphology and the layout, split off so that no other
 * page carries them) if their HTML does not already load it: found in the build by a setting name only
 * sigma's code holds.
 * `npm run bench:web` writes bench/results/web-bundle.json (BENCH_OUT to change the name).
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as cheerio from 'cheerio';
import { resultPath, run, writeResult } from './bench-kit';

const WEB = join(__dirname, '..', 'web');
/** Pages and their first-load budgets (gzip KiB). */
const PAGES: Record<string, number> = { '/login': 200, '/documents': 200, '/ask': 200, '/graph': 320, '/cypher': 320 };
/** The pages that draw a graph, and so load the drawing's chunk. */
const DRAWING = new Set(['/graph', '/cypher']);
const FLOOR = '/_not-found';
/** The graph drawing's own chunk holds this sigma.js setting name. */
const SIGMA_MARK = 'labelRenderedSizeThreshold';

async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  return port;
}

run(async () => {
  const out = resultPath(process.env.BENCH_OUT ?? 'web-bundle.json');
  execFileSync('npx', ['next', 'build'], { cwd: WEB, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' } });
  const port = await freePort();
  // The pages' HTML and scripts need no API; an address where none answers is enough.
  const server = spawn(process.execPath, ['server.mjs'], { cwd: WEB, env: { ...process.env, API_URL: 'http://127.0.0.1:9', WEB_PORT: String(port), NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' }, stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const base = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const up = await fetch(`${base}/login`).then(
        (r) => r.ok,
        (err: Error) => (err.name === 'TypeError' ? false : Promise.reject(err)),
      );
      if (up) break;
      if (i > 120 || server.exitCode !== null) throw new Error('the web server did not start');
      await new Promise((r) => setTimeout(r, 250));
    }
    const sizes = new Map<string, { raw: number; gzip: number }>();
    const measure = async (path: string) => {
      const res = await fetch(`${base}${path === FLOOR ? '/no-such-page-for-the-bundle-benchmark' : path}`);
      const $ = cheerio.load(await res.text());
      // What a current browser loads: `nomodule` scripts are for browsers without modules, skipped by the rest.
      const scripts = [...new Set($('script[src]:not([nomodule])').map((_, el) => $(el).attr('src')!).get())];
      let raw = 0;
      let gzip = 0;
      for (const src of scripts) {
        if (!sizes.has(src)) {
          const bytes = Buffer.from(await (await fetch(new URL(src, base))).arrayBuffer());
          sizes.set(src, { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length });
        }
        raw += sizes.get(src)!.raw;
        gzip += sizes.get(src)!.gzip;
      }
      return { scripts: scripts.length, sources: scripts, raw_kib: +(raw / 1024).toFixed(1), gzip_kib: +(gzip / 1024).toFixed(1) };
    };
    const chunksDir = join(WEB, '.next', 'static', 'chunks');
    const sigmaChunks = readdirSync(chunksDir).filter((f) => f.endsWith('.js') && readFileSync(join(chunksDir, f), 'utf8').includes(SIGMA_MARK));
    if (sigmaChunks.length === 0) throw new Error('no chunk of the build holds sigma.js');
    const { sources: _floorSources, ...floor } = await measure(FLOOR);
    const pages: Record<string, object> = {};
    for (const [p, budget] of Object.entries(PAGES)) {
      const { sources, ...m } = await measure(p);
      const inFirstLoad = sources.some((src) => sigmaChunks.some((c) => src.endsWith(`/${c}`)));
      // A drawing page: its first load and then the drawing's chunk. Any other page: sigma must not be in it.
      // (Counted once: a drawing chunk the HTML already loads is in the first-load figure.)
      const lazy = DRAWING.has(p) ? sigmaChunks.filter((c) => !sources.some((src) => src.endsWith(`/${c}`))).map((c) => readFileSync(join(chunksDir, c))) : [];
      const lazyGzip = +(lazy.reduce((n, b) => n + gzipSync(b, { level: 9 }).length, 0) / 1024).toFixed(1);
      const total = +(m.gzip_kib + lazyGzip).toFixed(1);
      pages[p] = { ...m, sigma_in_first_load: inFirstLoad, ...(DRAWING.has(p) ? { drawing_chunk_gzip_kib: lazyGzip, with_drawing_gzip_kib: total } : {}), ours_gzip_kib: +(total - floor.gzip_kib).toFixed(1), budget_gzip_kib: budget, within_budget: total <= budget && (DRAWING.has(p) || !inFirstLoad) };
      console.log(`${p.padEnd(12)} ${String(m.gzip_kib).padStart(6)} KiB gzip${lazy.length ? ` + ${lazyGzip} KiB drawing chunk = ${total} KiB` : ''} (${m.scripts} scripts; sigma in first load: ${inFirstLoad}; shared floor ${floor.gzip_kib} KiB; budget ${budget} KiB)`);
    }
    writeResult(out, { budgets_gzip_kib: PAGES, baseline: { what: 'the not-found page: React, the Next.js router and the root layout (providers, navigation) that every page shares', path: FLOOR, ...floor }, sigma_chunks: sigmaChunks, pages });
  } finally {
    server.kill('SIGTERM');
  }
});
