import { contentTerms, words } from './query-plan';

/**
 * What kind of answer a question asks for, read from its form (English and German), and whether an
 * answer is of that kind. The validator uses it: an answer that cites sources but does not answer the
 * question ("1 [1] [2] [3]", a headline in reply to "who…?") is not grounded, however well its words
 * stand in the sources.
 */
export type AnswerType = 'yes_no' | 'number' | 'date' | 'entity' | 'free';

/** The highest source number an answer may cite (the answer schema's bound on citations). */
export const MAX_SOURCE_NUMBER = 20;

const YES_NO_START =
  /^(is|are|was|were|does|do|did|has|have|had|can|could|will|would|should|shall|may|might|must|isn't|aren't|wasn't|weren't|doesn't|didn't|hasn't|haven't|ist|sind|war|waren|hat|haben|hatte|hatten|gibt|gab|kann|können|konnte|wird|werden|wurde|wurden|stimmt|trifft|darf|muss|soll|sollte)\b/i;
const NUMBER_ASK = /\b(how (many|much|often|long|far|old|large|big|high)|what (percentage|share|proportion|number|amount)|wie (viele?[nmrs]?|oft|lange|weit|alt|gro(ß|ss)|hoch)|welche[rn]? (anteil|betrag|anzahl|zahl))\b/i;
const DATE_ASK = /^(when|wann)\b|\b(what|which) (year|date|day|month)\b|\b(in )?welche(m|n)? (jahr|datum|tag|monat)\b|\bseit wann\b/i;
const ENTITY_ASK = /^((on|in|at|from|with|for|by|to|of|under|auf|in|an|von|mit|zu|für|bei|aus|nach|über|unter|um|seit)\s+)?(who|whom|whose|which|wer|wem|wen|wessen|welche[rsmn]?)\b|^(what|was) (is|was|are|were|ist|sind|war|waren) the name\b|^(what|was für) (company|firm|organisation|organization|person|country|city|firma|unternehmen|person|land|stadt)\b/i;

/**
 * German function words, question words (and umlauts): an English question has almost none of them,
 * a German one several. Language detection on one short question is unreliable ("Was bildet laut
 * Artikel 21 die Grundlage?" reads as Norwegian), so the question's own words decide. "die" and "den"
 * count although English has them as words: an English question rarely holds two of the markers.
 */
const GERMAN_MARKERS =
  /\b(?:der|die|den|dem|des|das|ein|eine[mnrs]?|und|ist|sind|laut|nach|nicht|werden|wird|wurde|mit|von|im|zum|zur|sich|auch|oder|wie|welche[mnrs]?|jemand|niemand|wer|wem|wen|wessen|wann|warum|wieso|weshalb|wo|woher|wohin|viele?|gibt|bei|seit)\b|[äöüß]/giu;

/** Question words no English question begins with: a question that begins with one is German. */
const GERMAN_QUESTION_START = /^(?:wer|wem|wen|wessen|wann|warum|wieso|weshalb|wo|woher|wohin|welche[mnrs]?|wie)\b/iu;

/** First words of German questions that are not yes/no ones: question words, prepositions, articles. */
const GERMAN_NOT_VERB_FIRST =
  /^(wer|wem|wen|wessen|was|wo\p{L}*|wann|wie\p{L}*|welch\p{L}*|warum|weshalb|weswegen|wieso|an|auf|aus|bei|durch|für|gegen|in|mit|nach|ohne|seit|über|um|unter|von|vor|zu|zwischen|der|die|das|den|dem|des|ein|eine[mnrs]?)$/iu;

