import { Worker } from 'node:worker_threads';
import { extname, join } from 'node:path';
import type { Detected } from '../domain/formats';
import type { ExtractionOutcome, ExtractionTask } from './thread';
import { BadDocumentError, type Extracted } from './types';

/** What one document's extraction may use. */
export interface SandboxLimits {
  /** The extraction thread's heap, in MiB. */
  maxHeapMb: number;
  /** Wall-clock time one document's extraction may take. */
  timeoutMs: number;
}

/** A document its parser cannot handle within the limits: a fault of the document, not of the worker. */
export class ExtractionLimitError extends Error {
  readonly type = 'ExtractionLimit';
  constructor(message: string) {
    super(message);
    this.name = 'ExtractionLimitError';
  }
}

/**
 * Parses documents in a thread with a bounded heap, one document at a time, each within a time limit.
 * A parser that runs out of memory, loops, or throws where no caller can catch it ends the thread,
 * and the document it was parsing fails with the reason: the worker process and the documents
 * beside it carry on (the next document gets a new thread), and a retry cannot turn one document
 * into a crash loop. The thread stays warm between documents (starting one and loading the parsers
 * costs about half a second).
 */
class ExtractionThread {
  private thread?: Worker;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly maxHeapMb: number) {}

  run(task: ExtractionTask, filename: string, detected: Detected, timeoutMs: number): Promise<ExtractionOutcome> {
    const next = this.queue.then(() => this.runNow(task, filename, detected, timeoutMs));
    this.queue = next.then(
      () => undefined,
      () => undefined, // the caller gets the failure; the queue moves on to the next document
    );
    return next;
  }

  private start(): Worker {
    // From the TypeScript sources (tests, development) the thread loads its body through tsx.
    const ts = extname(__filename) === '.ts';
    const body = join(__dirname, `thread${ts ? '.ts' : '.js'}`);
    const thread = new Worker(
      `const { parentPort } = require('node:worker_threads');
       ${ts ? "require('tsx/cjs/api').register();" : ''}
       const extract = require(${JSON.stringify(body)}).default;
       parentPort.on('message', (task) => extract(task).then((outcome) => parentPort.postMessage(outcome)));`,
      {
        eval: true,
        resourceLimits: { maxOldGenerationSizeMb: this.maxHeapMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(8, Math.floor(this.maxHeapMb / 8))) },
        stdout: false,
        stderr: false,
      },
    );
    thread.unref(); // an idle thread keeps no process alive
    return thread;
  }

  private runNow(task: ExtractionTask, filename: string, detected: Detected, timeoutMs: number): Promise<ExtractionOutcome> {
    const thread = (this.thread ??= this.start());
    return new Promise<ExtractionOutcome>((resolve, reject) => {
      const done = (fail?: ExtractionLimitError, outcome?: ExtractionOutcome) => {
        clearTimeout(timer);
        thread.off('message', onMessage).off('error', onError).off('exit', onExit);
        if (fail) {
          // Whatever ended or stopped the thread belongs to this document; the next gets a new thread.
          if (this.thread === thread) this.thread = undefined;
          void thread.terminate();
          reject(fail);
        } else resolve(outcome!);
      };
      const onMessage = (outcome: ExtractionOutcome) => done(undefined, outcome);
      const onError = (err: Error & { code?: string }) =>
        done(
          err.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? new ExtractionLimitError(`extracting ${filename} needed more than ${this.maxHeapMb} MiB and was stopped`)
            : new ExtractionLimitError(`the ${detected.format} parser failed on ${filename}: ${err.message}`),
        );
      const onExit = (code: number) => done(new ExtractionLimitError(`the extraction of ${filename} ended without a result (exit code ${code})`));
      const timer = setTimeout(() => done(new ExtractionLimitError(`extracting ${filename} took longer than ${timeoutMs} ms and was stopped`)), timeoutMs);
      thread.on('message', onMessage).on('error', onError).on('exit', onExit);
      thread.postMessage(task);
    });
  }
}

const threads = new Map<number, ExtractionThread>();

export async function extractInSandbox(bytes: Buffer, detected: Detected, filename: string, limits: SandboxLimits): Promise<Extracted> {
  let thread = threads.get(limits.maxHeapMb);
  if (!thread) threads.set(limits.maxHeapMb, (thread = new ExtractionThread(limits.maxHeapMb)));
  const outcome = await thread.run({ bytes: new Uint8Array(bytes), detected, filename }, filename, detected, limits.timeoutMs);
  if (!outcome.ok) throw new BadDocumentError(outcome.type, outcome.message);
  // Buffers cross the thread boundary as plain Uint8Arrays.
  outcome.extracted.attachments = outcome.extracted.attachments.map((a) => ({ ...a, bytes: Buffer.from(a.bytes) }));
  return outcome.extracted;
}
