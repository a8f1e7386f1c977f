import { ingest } from '../helpers/documents';
import { startSystem, type System } from '../helpers/system';

/**
 * A document whose parser needs more than the extraction thread may use fails alone: the worker that
 * ran it carries on with the next document. Here the thread's heap is a small 96 MiB (loading the
 * parsers takes about 50), so a 12 MB text of four million paragraphs is enough; in the default
 * configuration the limit is 512 MiB.
 */
jest.setTimeout(600_000);

let sys: System;
beforeAll(async () => {
  sys = await startSystem({ EXTRACT_MAX_HEAP_MB: 96, EXTRACT_TIMEOUT_MS: 60_000, MAX_UPLOAD_BYTES: 16 * 1024 * 1024, MAX_REQUEST_BYTES: 16 * 1024 * 1024 });
});
afterAll(async () => {
  await sys?.stop();
});

it('fails a document whose parser runs out of memory, and the worker ingests the next one', async () => {
  const run = Date.now().toString(36);
  const heavy = await ingest(sys.url, `heavy-${run}.txt`, Buffer.from(`Heavy ${run}\n\n${'a\n\n'.repeat(4_000_000)}`));
  expect(heavy.status).toBe('failed');
  expect(heavy.error).toMatchObject({ type: 'ExtractionLimit', stage: 'extract', message: expect.stringMatching(/needed more than 96 MiB/) });
  const next = await ingest(sys.url, `after-${run}.txt`, Buffer.from(`Ilka Vennemann ran the Oderbruch mill after the heavy page. ${run}`));
  expect(next.status).toBe('completed');
});
