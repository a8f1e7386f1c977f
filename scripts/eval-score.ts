/** MultiHop-RAG retrieval scoring, as the paper's retrieval_evaluate.py defines it. */

const squash = (s: string) => s.replace(/ /g, '').replace(/\n/g, '');

/** The paper's metrics (retrieval_evaluate.py), plus AllFacts@10. */
export function scoreRetrieval(retrieved: string[][], gold: string[][]) {
  let h10 = 0, h4 = 0, all10 = 0;
  const maps: number[] = [];
  const mrrs: number[] = [];
  retrieved.forEach((list, qi) => {
    const g = gold[qi]!.map(squash);
    const r = list.slice(0, 10).map(squash);
    let first: number | null = null;
    let ap = 0;
    const found: string[] = [];
    r.forEach((text, i) => {
      const rank = i + 1;
      if (!g.some((f) => text.includes(f))) return;
      first ??= rank;
      let count = 0;
      for (const f of g) {
        if (text.includes(f) && !found.includes(f)) {
          count++;
          found.push(f);
        }
      }
      ap += count / rank;
    });
    if (first !== null) h10++;
    if (first !== null && first <= 4) h4++;
    if (g.every((f) => r.some((text) => text.includes(f)))) all10++;
    maps.push(ap / Math.min(g.length, 10));
    mrrs.push(first ? 1 / first : 0);
  });
  const n = gold.length || 1;
  const r4 = (x: number) => +x.toFixed(4);
  return { queries: gold.length, 'Hits@4': r4(h4 / n), 'Hits@10': r4(h10 / n), 'MRR@10': r4(mrrs.reduce((a, b) => a + b, 0) / n), 'MAP@10': r4(maps.reduce((a, b) => a + b, 0) / n), 'AllFacts@10': r4(all10 / n) };
}


/**
 * Text as compared: Unicode-normalised and lower-cased, accents and umlauts folded (ä → a, ß → ss),
 * every run of characters that are not letters or digits one space. Tokens are the words of that.
 */
export function normaliseAnswer(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim()
    .split(' ')
    .filter(Boolean);
}

const YES = new Set(['yes', 'ja']);
const NO = new Set(['no', 'nein']);
const ARTICLES = new Set(['the', 'a', 'an', 'der', 'die', 'das']);
/** Words an answer leads with before its yes or no ("Answer: yes", "**Yes**" normalise to these). */
const LEAD_IN = new Set(['answer', 'antwort']);
/** How the system and the benchmark say that the evidence does not answer the question. */
export const REFUSAL_PHRASES = ['insufficient information', 'unzureichende informationen', 'keine ausreichenden informationen'];

function containsPhrase(hay: string[], needle: string[]): boolean {
  if (!needle.length) return false;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

export type AnswerKind = 'yes_no' | 'refusal' | 'phrase';

/** What kind of gold answer this is, which decides how an answer is compared with it. */
export function answerKind(gold: string): AnswerKind {
  const g = normaliseAnswer(gold);
  if (g.length === 1 && (YES.has(g[0]!) || NO.has(g[0]!))) return 'yes_no';
  if (REFUSAL_PHRASES.some((p) => g.join(' ') === p)) return 'refusal';
  return 'phrase';
}

/** An answer's leading yes or no (after "Answer:"), or null when it leads with neither. */
export function leadingYesNo(answer: string): 'yes' | 'no' | null {
  const words = normaliseAnswer(answer).filter((w, i, all) => !(LEAD_IN.has(w) && all.slice(0, i).every((x) => LEAD_IN.has(x))));
  const first = words[0];
  if (first && YES.has(first)) return 'yes';
  if (first && NO.has(first)) return 'no';
  return null;
}

/** Whether an answer is a refusal: it says, as a whole phrase, that the information is insufficient. */
export function isRefusal(answer: string): boolean {
  const a = normaliseAnswer(answer);
  return REFUSAL_PHRASES.some((p) => containsPhrase(a, p.split(' ')));
}

/**
 * Answer correctness, stricter than the benchmark's "the prediction contains the gold answer":
 * - yes/no gold: the answer leads with the same yes or no (a gold "no" never matches "not" or "know");
 * - a refusal gold: the answer refuses;
 * - any other gold: the gold, without a leading article, is a whole phrase of the answer's words, and
 *   the answer is not a refusal.
 */
export function answerCorrect(answer: string, gold: string): boolean {
  switch (answerKind(gold)) {
    case 'yes_no':
      return leadingYesNo(answer) === (YES.has(normaliseAnswer(gold)[0]!) ? 'yes' : 'no');
    case 'refusal':
      return isRefusal(answer);
    case 'phrase': {
      const g = normaliseAnswer(gold);
      while (g.length > 1 && ARTICLES.has(g[0]!)) g.shift();
      return !isRefusal(answer) && containsPhrase(normaliseAnswer(answer), g);
    }
  }
}

/** The benchmark's own answer scoring: the prediction contains the gold answer (case-insensitive). */
export function answerContainsGold(answer: string, gold: string): boolean {
  return answer.toLowerCase().includes(gold.toLowerCase().replace(/\.$/, ''));
}
