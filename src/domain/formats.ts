/**
 * Format detection from the bytes themselves (magic numbers and content sniffing), never from the
 * file name or the client's MIME type. The name only breaks a tie between text formats that the
 * bytes cannot tell apart (Markdown vs plain text).
 */
export const FORMATS = ['pdf', 'docx', 'pptx', 'xlsx', 'html', 'markdown', 'text', 'csv', 'json', 'email'] as const;
export type Format = (typeof FORMATS)[number];

export const MIME: Record<Format, string> = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  html: 'text/html',
  markdown: 'text/markdown',
  text: 'text/plain',
  csv: 'text/csv',
  json: 'application/json',
  email: 'message/rfc822',
};

export type TextEncoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'latin1';

export interface Detected {
  format: Format;
  mime: string;
  /** For text formats: how the bytes are encoded. */
  encoding?: TextEncoding;
}

/** Why a file was refused; `type` is the ApplicationFailure type the pipeline reports. */
export class UnsupportedFormatError extends Error {
  readonly type = 'UnsupportedFormat';
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedFormatError';
  }
}

const startsWith = (b: Uint8Array, sig: number[], offset = 0) => sig.every((x, i) => b[offset + i] === x);

/** Binary signatures we recognise only to refuse them with a precise reason. */
const KNOWN_UNSUPPORTED: [number[], string][] = [
  [[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], 'legacy Microsoft Office (OLE2: .doc/.xls/.ppt) — save it as .docx/.xlsx/.pptx'],
  [[0x89, 0x50, 0x4e, 0x47], 'PNG image'],
  [[0xff, 0xd8, 0xff], 'JPEG image'],
  [[0x47, 0x49, 0x46, 0x38], 'GIF image'],
  [[0x1f, 0x8b], 'gzip archive'],
  [[0x7f, 0x45, 0x4c, 0x46], 'ELF executable'],
  [[0x4d, 0x5a], 'Windows executable'],
  [[0x52, 0x61, 0x72, 0x21], 'RAR archive'],
  [[0x37, 0x7a, 0xbc, 0xaf], '7-Zip archive'],
  [[0x25, 0x21, 0x50, 0x53], 'PostScript'],
];

/**
 * Detects the format. For ZIP containers, `zipEntries` lists the archive's file names (the caller
 * reads the central directory); OOXML files are told apart by their main part.
 */
export function detectFormat(bytes: Uint8Array, filename: string, zipEntries?: string[]): Detected {
  if (bytes.length === 0) throw new UnsupportedFormatError('the file is empty (0 bytes)');
  if (startsWith(bytes, [0x25, 0x50, 0x44, 0x46, 0x2d])) return { format: 'pdf', mime: MIME.pdf };
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    const names = new Set(zipEntries ?? []);
    if (names.has('word/document.xml')) return { format: 'docx', mime: MIME.docx };
    if (names.has('ppt/presentation.xml')) return { format: 'pptx', mime: MIME.pptx };
    if (names.has('xl/workbook.xml')) return { format: 'xlsx', mime: MIME.xlsx };
    throw new UnsupportedFormatError('a ZIP archive that is not a Word, PowerPoint or Excel document (upload archives as a batch)');
  }
  for (const [sig, what] of KNOWN_UNSUPPORTED) {
    if (startsWith(bytes, sig)) throw new UnsupportedFormatError(`unsupported format: ${what}`);
  }
  const encoding = detectTextEncoding(bytes);
  if (!encoding) throw new UnsupportedFormatError('unsupported binary format (the bytes are neither a known document format nor text)');
  const text = decodeHead(bytes, encoding);
  return { ...sniffText(text, filename), encoding };
}

/**
 * Text encodings: a BOM wins; then valid UTF-8; then UTF-16 without BOM (many NULs at alternating
 * positions); otherwise Latin-1 if the bytes look like text at all (few control characters).
 */
export function detectTextEncoding(bytes: Uint8Array): TextEncoding | null {
  if (startsWith(bytes, [0xef, 0xbb, 0xbf])) return 'utf-8';
  if (startsWith(bytes, [0xff, 0xfe])) return 'utf-16le';
  if (startsWith(bytes, [0xfe, 0xff])) return 'utf-16be';
  const sample = bytes.subarray(0, 64 * 1024);
  let evenNul = 0;
  let oddNul = 0;
  for (let i = 0; i < sample.length; i++) {
    if (sample[i] !== 0) continue;
    if (i % 2) oddNul++;
    else evenNul++;
  }
  const half = sample.length / 2;
  if (oddNul > half * 0.3 && evenNul < half * 0.05) return 'utf-16le';
  if (evenNul > half * 0.3 && oddNul < half * 0.05) return 'utf-16be';
  if (evenNul + oddNul > 0) return null;
  if (isUtf8(sample, sample.length < bytes.length)) return 'utf-8';
  let control = 0;
  for (const b of sample) if (b < 0x09 || (b > 0x0d && b < 0x20) || b === 0x7f) control++;
  return control / sample.length < 0.01 ? 'latin1' : null;
}

