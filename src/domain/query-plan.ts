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

/**
 * Identifiers a question names, as the full-text index stores them: the index's tokenizer keeps
 * `refresh_token_expire_days` or `user_management` as one word, while the question's words split them
 * ("Refresh-Token", "user_management" → refresh, token, user, management) and would never match it.
 * Each word joined by `_` or `-` becomes one lower-case prefix with `_` between its parts.
 */
export function identifierPrefixes(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(/[\p{L}\p{N}]+(?:[_-][\p{L}\p{N}]+)+/gu)) out.add(m[0].toLowerCase().replace(/-/g, '_'));
  return [...out];
}

/**
 * A Lucene query over the chunk full-text index: each term escaped, OR-ed, scoped to a workspace;
 * identifier prefixes (see identifierPrefixes) OR-ed in as prefix queries.
 */
export function luceneQuery(terms: string[], workspaceId: string, prefixes: string[] = []): string | null {
  const escape = (t: string) => t.replace(/[+\-&|!(){}[\]^"~*?:\\/]/g, (c) => `\\${c}`);
  const escaped = [...new Set(terms)].map(escape).filter(Boolean);
  const wild = [...new Set(prefixes)].map(escape).filter(Boolean).map((p) => `${p}*`);
  const all = [...escaped.slice(0, 64), ...wild.slice(0, 8)];
  if (all.length === 0) return null;
  return `+workspace_id:"${workspaceId.replace(/["\\]/g, '')}" +(${all.join(' ')})`;
}

/** The keyword query of a question: its content terms and the identifiers it names. */
export function keywordQuery(text: string, workspaceId: string): string | null {
  return luceneQuery(contentTerms(text), workspaceId, identifierPrefixes(text));
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
      if (m && (best < 0 || m.index + m[1]!.length < best)) best = m.index + m[1]!.length;
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

const CLAUSE_BREAK = /[,;:?]|\s(?:while|whereas|but|and|before|after|then|compared to|in contrast to|as opposed to|während|wohingegen|aber|und|bevor|nachdem|im gegensatz zu)\s/giu;

interface Clause {
  text: string;
  start: number;
  end: number;
}

/** The question cut at punctuation and joining words. */
export function clauses(question: string): Clause[] {
  const out: Clause[] = [];
  let last = 0;
  for (const m of question.matchAll(CLAUSE_BREAK)) {
    out.push({ text: question.slice(last, m.index), start: last, end: m.index });
    last = m.index + m[0].length;
  }
  out.push({ text: question.slice(last), start: last, end: question.length });
  return out.filter((c) => c.text.trim().length > 0);
}

/**
 * The sub-questions of a multi-hop question. Each source the question names gets one: the clause
 * that names it, widened to the clause before it when it says little of its own ("…, as reported by
 * The Age"), searched inside that source (and day, when the clause names one). A question that names
 * no source splits into its substantial clauses. The whole question is always the first.
 */
export function decompose(question: string, sources: SourceMention[], dates: DateMention[]): SubQuestion[] {
  const whole: SubQuestion = { text: question, sources: sources.length === 1 ? [sources[0]!.source] : [] };
  const parts = clauses(question);
  const subs: SubQuestion[] = [];
  const own = (text: string, source?: string) => contentTerms(source ? text.replace(new RegExp(source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), ' ') : text).length;
  if (sources.length >= 2 || (sources.length === 1 && dates.length >= 2)) {
    const mentions = sources.length >= 2 ? sources : dates.map((d) => ({ source: sources[0]!.source, index: d.index }));
    for (const m of mentions) {
      const i = parts.findIndex((c) => m.index >= c.start && m.index < c.end);
      if (i < 0) continue;
      let from = i;
      while (from > 0 && own(parts.slice(from, i + 1).map((c) => c.text).join(' '), m.source) < 3) from--;
      const start = parts[from]!.start;
      const end = parts[i]!.end;
      const text = question.slice(start, end).trim();
      const date = dates.find((d) => d.index >= start && d.index < end)?.date;
      if (own(text, m.source) >= 2) subs.push({ text, sources: [m.source], ...(date ? { date } : {}) });
    }
  } else {
    for (const c of parts) if (contentTerms(c.text).length >= 3) subs.push({ text: c.text.trim(), sources: whole.sources });
    if (subs.length < 2) subs.length = 0;
  }
  return [whole, ...subs.slice(0, 5)];
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

/** The parts of a hyphenated compound ("litellm-proxy" → litellm, proxy), or none for a plain word. */
function compoundParts(term: string): string[] {
  if (!term.includes('-')) return [];
  return term.split('-').filter((p) => p.length > 1 || /\d/.test(p));
}

/**
 * How far the evidence contains each term, 0 to 1: a term found whole counts 1 (prefix match, so
 * inflections of German and English words count); a hyphenated compound not found whole counts the
 * share of its parts found ("Refresh-Token" in a question, "refresh token" in a source; German
 * compounds written with a hyphen against English or code text).
 */
export function termSupport(terms: string[], evidence: string): number[] {
  const ev = new Set<string>();
  for (const w of contentTerms(evidence)) {
    ev.add(w);
    for (const p of compoundParts(w)) ev.add(p);
  }
  // Every prefix (4 characters or more) of an evidence word: a term matches one whose stem it shares.
  const prefixes = new Set<string>();
  for (const w of ev) for (let n = 4; n <= w.length; n++) prefixes.add(w.slice(0, n));
  const found = (t: string) => ev.has(t) || (t.length >= 4 && prefixes.has(t.slice(0, Math.max(4, t.length - 2))));
  return terms.map((t) => {
    if (found(t)) return 1;
    const parts = compoundParts(t);
    return parts.length === 0 ? 0 : parts.filter(found).length / parts.length;
  });
}

/**
 * How much of a sentence's content the evidence contains: the mean support of its content terms
 * (see termSupport).
 */
export function lexicalSupport(sentence: string, evidence: string): number {
  const terms = [...new Set(contentTerms(sentence))];
  if (terms.length === 0) return 1;
  return termSupport(terms, evidence).reduce((a, b) => a + b, 0) / terms.length;
}

export const INSUFFICIENT = 'Insufficient information.';
