import JSZip from 'jszip';
import { BadDocumentError } from './types';

/** An archive that inflates beyond these bounds is refused before anything is decompressed. */
export const MAX_UNCOMPRESSED_BYTES = 300 * 1024 * 1024;
export const MAX_COMPRESSION_RATIO = 200;
export const MAX_ENTRIES = 20_000;

/**
 * Opens a ZIP container (OOXML documents, batch uploads) and checks its declared sizes against the
 * archive-bomb bounds; reading the central directory decompresses nothing.
 */
export async function openZip(bytes: Buffer): Promise<JSZip> {
  let zip: JSZip;
  try {
    zip = await JSZip.loadAsync(bytes, { checkCRC32: false });
  } catch (err) {
    throw new BadDocumentError('CorruptDocument', `the ZIP container is corrupt: ${(err as Error).message}`);
  }
  const entries = Object.values(zip.files);
  if (entries.length > MAX_ENTRIES) throw new BadDocumentError('ArchiveBomb', `the archive holds ${entries.length} entries (limit ${MAX_ENTRIES})`);
  let total = 0;
  for (const e of entries) {
    // JSZip keeps the central directory's declared sizes on the entry.
    const size = (e as unknown as { _data?: { uncompressedSize?: number } })._data?.uncompressedSize ?? 0;
    total += size;
  }
  if (total > MAX_UNCOMPRESSED_BYTES || total > Math.max(bytes.length, 1) * MAX_COMPRESSION_RATIO) {
    throw new BadDocumentError(
      'ArchiveBomb',
      `the archive would inflate to ${total} bytes from ${bytes.length} (limits: ${MAX_UNCOMPRESSED_BYTES} bytes, ratio ${MAX_COMPRESSION_RATIO})`,
    );
  }
  return zip;
}

export async function zipEntryNames(bytes: Buffer): Promise<string[]> {
  const zip = await openZip(bytes);
  return Object.keys(zip.files);
}
