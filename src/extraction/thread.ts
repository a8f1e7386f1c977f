import type { Detected } from '../domain/formats';
import { extractContent } from './extract';
import { BadDocumentError, type Extracted } from './types';

/** One extraction task: the document's bytes, what it was detected as, its file name. */
export interface ExtractionTask {
  bytes: Uint8Array;
  detected: Detected;
  filename: string;
}

export type ExtractionOutcome = { ok: true; extracted: Extracted } | { ok: false; type: BadDocumentError['type']; message: string };

/**
 * The body of an extraction thread (`src/extraction/sandbox.ts`): a fault of the document comes back
 * as data; anything else ends the task with the thread's error.
 */
export default async function extractTask(task: ExtractionTask): Promise<ExtractionOutcome> {
  try {
    return { ok: true, extracted: await extractContent(Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength), task.detected, task.filename) };
  } catch (err) {
    if (err instanceof BadDocumentError) return { ok: false, type: err.type, message: err.message };
    throw err;
  }
}
