import { deu, eng, removeStopwords } from 'stopword';

/**
 * Query planning without a model: the question's content terms (stop words of German and English
 * removed), the sources and dates it names, and its sub-questions — the clauses a multi-hop question
 * joins, each of which needs its own evidence. Pure functions, shared by the API, the workflow's
 * activities and the evaluation.
 */

export const MODES = ['vector', 'keyword', 'graph', 'hybrid'] as const;
export type Mode = (typeof MODES)[number];

export const INTENTS = ['factual', 'comparison', 'temporal', 'aggregation', 'exploratory', 'inference'] as const;
export type Intent = (typeof INTENTS)[number];

const EXTRA_STOP = [
  // Question scaffolding that says nothing about the content.
  'article', 'articles', 'report', 'reported', 'reports', 'according', 'published', 'mentioned', 'mention', 'mentions', 'states',
  'stated', 'suggests', 'suggest', 'claim', 'claims', 'does', 'did', 'is', 'was', 'which', 'who', 'what', 'whose', 'whom',
  'artikel', 'bericht', 'laut', 'welche', 'welcher', 'welches', 'wer', 'was', 'wie',
];

const WORD = /[\p{L}\p{N}][\p{L}\p{N}'’.-]*[\p{L}\p{N}]|[\p{L}\p{N}]/gu;

export function words(text: string): string[] {
  return (text.match(WORD) ?? []).map((w) => w.replace(/[’']s$/i, ''));
}

/** Lower-case content words of a text: both languages' stop words and question scaffolding removed. */
export function contentTerms(text: string): string[] {
  const lower = words(text).map((w) => w.toLowerCase());
  return removeStopwords(removeStopwords(lower, eng), [...deu, ...EXTRA_STOP]).filter((w) => w.length > 1 || /\d/.test(w));
}

/** A Lucene query over the chunk full-text index: each term escaped, OR-ed, scoped to a workspace. */
export function luceneQuery(terms: string[], workspaceId: string): string | null {
  const escaped = [...new Set(terms)].map((t) => t.replace(/[+\-&|!(){}[\]^"~*?:\\/]/g, (c) => `\\${c}`)).filter(Boolean);
  if (escaped.length === 0) return null;
  return `+workspace_id:"${workspaceId.replace(/["\\]/g, '')}" +(${escaped.slice(0, 64).join(' ')})`;
}

const MONTHS: Record<string, number> = {
  january: 1, february: 2, march: 3, april: 4, may: 5, june: 6, july: 7, august: 8, september: 9, october: 10, november: 11, december: 12,
  januar: 1, februar: 2, märz: 3, maerz: 3, mai: 5, juni: 6, juli: 7, oktober: 10, dezember: 12,
};

export interface DateMention {
  /** YYYY-MM-DD */
  date: string;
  index: number;
}

/** "December 5, 2023", "5. Dezember 2023", "2023-12-05". */
export function spotDates(text: string): DateMention[] {
  const out: DateMention[] = [];
  const pad = (n: number) => String(n).padStart(2, '0');
  const add = (y: number, m: number, d: number, index: number) => {
    if (m >= 1 && m <= 12 && d >= 1 && d <= 31) out.push({ date: `${y}-${pad(m)}-${pad(d)}`, index });
  };
  for (const m of text.matchAll(/\b([A-Za-zäÄ]+)\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})\b/g)) {
    const month = MONTHS[m[1]!.toLowerCase()];
    if (month) add(Number(m[3]), month, Number(m[2]), m.index);
  }
  for (const m of text.matchAll(/\b(\d{1,2})\.?\s+([A-Za-zäÄ]+)\s+(\d{4})\b/g)) {
    const month = MONTHS[m[2]!.toLowerCase()];
    if (month) add(Number(m[3]), month, Number(m[1]), m.index);
  }
  for (const m of text.matchAll(/\b(\d{4})-(\d{2})-(\d{2})\b/g)) add(Number(m[1]), Number(m[2]), Number(m[3]), m.index);
  return out.sort((a, b) => a.index - b.index);
}

export interface SourceMention {
  source: string;
  index: number;
}

/**
 * The sources of the workspace (publishers, senders, authors' organisations) that the question
 * names. A source "Name | Tagline" is also recognised by its name alone.
 */
export function spotSources(question: string, sources: string[]): SourceMention[] {
  const q = question.toLowerCase();
  const found: SourceMention[] = [];
  for (const s of sources) {
    const names = [...new Set([s, s.split(/\s+[|–-]\s+/)[0]!])].map((n) => n.trim().toLowerCase()).filter((n) => n.length >= 3);
    let best = -1;
    for (const n of names) {
      const re = new RegExp(`(^|[^\\p{L}\\p{N}])${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\p{L}\\p{N}])`, 'u');
      const m = re.exec(q);
      if (m && (best < 0 || m.index < best)) best = m.index;
    }
    if (best >= 0) found.push({ source: s, index: best });
  }
  // A source whose name lies inside a longer named source at the same place is the same mention.
  return found
    .filter((f) => !found.some((g) => g !== f && g.source.length > f.source.length && g.source.toLowerCase().includes(f.source.toLowerCase()) && Math.abs(g.index - f.index) < 3))
    .sort((a, b) => a.index - b.index);
}

export interface SubQuestion {
  text: string;
  /** Retrieval inside these sources only (empty = everywhere). */
  sources: string[];
  /** Publication day (YYYY-MM-DD) when the clause names one. */
  date?: string;
}

const CLAUSE_BREAK = /,?\s+(?:while|whereas|and|but|compared to|in contrast to|as opposed to|after|before|then|während|wohingegen|und|aber|nachdem|bevor)\s+(?=(?:the|a|an|der|die|das|ein|eine)?\s*['"‘“]?[\p{Lu}\d])/gu;

/**
 * The clauses a multi-hop question joins. A question that names several sources splits at each
 * source mention (each clause keeps what lies between it and the next mention); otherwise it splits
 * at conjunctions followed by a named thing. The whole question is always the first sub-question.
 */
export function decompose(question: string, sources: SourceMention[], dates: DateMention[]): SubQuestion[] {
  const whole: SubQuestion = { text: question, sources: [] };
  const subs: SubQuestion[] = [];
  if (sources.length >= 2 || (sources.length === 1 && dates.length >= 2)) {
    // Cut points: every source mention, and every date mention that is not near the previous cut.
    const cuts = [...sources.map((s) => ({ index: s.index, source: s.source })), ...dates.map((d) => ({ index: d.index, source: undefined as string | undefined }))].sort(
      (a, b) => a.index - b.index,
    );
    const merged: { index: number; source?: string }[] = [];
    for (const c of cuts) {
      const last = merged[merged.length - 1];
      if (last && c.index - last.index < 60 && (!last.source || !c.source)) {
        last.source ??= c.source;
      } else merged.push({ ...c });
    }
    let currentSource = sources[0]!.source;
    for (let i = 0; i < merged.length; i++) {
      const start = i === 0 ? 0 : clauseStart(question, merged[i]!.index);
      const end = i + 1 < merged.length ? clauseStart(question, merged[i + 1]!.index) : question.length;
      const text = question.slice(start, end).trim();
      if (merged[i]!.source) currentSource = merged[i]!.source!;
      const date = dates.find((d) => d.index >= start && d.index < end)?.date;
      if (contentTerms(text).length >= 2) subs.push({ text, sources: [currentSource], ...(date ? { date } : {}) });
    }
  } else {
    const parts = question.split(CLAUSE_BREAK).map((p) => p.trim()).filter((p) => contentTerms(p).length >= 3);
    if (parts.length >= 2) for (const p of parts) subs.push({ text: p, sources: sources.map((s) => s.source) });
  }
  if (sources.length === 1 && subs.length === 0) whole.sources = [sources[0]!.source];
  return [whole, ...subs.slice(0, 5)];
}

/** The start of the clause a mention belongs to: back to the previous comma, conjunction or start. */
function clauseStart(q: string, index: number): number {
  const before = q.slice(0, index);
  const m = [...before.matchAll(/,|;|\bwhile\b|\bwhereas\b|\band\b|\bbut\b|\bin contrast\b|\bwährend\b|\bund\b/gi)].pop();
  return m ? m.index + m[0].length : 0;
}

/** Rule-based intent, the floor under (and fallback for) the model's classification. */
export function intentByRules(question: string): Intent {
  const q = question.toLowerCase();
  if (/\b(before|after|between|change|changed|since|earlier|later|vorher|nachher|seit|verändert|änderung)\b/.test(q) && spotDates(question).length + (q.match(/\b(19|20)\d{2}\b/g)?.length ?? 0) > 0) return 'temporal';
  if (/\b(compare|comparison|versus|vs\.?|in contrast|whereas|while|both|differ|vergleich|unterschied|während|beide)\b/.test(q)) return 'comparison';
  if (/\b(how many|count|total|sum|average|list all|wie viele|anzahl|summe|durchschnitt)\b/.test(q)) return 'aggregation';
  if (/^(who|what|which|when|where|wer|was|welche[rs]?|wann|wo)\b/.test(q) && q.length > 140) return 'inference';
  if (/^(who|what|which|when|where|is|are|does|did|wer|was|welche[rs]?|wann|wo|ist|sind)\b/.test(q)) return 'factual';
  return 'exploratory';
}

/** Reciprocal rank fusion of ranked id lists (Cormack et al.): score = Σ w / (k + rank). */
export function reciprocalRankFusion(lists: { ids: string[]; weight?: number }[], k = 60): Map<string, number> {
  const scores = new Map<string, number>();
  for (const l of lists) {
    l.ids.forEach((id, i) => scores.set(id, (scores.get(id) ?? 0) + (l.weight ?? 1) / (k + i + 1)));
  }
  return scores;
}

/**
 * How much of a sentence's content the evidence contains: the share of its content terms found in
 * the evidence text (prefix match, so inflections of German and English words count).
 */
export function lexicalSupport(sentence: string, evidence: string): number {
  const terms = [...new Set(contentTerms(sentence))];
  if (terms.length === 0) return 1;
  const ev = new Set(contentTerms(evidence));
  // Every prefix (4 characters or more) of an evidence word: a term matches one whose stem it shares.
  const prefixes = new Set<string>();
  for (const w of ev) for (let n = 4; n <= w.length; n++) prefixes.add(w.slice(0, n));
  const hit = terms.filter((t) => ev.has(t) || (t.length >= 4 && prefixes.has(t.slice(0, Math.max(4, t.length - 2)))));
  return hit.length / terms.length;
}

export const INSUFFICIENT = 'Insufficient information.';