function isUtf8(b: Uint8Array, truncated: boolean): boolean {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    let n = 0;
    if (c < 0x80) n = 0;
    else if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) n = 2;
    else if (c >= 0xf0 && c <= 0xf4) n = 3;
    else return false;
    if (i + n >= b.length) return truncated || i + n < b.length; // a sequence cut by the sample end is fine
    for (let k = 1; k <= n; k++) if ((b[i + k]! & 0xc0) !== 0x80) return false;
    i += n + 1;
  }
  return true;
}

export function decodeText(bytes: Uint8Array, encoding: TextEncoding): string {
  const td = new TextDecoder(encoding === 'latin1' ? 'windows-1252' : encoding, { fatal: false });
  return td.decode(bytes).replace(/^\uFEFF/, '');
}

function decodeHead(bytes: Uint8Array, encoding: TextEncoding): string {
  return decodeText(bytes.subarray(0, 64 * 1024), encoding);
}

const EMAIL_HEADER = /^(from|to|subject|date|message-id|received|return-path|mime-version|delivered-to|x-[a-z-]+|reply-to|cc):/i;

function sniffText(text: string, filename: string): { format: Format; mime: string } {
  const head = text.trimStart();
  const lower = head.slice(0, 2048).toLowerCase();
  if (/^<!doctype html|^<html[\s>]|^<head[\s>]|^<body[\s>]/.test(lower) || (/^<\?xml/.test(lower) && lower.includes('<html'))) {
    return { format: 'html', mime: MIME.html };
  }
  if (looksLikeEmail(text)) return { format: 'email', mime: MIME.email };
  if ((head.startsWith('{') || head.startsWith('[')) && isJson(text)) return { format: 'json', mime: MIME.json };
  if (looksLikeCsv(text)) return { format: 'csv', mime: MIME.csv };
  if (/\.(md|markdown)$/i.test(filename) || looksLikeMarkdown(text)) return { format: 'markdown', mime: MIME.markdown };
  if (/<(p|div|table|h[1-6]|span|a)\b[^>]*>/i.test(head.slice(0, 4096)) && /<\/(p|div|table|h[1-6]|span|a)>/i.test(head.slice(0, 8192))) {
    return { format: 'html', mime: MIME.html };
  }
  return { format: 'text', mime: MIME.text };
}

function looksLikeEmail(text: string): boolean {
  const lines = text.split(/\r?\n/, 40);
  let headers = 0;
  for (const line of lines) {
    if (line === '') break;
    if (EMAIL_HEADER.test(line)) headers++;
    else if (!/^[\t ]/.test(line) && !/^[A-Za-z0-9-]+:/.test(line) && !/^From /.test(line)) return false;
  }
  return headers >= 3 && /^(from|subject|date):/im.test(lines.join('\n'));
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch (err) {
    if (err instanceof SyntaxError) return false; // not JSON: the answer sought
    throw err;
  }
}

/**
 * Lines with the same number of separators, whose first line (a header, or the first row) holds cells
 * rather than prose: paragraphs whose sentences happen to hold the same number of commas are text.
 */
function looksLikeCsv(text: string): boolean {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '').slice(0, 20);
  if (lines.length < 2) return false;
  for (const sep of [',', ';', '\t']) {
    const rows = lines.map((l) => fieldsOf(l, sep));
    const width = rows[0]!.length;
    if (width >= 2 && rows.every((r) => r.length === width)) return !rows[0]!.some((f) => !f.quoted && f.text.trim().split(/\s+/).length > MAX_CELL_WORDS);
  }
  return false;
}

/** More words than this in an unquoted field of the first line make it a sentence, not a cell. */
const MAX_CELL_WORDS = 6;

/** The fields of a CSV line, split at separators outside double quotes; a quoted field may hold any text. */
function fieldsOf(line: string, sep: string): { text: string; quoted: boolean }[] {
  const fields: { text: string; quoted: boolean }[] = [];
  let text = '';
  let inQuotes = false;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') {
      inQuotes = !inQuotes;
      quoted = true;
    } else if (ch === sep && !inQuotes) {
      fields.push({ text, quoted });
      text = '';
      quoted = false;
    } else text += ch;
  }
  fields.push({ text, quoted });
  return fields;
}

function looksLikeMarkdown(text: string): boolean {
  const head = text.slice(0, 8192);
  const signals = [/^#{1,6} \S/m, /^\s*[-*+] \S/m, /\[[^\]]+\]\([^)]+\)/, /^```/m, /\*\*[^*]+\*\*/, /^\s*\d+\. \S/m];
  return signals.filter((r) => r.test(head)).length >= 2;
}
