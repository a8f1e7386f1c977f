import { repointCitations, type ContextSource } from '../../src/activities/query';

const source = (n: number, text: string): ContextSource => ({
  n,
  flagged: false,
  text,
  chunk: { chunk_id: `c${n}`, document_id: 'd', title: 'Die Allgemeine Erklärung der Menschenrechte', source: null, published: null, page: null, position: n, text, score: 1, ranks: {} },
});

const sources = [
  source(1, 'Artikel 3 Jeder hat das Recht auf Leben, Freiheit und Sicherheit der Person. Artikel 4 Niemand darf in Sklaverei oder Leibeigenschaft gehalten werden; Sklaverei und Sklavenhandel sind in allen ihren Formen verboten.'),
  source(2, 'Artikel 19 Jeder hat das Recht auf Meinungsfreiheit und freie Meinungsäußerung.'),
  source(3, 'Artikel 25 Mütter und Kinder haben Anspruch auf besondere Fürsorge und Unterstützung.'),
];

describe('citations re-pointed to the source that states the sentence', () => {
  it('moves a citation from a source that does not state the sentence to the one that does', () => {
    const r = repointCitations('Welcher Artikel verbietet Sklaverei und Sklavenhandel?', [{ text: 'Artikel 4 verbietet Sklaverei und Sklavenhandel in allen ihren Formen.', sources: [2] }], sources);
    expect(r).toEqual({ sentences: [{ text: 'Artikel 4 verbietet Sklaverei und Sklavenhandel in allen ihren Formen.', sources: [1] }], repointed: 1 });
  });

  it('leaves a citation that supports its sentence alone', () => {
    const sentences = [{ text: 'Mütter und Kinder haben Anspruch auf besondere Fürsorge.', sources: [3] }];
    expect(repointCitations('Wer hat Anspruch auf besondere Fürsorge?', sentences, sources)).toEqual({ sentences, repointed: 0 });
  });

  it('leaves a sentence that no source states as it is, for validation to refuse', () => {
    const sentences = [{ text: 'Die Erklärung wurde 1948 in Paris verkündet.', sources: [1] }];
    expect(repointCitations('Wo wurde die Erklärung verkündet?', sentences, sources)).toEqual({ sentences, repointed: 0 });
  });
});
