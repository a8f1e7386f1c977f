import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { readQuestions, runBatch } from './batch';
import { ingestFiles, expandPaths } from './ingest';
import { messages } from './messages';
import { ApiCallError, DEFAULT_URL, NotLoggedInError, clearSession, loadSession, login, requireSession } from './session';

/**
 * `neuronode`: the command-line client of the REST API and its WebSockets. Every command takes
 * `--json` for scripts; progress bars only on a terminal. Exit codes: 0 done, 1 a document or
 * question failed, 2 a usage or API error, 3 not logged in, 4 a document waits for a budget decision.
 */
const t = messages();
const out = (json: boolean, value: unknown, human: () => void) => (json ? console.log(JSON.stringify(value, null, 2)) : human());

async function ask(question: string, hidden = false): Promise<string> {
  if (!process.stdin.isTTY) throw new Error(t.needCredentials);
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try {
    if (hidden) {
      // Echo nothing of the password.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.includes(question)) process.stderr.write(question);
      };
    }
    const answer = await rl.question(question);
    if (hidden) process.stderr.write('\n');
    return answer;
  } finally {
    rl.close();
  }
}

async function credentials(opts: { email?: string }): Promise<{ email: string; password: string }> {
  const email = opts.email ?? process.env.NEURONODE_EMAIL ?? (await ask(t.promptEmail));
  const password = process.env.NEURONODE_PASSWORD ?? (await ask(t.promptPassword, true));
  if (!email || !password) throw new Error(t.needCredentials);
  return { email, password };
}

/** The repository's scripts beside this command: src/cli in a checkout, dist/src/cli in a build. */
const SCRIPTS = [resolve(__dirname, '..', '..', 'scripts'), resolve(__dirname, '..', '..', '..', 'scripts')].find((d) => existsSync(join(d, 'backup.sh')));

