import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { SingleBar, Presets } from 'cli-progress';
import { parse as parseCsv } from 'csv-parse/sync';
import WebSocket from 'ws';
import { questionsOf } from '../../web/lib/questions';
import type { Api } from './session';

/**
 * The questions of a file: CSV by its `question` column (or its first column when no header names
 * one), and text or JSON Lines as the web application's batch page reads them.
 */
export function readQuestions(path: string): string[] {
  const text = readFileSync(path, 'utf8');
  if (!/\.csv$/i.test(path)) return questionsOf(basename(path), text);
  const rows = parseCsv(text, { skip_empty_lines: true, trim: true, relax_column_count: true, bom: true }) as string[][];
  if (!rows.length) return [];
  const header = rows[0]!.map((h) => h.toLowerCase());
  const col = header.indexOf('question');
  const body = col >= 0 ? rows.slice(1) : rows;
  return body.map((r) => r[Math.max(col, 0)] ?? '').filter((q) => q.length > 0);
}

export interface BatchOutcome {
  batch_id: string;
  status: string;
  total: number;
  completed: number;
  failed: number;
  out: string;
}

interface BatchState {
  status: string;
  total: number;
  progress: { completed?: number; failed?: number };
}

/**
 * Starts a batch-query workflow, follows it (events on /ws/queries/batch, a status poll backing them
 * up) with a progress bar on a terminal, and writes its results as JSON Lines to `out` (or standard
 * output for "-"), one line per question in the file's order.
 */
export async function runBatch(
  api: Api,
  questions: string[],
  opts: { out: string; profile?: string; generate: boolean; bar: boolean; onStart: (id: string) => void; timeoutMs?: number },
): Promise<BatchOutcome> {
  const started = await api.json<{ batch_id: string; total: number }>('/api/query/batch', {
    method: 'POST',
    body_json: { questions, generate: opts.generate, ...(opts.profile ? { profile: opts.profile } : {}) },
  });
  const id = started.batch_id;
  opts.onStart(id);
  const bar = opts.bar ? new SingleBar({ format: ' {bar} {value}/{total} questions | {failed} failed', hideCursor: true, stream: process.stderr }, Presets.shades_classic) : null;
  bar?.start(started.total, 0, { failed: 0 });

  let state: BatchState = { status: 'running', total: started.total, progress: {} };
  const refresh = async () => {
    state = await api.json<BatchState>(`/api/query/batch/${id}`);
    bar?.update((state.progress.completed ?? 0) + (state.progress.failed ?? 0), { failed: state.progress.failed ?? 0 });
  };
  const ws = new WebSocket(`${api.url.replace(/^http/, 'ws')}/ws/queries/batch?batch_id=${encodeURIComponent(id)}`, { headers: { authorization: `Bearer ${api.token}` } });
  let pending: Promise<void> | null = null;
  ws.on('message', () => {
    // Each event says something moved; the batch's record says how far.
    pending ??= refresh().finally(() => (pending = null));
  });
  ws.on('error', (err) => {
    // The poll below carries on without the events.
    if (!opts.bar) process.stderr.write(`(live progress unavailable: ${err.message})\n`);
  });
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? 6 * 3_600_000);
    await refresh();
    while (state.status === 'running') {
      if (Date.now() > deadline) throw new Error(`batch ${id} still running when the time ran out`);
      await new Promise((r) => setTimeout(r, 2000));
      await (pending ?? refresh());
    }
  } finally {
    ws.close();
    bar?.stop();
  }
  const res = await api.fetch(`/api/query/batch/${id}/results?format=jsonl&limit=10000`);
  const body = await res.text();
  if (opts.out === '-') process.stdout.write(body);
  else writeFileSync(opts.out, body);
  return { batch_id: id, status: state.status, total: state.total, completed: state.progress.completed ?? 0, failed: state.progress.failed ?? 0, out: opts.out };
}