/** The question without surrounding space and leading quotes or brackets: its first word first. */
const bare = (question: string) => question.trim().replace(/^["'„“»«(]+/, '');

/** Whether a question is asked in German: it begins with a German question word, or holds two or more German markers. */
export function asksInGerman(question: string): boolean {
  const q = bare(question);
  return GERMAN_QUESTION_START.test(q) || (q.match(GERMAN_MARKERS) ?? []).length >= 2;
}

export function expectedAnswerType(question: string): AnswerType {
  const q = bare(question);
  if (NUMBER_ASK.test(q)) return 'number';
  if (DATE_ASK.test(q)) return 'date';
  // German "Was …?" asks what, English "Was …?" asks yes or no.
  const germanWhat = /^was\b/i.test(q) && asksInGerman(q);
  // "Is it X or Y?" asks for a choice, not yes or no.
  if (YES_NO_START.test(q) && !germanWhat) return /\b(or|oder)\b/i.test(q) ? 'free' : 'yes_no';
  // German asks yes or no with the verb first ("Genießen Kinder …?", "Dürfen API-Keys …?"), any verb.
  if (!germanWhat && /\?\s*$/.test(q) && asksInGerman(q)) {
    const first = (q.split(/\s+/)[0] ?? '').replace(/[^\p{L}]/gu, '');
    if (!GERMAN_NOT_VERB_FIRST.test(first)) return /\boder\b/i.test(q) ? 'free' : 'yes_no';
  }
  if (ENTITY_ASK.test(q)) return 'entity';
  return 'free';
}

const YES_NO_LEAD = /^[\s*_"'„“(]*(yes|no|ja|nein)\b/i;
const NUMBER_WORDS =
  /\b(zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|dozen|none|null|eins?|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|zwanzig|hundert|tausend|millionen?|milliarden?|hälfte|keine?)\b/i;
const MONTHS =
  /\b(january|february|march|april|may|june|july|august|september|october|november|december|januar|februar|märz|mai|juni|juli|oktober|dezember|monday|tuesday|wednesday|thursday|friday|saturday|sunday|montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|today|yesterday|heute|gestern)\b/i;

/** Whether the answer text leads with yes or no (in English or German). */
export function leadsWithYesNo(answer: string): boolean {
  return YES_NO_LEAD.test(answer);
}

/** Whether a sentence leads with yes (true), with no (false), or with neither (null). */
export function leadingYes(sentence: string): boolean | null {
  const lead = YES_NO_LEAD.exec(sentence)?.[1]?.toLowerCase();
  return lead === undefined ? null : lead === 'yes' || lead === 'ja';
}

/** Words that negate what they stand in, English and German ("n't" forms too). */
const NEGATION = /^(?:not|no|never|nobody|none|neither|nor|nothing|cannot|nicht|kein|keine[mnrs]?|niemand(?:en|em)?|nie|niemals|nichts|weder)$/iu;

/** How many negating words a text has. */
export function negations(text: string): number {
  return words(text).filter((w) => NEGATION.test(w) || /n['’]t$/iu.test(w)).length;
}

/**
 * What a sentence of an answer claims, for measuring its support: its words after a leading yes or no
 * ("Yes, the report says X." claims "the report says X."). A bare "Yes."/"No." claims what the question
 * asks, so the question stands for it.
 */
export function claimOf(question: string, sentence: string): string {
  const match = YES_NO_LEAD.exec(sentence);
  if (!match) return sentence;
  const rest = sentence.slice(match[0].length).replace(/^[\s,.;:!–—-]+/, '');
  return contentTerms(rest).length === 0 ? question : rest;
}

/**
 * How much of a claim's content must stand in the sources it cites. A sentence of the answer claims its
 * own words, and most of them must be there (0.6). A bare yes or no claims the question, whose words
 * are the asker's, not the sources' ("does the article suggest…", "was the portrayal consistent…"):
 * the cited sources must be about its subjects (0.2), and the validators judge the rest.
 * Chosen on the tuning slice of MultiHop-RAG's development split: bare yes/no drafts there scored
 * 0.22–0.37 whether right or wrong, and unanswerable questions' drafts are never bare yes/no.
 */
export function supportFloor(question: string, claim: string): number {
  return claim === question ? 0.2 : 0.6;
}

/**
 * Whether `answer` (its sentences, citation markers removed) is an answer of the kind the question
 * asks for; when not, the reason, in words a user understands.
 */
export function answersQuestion(question: string, answer: string | string[]): { ok: true } | { ok: false; reason: string } {
  const sentences = (Array.isArray(answer) ? answer : [answer]).map((s) => s.replace(/\[\d+\]/g, ' ').trim());
  const text = sentences.join(' ').trim();
  const type = expectedAnswerType(question);
  const terms = contentTerms(text);
  const wordy = terms.some((t) => /\p{L}/u.test(t));
  switch (type) {
    case 'yes_no': {
      if (!leadsWithYesNo(text)) return { ok: false, reason: 'the question asks for yes or no, and the answer does not begin with either' };
      const leads = new Set(sentences.map((s) => YES_NO_LEAD.exec(s)?.[1]?.toLowerCase()).filter(Boolean).map((w) => (w === 'yes' || w === 'ja' ? 'yes' : 'no')));
      return leads.size > 1 ? { ok: false, reason: 'the answer says both yes and no' } : { ok: true };
    }
    case 'number':
      return /\d/.test(text) || NUMBER_WORDS.test(text) ? { ok: true } : { ok: false, reason: 'the question asks for a number, and the answer names none' };
    case 'date':
      return /\d/.test(text) || MONTHS.test(text) ? { ok: true } : { ok: false, reason: 'the question asks for a date or time, and the answer names none' };
    case 'entity': {
      // The answer names something the question does not already name: a word, or a number beside
      // words ("Artikel 4" to "Welcher Artikel …?") or one no citation marker could be (a bare "1" left
      // over from "1 [1] [2]" names nothing).
      const asked = new Set(contentTerms(question));
      const names = (t: string) => !asked.has(t) && (/\p{L}/u.test(t) || (/^\d+$/.test(t) && (wordy || Number(t) > MAX_SOURCE_NUMBER)));
      return terms.some(names) ? { ok: true } : { ok: false, reason: 'the question asks who or which, and the answer names nothing beyond the question' };
    }
    case 'free':
      return wordy ? { ok: true } : { ok: false, reason: 'the answer says nothing in words' };
  }
}