/** Runs one of the installation's scripts on this host, its output passed through; its exit code is the command's. */
function runScript(name: string, args: string[]): number {
  if (!SCRIPTS) throw new Error(`${name} is not beside this command: run it from a checkout of the repository`);
  const r = spawnSync('bash', [join(SCRIPTS, name), ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.error) throw r.error;
  return r.status ?? 1;
}

export function program(): Command {
  const cli = new Command('neuronode').description('Neuronode from the command line: ingest documents, ask questions, manage them').option('--json', 'machine-readable output');
  const json = () => cli.opts().json === true;

  cli
    .command('login')
    .description('log in (e-mail and password from --email, NEURONODE_EMAIL/NEURONODE_PASSWORD or a prompt)')
    .option('--url <url>', 'the API', process.env.NEURONODE_URL ?? loadSession()?.url ?? DEFAULT_URL)
    .option('--email <email>')
    .option('--workspace <id>')
    .action(async (o: { url: string; email?: string; workspace?: string }) => {
      const c = await credentials(o);
      const s = await login(o.url.replace(/\/$/, ''), c.email, c.password, o.workspace);
      out(json(), { logged_in: true, url: s.url, email: s.email, workspace_id: s.workspace_id }, () => console.log(t.loggedIn(s.email, s.workspace_id)));
    });

  cli
    .command('logout')
    .description('revoke the session and forget it')
    .action(async () => {
      const api = requireSession();
      const s = loadSession()!;
      await api.json('/api/auth/logout', { method: 'POST', body_json: { refresh_token: s.refresh_token } });
      clearSession();
      out(json(), { logged_out: true }, () => console.log(t.loggedOut));
    });

  cli
    .command('status')
    .description('who is logged in where, and the health of the system')
    .action(async () => {
      const api = requireSession();
      const me = await api.json<{ email: string; role: string; workspace_id: string }>('/api/auth/me');
      const health = await fetch(`${api.url}/api/health`);
      const h = (await health.json()) as { status: string };
      out(json(), { url: api.url, ...me, health: h.status }, () => {
        console.log(t.status(api.url, me.email, me.role, me.workspace_id));
        console.log(t.health(h.status));
      });
    });

  cli
    .command('workspace')
    .description('switch the workspace (logs in again into it)')
    .command('use <id>')
    .action(async (id: string) => {
      const s = loadSession();
      if (!s) throw new NotLoggedInError();
      const c = await credentials({ email: s.email });
      const n = await login(s.url, c.email, c.password, id);
      out(json(), { workspace_id: n.workspace_id }, () => console.log(t.loggedIn(n.email, n.workspace_id)));
    });

  cli
    .command('ingest <paths...>')
    .description('upload files and folders (recursively) and follow each document to the end')
    .option('--profile <profile>', 'ingestion profile (e.g. nlp, local)')
    .option('--visibility <visibility>', 'organisation or private')
    .option('--wait-approval', 'wait at the budget gate for an administrator\'s decision instead of stopping there (exit code 4)')
    .action(async (paths: string[], o: { profile?: string; visibility?: string; waitApproval?: boolean }) => {
      const api = requireSession();
      const files = expandPaths(paths);
      if (!files.length) throw new Error(t.noFiles);
      const results = await ingestFiles(api, files, { ...o, bars: !json() && process.stderr.isTTY === true, log: (l) => console.error(l) });
      const count = (o: string) => results.filter((r) => r.outcome === o).length;
      const failed = results.filter((r) => r.outcome === 'failed');
      const waiting = count('awaiting_approval');
      out(json(), { results, ingested: count('ingested'), duplicates: count('duplicate'), failed: failed.length, awaiting_approval: waiting }, () => {
        console.table(results.map((r) => ({ file: r.name, outcome: r.outcome, chunks: r.chunks, entities: r.entities, document: r.document_id })));
        for (const f of failed) console.log(t.failedDoc(f.file, f.error ?? f.status));
        console.log(t.summary(count('ingested'), count('duplicate'), failed.length, waiting));
        if (waiting) console.log(t.awaiting(waiting));
      });
      if (failed.length) process.exitCode = 1;
      else if (waiting) process.exitCode = 4;
    });

  cli
    .command('ask [question]')
    .description('ask a question (the answer streams, then its numbered sources), or a file of them with --batch')
    .option('--profile <profile>')
    .option('--batch <file>', 'questions from a file: .csv (a "question" column, or the first), .txt (one a line) or .jsonl ({"question": …})')
    .option('--out <file>', 'with --batch: where the results go, as JSON Lines ("-": standard output)', '-')
    .option('--retrieval-only', 'with --batch: ranked passages only, no answers written by a model')
    .action(async (question: string | undefined, o: { profile?: string; batch?: string; out: string; retrievalOnly?: boolean }) => {
      if (!!question === !!o.batch) throw new Error(t.batchOrQuestion);
      const api = requireSession();
      if (o.batch) {
        const questions = readQuestions(o.batch);
        if (!questions.length) throw new Error(t.noQuestions);
        const r = await runBatch(api, questions, {
          out: o.out,
          profile: o.profile,
          generate: !o.retrievalOnly,
          bar: !json() && process.stderr.isTTY === true,
          onStart: (id) => (json() ? undefined : console.error(t.batchStarted(id, questions.length))),
        });
        // With the results on standard output, the summary goes to standard error.
        const say = o.out === '-' ? console.error : console.log;
        if (json()) say(JSON.stringify(r, null, 2));
        else say(t.batchDone(r.status, r.completed, r.failed, o.out === '-' ? 'stdout' : o.out));
        if (r.failed || r.status !== 'completed') process.exitCode = 1;
        return;
      }
      question = question!;
      const res = await api.fetch('/api/query', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ question, stream: true, ...(o.profile ? { profile: o.profile } : {}) }) });
      const decoder = new TextDecoder();
      let buffer = '';
      type Answer = { answer: string; citations: { n: number; title: string; page: number | null; snippet: string }[]; validation: { grounded: boolean } };
      const got: { answer: Answer | null; failure: string | null } = { answer: null, failure: null };
      const streaming = !json() && process.stdout.isTTY === true;
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(part, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as Record<string, unknown>;
          if (event === 'stage' && streaming) process.stderr.write(`· ${String(data.stage)}\n`);
          else if (event === 'token' && streaming) process.stdout.write(String(data.text));
          else if (event === 'reset' && streaming) process.stdout.write(`\n${String(data.text)}`);
          else if (event === 'answer') got.answer = data as unknown as Answer;
          else if (event === 'error') got.failure = ((data.error as { message?: string }) ?? {}).message ?? 'the question failed';
        }
      }
      if (got.failure || !got.answer) throw new Error(got.failure ?? 'the answer stream ended without an answer');
      const a = got.answer;
      out(json(), a, () => {
        if (streaming) process.stdout.write('\n\n');
        const refused = a.citations.length === 0 && /insufficient information/i.test(a.answer);
        console.log(refused ? t.insufficient : a.answer);
        if (!refused) console.log(`(${t.grounded(a.validation.grounded)})`);
        if (a.citations.length) {
          console.log(t.sources);
          for (const c of a.citations) console.log(`  [${c.n}] ${c.title}${c.page ? `, p. ${c.page}` : ''} — ${c.snippet.replace(/\s+/g, ' ').slice(0, 160)}`);
        }
      });
    });

  const docs = cli.command('docs').description('the documents of the workspace');
  docs
    .command('ls')
    .option('--status <status>')
    .option('--limit <n>', 'how many', '50')
    .action(async (o: { status?: string; limit: string }) => {
      const api = requireSession();
      const q = new URLSearchParams({ limit: o.limit, ...(o.status ? { status: o.status } : {}) });
      const r = await api.json<{ documents: { id: string; filename: string; status: string; stage: string; counts: Record<string, number> }[] }>(`/api/documents?${q}`);
      out(json(), r, () => (r.documents.length ? console.table(r.documents.map((d) => ({ id: d.id, file: d.filename, status: d.status, chunks: d.counts?.chunks ?? null }))) : console.log(t.noDocuments)));
    });
  docs.command('show <id>').action(async (id: string) => {
    const d = await requireSession().json(`/api/documents/${id}`);
    out(json(), d, () => console.log(JSON.stringify(d, null, 2)));
  });
  docs.command('rm <id>').action(async (id: string) => {
    const r = await requireSession().json(`/api/documents/${id}?wait=true`, { method: 'DELETE' });
    out(json(), r, () => console.log(t.deleted(id)));
  });
  docs
    .command('reprocess <id>')
    .option('--profile <profile>')
    .action(async (id: string, o: { profile?: string }) => {
      const r = await requireSession().json(`/api/documents/${id}/reprocess`, { method: 'POST', body_json: o.profile ? { profile: o.profile } : {} });
      out(json(), r, () => console.log(t.reprocessing(id)));
    });
  cli
    .command('retrieve <question>')
    .description('the ranked passages for a question, without an answer')
    .option('--top-k <n>', 'how many', '8')
    .option('--mode <mode>', 'hybrid, vector, keyword or graph', 'hybrid')
    .action(async (question: string, o: { topK: string; mode: string }) => {
      const r = await requireSession().json<{ chunks: { chunk_id: string; document_id: string; title: string; page: number | null; text: string; score: number }[] }>('/api/retrieve', {
        method: 'POST',
        body_json: { question, top_k: Number(o.topK), mode: o.mode },
      });
      out(json(), r, () => {
        if (!r.chunks.length) console.log(t.noChunks);
        for (const [i, c] of r.chunks.entries()) console.log(`[${i + 1}] ${c.title}${c.page ? `, p. ${c.page}` : ''} (${c.score.toFixed(3)}) — ${c.text.replace(/\s+/g, ' ').slice(0, 200)}`);
      });
    });

  const budget = cli
    .command('budget')
    .description("the workspace's model budget and the ingestions waiting for a decision (administrators)")
    .action(async () => {
      type Waiting = { document_id: string; filename: string; budget: { estimate?: { cost_usd?: number } } | null };
      const b = await requireSession().json<{ approval_above_usd: number | null; daily_limit_usd: number | null; spent_today_usd: number; awaiting_approval: Waiting[] }>('/api/admin/budget');
      const usd = (v: number | null | undefined) => (v === null || v === undefined ? t.none : `$${v.toFixed(4)}`);
      out(json(), b, () => {
        console.log(t.budgetLine(usd(b.approval_above_usd), usd(b.daily_limit_usd), usd(b.spent_today_usd)));
        if (!b.awaiting_approval.length) return console.log(t.nothingWaiting);
        console.log(t.waitingHead);
        for (const w of b.awaiting_approval) console.log(`  ${w.document_id}  ${w.filename}  ~${usd(w.budget?.estimate?.cost_usd)}`);
      });
    });
  for (const [name, approve] of [['approve', true], ['reject', false]] as const) {
    budget
      .command(`${name} <ids...>`)
      .description(`${name} ingestions waiting for a budget decision: document ids (doc_…) or ingestion batch ids`)
      .option('--reason <text>')
      .action(async (ids: string[], o: { reason?: string }) => {
        const api = requireSession();
        const decided = [];
        for (const id of ids) {
          const path = id.startsWith('doc_') ? `/api/documents/${encodeURIComponent(id)}/budget-decision` : `/api/documents/batch/${encodeURIComponent(id)}/budget-decision`;
          decided.push(await api.json(path, { method: 'POST', body_json: { approve, ...(o.reason ? { reason: o.reason } : {}) } }));
          if (!json()) console.log(t.decided(id, approve));
        }
        if (json()) console.log(JSON.stringify({ decided }, null, 2));
      });
  }

  cli
    .command('graph')
    .description('the knowledge graph')
    .command('entity <name>')
    .description('an entity found by name: its type, aliases, the documents that mention it and what it is related to')
    .action(async (name: string) => {
      const api = requireSession();
      type Summary = { id: string; name: string; type: string; aliases: string[] | null; mentions: number };
      const found = await api.json<{ entities: Summary[] }>(`/api/graph/entities?${new URLSearchParams({ q: name, limit: '10' })}`);
      // The exact name (or alias) first, otherwise the best match the search ranked first.
      const norm = (x: string) => x.toLocaleLowerCase();
      const hit = found.entities.find((e) => norm(e.name) === norm(name) || (e.aliases ?? []).some((a) => norm(a) === norm(name))) ?? found.entities[0];
      if (!hit) {
        process.exitCode = 1;
        return out(json(), { entity: null, matches: [] }, () => console.log(t.noEntity(name)));
      }
      const e = await api.json<{ id: string; name: string; type: string; aliases?: string[] | null; mentions: { document_id: string; chunk_id: string; snippet: string }[]; neighbours: { name: string; type: string; relation: string }[] }>(`/api/graph/entities/${encodeURIComponent(hit.id)}`);
      const others = found.entities.filter((x) => x.id !== hit.id);
      out(json(), { entity: e, matches: others }, () => {
        console.log(`${e.name} (${e.type})${e.aliases?.length ? ` — ${e.aliases.join(', ')}` : ''}`);
        if (e.mentions.length) console.log(t.mentions);
        for (const m of e.mentions.slice(0, 20)) console.log(`  ${m.document_id}: ${m.snippet.replace(/\s+/g, ' ').slice(0, 160)}`);
        if (e.neighbours.length) console.log(t.related);
        for (const n of e.neighbours.slice(0, 30)) console.log(`  ${n.relation} → ${n.name} (${n.type})`);
        if (others.length) console.log(`${t.alsoMatching} ${others.map((x) => x.name).join(', ')}`);
      });
    });
  // The embedded default's backup and restore: the installation's own scripts, run on the host it lives on.
  const admin = cli.command('admin').description('operate the embedded installation on this host');
  admin
    .command('backup')
    .description('a consistent snapshot of every store (waits for running work, stops the services for about a minute, starts them again)')
    .option('--out <file>', 'the archive to write (default: ./neuronode-backup-<UTC time>.tar.gz)')
    .action((o: { out?: string }) => {
      const archive = resolve(o.out ?? `neuronode-backup-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}.tar.gz`);
      const code = runScript('backup.sh', ['--out', archive]);
      process.exitCode = code;
      if (json()) console.log(JSON.stringify({ archive: code === 0 ? archive : null, exit_code: code }, null, 2));
    });
  admin
    .command('restore <archive>')
    .description('restore a backup into the empty data folder of a fresh install (refused, with nothing written, when anything does not check out)')
    .action((archive: string) => {
      const code = runScript('restore.sh', [resolve(archive)]);
      process.exitCode = code;
      if (json()) console.log(JSON.stringify({ restored: code === 0, exit_code: code }, null, 2));
    });
  return cli;
}

export async function main(argv = process.argv): Promise<void> {
  const cli = program();
  try {
    await cli.parseAsync(argv);
  } catch (err) {
    if (err instanceof NotLoggedInError) {
      console.error(t.notLoggedIn);
      process.exitCode = 3;
    } else if (err instanceof ApiCallError) {
      console.error(t.error(`${err.message} (${err.status} ${err.code})`));
      process.exitCode = 2;
    } else {
      console.error(t.error((err as Error).message));
      process.exitCode = 2;
    }
  }
}

if (require.main === module) void main();
