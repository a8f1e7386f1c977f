import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { BadDocumentError } from './types';

/**
 * ZIP containers (OOXML documents, batch uploads), read with yauzl and bounded by the bytes actually
 * inflated: sizes an archive declares are never trusted (yauzl also refuses an entry that inflates to
 * more than it declared). Inflation stops the moment a budget is spent.
 */
export const MAX_ENTRIES = 20_000;
/** One document inflates to at most this many bytes. */
export const MAX_INFLATED_BYTES = 300 * 1024 * 1024;
/** …and to at most this many times its own size. */
export const MAX_COMPRESSION_RATIO = 200;

/** Bytes that may still be inflated, shared by every archive of one document or one request. */
export class InflationBudget {
  private spent = 0;
  constructor(
    readonly limit: number,
    readonly what: string,
  ) {}

  /** The budget for one document of `size` bytes. */
  static forDocument(size: number): InflationBudget {
    return new InflationBudget(Math.min(MAX_INFLATED_BYTES, Math.max(size, 1) * MAX_COMPRESSION_RATIO), 'the document');
  }

  take(bytes: number): void {
    this.spent += bytes;
    if (this.spent > this.limit) {
      throw new BadDocumentError('ArchiveBomb', `${this.what}: more than ${this.limit} bytes inflated (${this.spent} before it was stopped)`);
    }
  }

  get inflated(): number {
    return this.spent;
  }
}

function openZipFile(bytes: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) =>
    yauzl.fromBuffer(bytes, { lazyEntries: true, validateEntrySizes: true, strictFileNames: false }, (err, zip) =>
      err ? reject(new BadDocumentError('CorruptDocument', `the ZIP container is corrupt: ${err.message}`)) : resolve(zip),
    ),
  );
}

/** Inflates one entry, counting every chunk against the budget (and a per-entry limit). */
function inflate(zip: ZipFile, entry: Entry, budget: InflationBudget, maxEntryBytes: number, keep: boolean): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    zip.openReadStream(entry, (err, stream) => {
      if (err) return reject(new BadDocumentError('CorruptDocument', `${entry.fileName} in the archive cannot be read: ${err.message}`));
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        try {
          if (size > maxEntryBytes) throw new BadDocumentError('ArchiveBomb', `${entry.fileName} in the archive inflates to more than ${maxEntryBytes} bytes`);
          budget.take(chunk.length);
        } catch (limit) {
          stream.destroy();
          return reject(limit);
        }
        if (keep) chunks.push(chunk);
      });
      stream.on('error', (e: Error) => {
        if (e instanceof BadDocumentError) return reject(e);
        // yauzl stops an entry that inflates past the size it declared: a bomb that lies about its size.
        if (/too many bytes/i.test(e.message)) return reject(new BadDocumentError('ArchiveBomb', `${entry.fileName} in the archive inflates to more than the ${entry.uncompressedSize} bytes it declares`));
        reject(new BadDocumentError('CorruptDocument', `${entry.fileName} in the archive cannot be read: ${e.message}`));
      });
      stream.on('end', () => resolve(keep ? Buffer.concat(chunks) : null));
    });
  });
}

export interface ReadZipOptions {
  /** Entries whose bytes are returned. */
  keep: (name: string) => boolean;
  /** Inflate (and count) every entry, kept or not: the check before another library inflates the archive. */
  inflateAll?: boolean;
  /** No single entry may inflate to more. @default the budget's limit */
  maxEntryBytes?: number;
}

/**
 * Visits an archive's entries in order, one at a time (the next is read once the visit settles),
 * after refusing archives with too many entries.
 */
async function eachEntry(bytes: Buffer, visit: (zip: ZipFile, entry: Entry) => Promise<void> | void): Promise<void> {
  const zip = await openZipFile(bytes);
  try {
    if (zip.entryCount > MAX_ENTRIES) throw new BadDocumentError('ArchiveBomb', `the archive holds ${zip.entryCount} entries (limit ${MAX_ENTRIES})`);
    await new Promise<void>((resolve, reject) => {
      zip.on('error', (e: Error) => reject(new BadDocumentError('CorruptDocument', `the ZIP container is corrupt: ${e.message}`)));
      zip.on('end', () => resolve());
      zip.on('entry', (entry: Entry) => {
        Promise.resolve(visit(zip, entry)).then(() => zip.readEntry(), reject);
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}

/** Reads an archive's files (folders skipped) in order, within the budget; returns the kept ones. */
export async function readZip(bytes: Buffer, budget: InflationBudget, opts: ReadZipOptions): Promise<Map<string, Buffer>> {
  const kept = new Map<string, Buffer>();
  await eachEntry(bytes, async (zip, entry) => {
    if (entry.fileName.endsWith('/')) return;
    const keep = opts.keep(entry.fileName);
    if (!keep && !opts.inflateAll) return;
    const data = await inflate(zip, entry, budget, opts.maxEntryBytes ?? budget.limit, keep);
    if (data) kept.set(entry.fileName, data);
  });
  return kept;
}

/** The archive's entry names from its central directory (nothing is inflated). */
export async function zipEntryNames(bytes: Buffer): Promise<string[]> {
  const names: string[] = [];
  await eachEntry(bytes, (_zip, entry) => void names.push(entry.fileName));
  return names;
}
