import { encode } from 'gpt-tokenizer';

/**
 * Structure-aware, token-bounded chunking with overlap. Token counts come from a real BPE tokenizer
 * (gpt-tokenizer, o200k), which is close to what the hosted models count and a safe upper bound for
 * the local ones. A chunk never spans two pages (so every chunk can cite its page); it keeps the
 * heading it sits under, and the line breaks of the extracted text (sentences of one line are joined
 * by a space).
 */
export interface ChunkInput {
  text: string;
  page?: number;
  heading?: string;
}

export interface Chunk {
  position: number;
  text: string;
  tokens: number;
  page?: number;
  section?: string;
}

export interface ChunkOptions {
  /** @default 220 — the benchmark's comparisons are made at ≤ 256-token chunks */
  maxTokens?: number;
  /** @default 30 tokens of trailing sentences repeated at the start of the next chunk */
  overlapTokens?: number;
}

export const countTokens = (text: string): number => encode(text).length;

/** Sentence split of one line of German or English prose: end punctuation, then space and a capital or digit. */
export function splitSentences(line: string): string[] {
  return line
    .split(/(?<=[.!?…])\s+(?=["'„“(]?[A-ZÄÖÜ0-9])/)
    .map((s) => s.trim())
    .filter(Boolean);
}

export function chunkSections(sections: ChunkInput[], opts: ChunkOptions = {}): Chunk[] {
  const max = opts.maxTokens ?? 220;
  const overlap = Math.min(opts.overlapTokens ?? 30, Math.floor(max / 3));
  const chunks: Chunk[] = [];
  /** `lineStart`: the piece begins a line of the extracted text, and the chunk keeps that break. */
  let current: { text: string; tokens: number; lineStart: boolean }[] = [];
  let currentTokens = 0;
  let page: number | undefined;
  let section: string | undefined;

  const flush = (keepOverlap: boolean) => {
    if (current.length === 0) return;
    const text = current.map((s, i) => `${i === 0 ? '' : s.lineStart ? '\n' : ' '}${s.text}`).join('');
    chunks.push({ position: chunks.length, text, tokens: countTokens(text), page, section });
    if (!keepOverlap) {
      current = [];
      currentTokens = 0;
      return;
    }
    const tail: typeof current = [];
    let t = 0;
    for (let i = current.length - 1; i > 0; i--) {
      if (t + current[i]!.tokens > overlap) break;
      tail.unshift(current[i]!);
      t += current[i]!.tokens;
    }
    current = tail;
    currentTokens = t;
  };

  for (const s of sections) {
    if (s.page !== page) {
      flush(false);
      page = s.page;
    }
    if (s.heading !== section && currentTokens > max / 2) flush(false);
    section = s.heading ?? section;
    // Line by line: a configuration block, a table or a list keeps its lines in the chunk, so what
    // reads the chunk later (the answer context's focus, a person) sees one entry per line.
    for (const line of s.text.split(/\n+/)) {
      splitSentences(line).forEach((sentence, si) => {
        splitLong(sentence, max).forEach((piece, pi) => {
          const tokens = countTokens(piece);
          if (currentTokens + tokens > max) flush(true);
          // The overlap itself may not leave room for the piece: then start clean.
          if (currentTokens + tokens > max) flush(false);
          current.push({ text: piece, tokens, lineStart: si === 0 && pi === 0 });
          currentTokens += tokens + 1;
        });
      });
    }
  }
  flush(false);
  return chunks;
}

/** A sentence longer than the budget is cut at token boundaries (word-aligned where possible). */
function splitLong(sentence: string, max: number): string[] {
  if (countTokens(sentence) <= max) return [sentence];
  const words = sentence.split(/\s+/);
  const out: string[] = [];
  let cur: string[] = [];
  for (const w of words) {
    const next = [...cur, w].join(' ');
    if (cur.length > 0 && countTokens(next) > max) {
      out.push(cur.join(' '));
      cur = [w];
    } else {
      cur.push(w);
    }
    // A single "word" over the budget (a base64 blob, a URL list) is cut by characters.
    if (cur.length === 1 && countTokens(w) > max) {
      for (let i = 0; i < w.length; i += max * 2) out.push(w.slice(i, i + max * 2));
      cur = [];
    }
  }
  if (cur.length) out.push(cur.join(' '));
  return out;
}
