import type { ChildProcess } from 'node:child_process';
import { checkConsistency } from '../../src/consistency';
import { freshUpload, waitForDocument } from '../helpers/documents';
import { multihopCorpus } from '../helpers/fixtures';
import { startSystem, type System } from '../helpers/system';
import { stopChild } from '../helpers/teardown';
import { startWorkerProcess, workerIdentity } from '../helpers/worker';

/**
 * A deploy's SIGTERM in the middle of an activity: the worker stops taking work, lets the running
 * activity finish, and exits cleanly; another worker carries the document on. Nothing runs twice and
 * the three stores agree on the document. (The embedding activity does not observe cancellation, so
 * it finishes whatever the grace: a grace of 0 gave the same result.)
 */
describe('a worker stopped with SIGTERM mid-activity drains', () => {
  let sys: System;
  let workers: ChildProcess[] = [];
  /** Long enough that embedding it takes seconds: the signal lands while it runs. */
  const text = multihopCorpus()
    .slice(60, 66)
    .map((a) => `${a.title}\n\n${a.body}`)
    .join('\n\n');

  beforeAll(async () => {
    sys = await startSystem({}, { worker: false });
  });

  afterAll(async () => {
    for (const w of workers) await stopChild(w, 'SIGKILL');
    await sys?.stop();
  });

  it('finishes the running activity on the stopped worker (attempt 1, completed), exits 0, and the document completes on the next worker, consistent across the stores', async () => {
    const first = await startWorkerProcess({ WORKER_SHUTDOWN_GRACE_MS: '120000' });
    workers.push(first);
    const firstId = workerIdentity(first);
    const docId = await freshUpload(sys.url, `drain-${Date.now()}.txt`, Buffer.from(text));
    const workflowId = (await sys.deps.db.query(`SELECT workflow_id FROM documents WHERE id = $1`, [docId])).rows[0].workflow_id as string;
    const handle = sys.deps.temporal!.workflow.getHandle(workflowId);

    // Wait until the embedding activity runs on the first worker, then stop that worker as a deploy would.
    const end = Date.now() + 240_000;
    let running: { activityId?: string | null } | undefined;
    while (!running) {
      if (Date.now() > end) throw new Error('the embedding activity never started on the first worker');
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      running = pending.find((a) => a.activityType?.name === 'embedAndIndexDocument' && a.lastStartedTime && a.lastWorkerIdentity === firstId);
      if (!running) await new Promise((r) => setTimeout(r, 100));
    }
    const activityId = running.activityId!;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => first.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    const signalled = Date.now();
    first.kill('SIGTERM');
    // The next worker starts while the first drains (it no longer polls for new work).
    const second = await startWorkerProcess();
    workers.push(second);
    const stopped = await exited;
    workers = workers.filter((w) => w !== first);
    console.log(`worker ${firstId} exited ${stopped.code ?? stopped.signal} ${stopped.at - signalled} ms after SIGTERM`);
    expect(stopped).toMatchObject({ code: 0, signal: null });

    const doc = await waitForDocument(sys.url, docId, 300_000);
    expect(doc.status).toBe('completed');

    // The history: the activity that ran at the signal was started once, by the first worker, and completed.
    const { events } = await handle.fetchHistory();
    const scheduled = events!.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId)!;
    const started = events!.filter((e) => e.activityTaskStartedEventAttributes && String(e.activityTaskStartedEventAttributes.scheduledEventId) === String(scheduled.eventId));
    expect(started.map((e) => [e.activityTaskStartedEventAttributes!.identity, e.activityTaskStartedEventAttributes!.attempt])).toEqual([[firstId, 1]]);
    const outcome = events!.filter((e) => {
      const a = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes ?? e.activityTaskCanceledEventAttributes;
      return a && String(a.scheduledEventId) === String(scheduled.eventId);
    });
    expect(outcome.map((e) => !!e.activityTaskCompletedEventAttributes)).toEqual([true]);
    // Later activities of the document ran on the second worker, each once.
    const secondId = workerIdentity(second);
    const after = events!.filter((e) => e.activityTaskStartedEventAttributes && Number(e.eventId) > Number(outcome[0]!.eventId));
    expect(after.length).toBeGreaterThan(0);
    expect(after.map((e) => [e.activityTaskStartedEventAttributes!.identity, e.activityTaskStartedEventAttributes!.attempt])).toEqual(after.map(() => [secondId, 1]));

    // The stores agree on the document: as many vectors and graph chunks as chunk rows.
    const chunks = (await sys.deps.db.query(`SELECT count(*)::int AS n FROM chunks WHERE document_id = $1`, [docId])).rows[0].n as number;
    expect(chunks).toBeGreaterThan(5);
    const workspace = (await sys.deps.db.query(`SELECT workspace_id FROM documents WHERE id = $1`, [docId])).rows[0].workspace_id as string;
    const report = await checkConsistency(sys.deps, { workspace });
    expect(report.mismatched.filter((m) => m.id === docId)).toEqual([]);
    expect(report.orphaned.filter((o) => o.document_id === docId)).toEqual([]);
    expect(report.abandoned.filter((a) => a.id === docId)).toEqual([]);
  });
});
