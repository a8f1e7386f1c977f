import { ADDED_FLOOR, addedInformation, correctDeniedYes, repointCitations, type ContextSource } from '../../src/activities/query';

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

describe('a yes that the sources deny', () => {
  const udhr = [
    source(1, 'Artikel 5 Niemand darf der Folter oder grausamer, unmenschlicher oder erniedrigender Behandlung oder Strafe unterworfen werden.\nArtikel 6 Jeder hat das Recht, überall als rechtsfähig anerkannt zu werden.'),
    source(2, 'Artikel 26 Der Grundschulunterricht ist obligatorisch. Fach- und Berufsschulunterricht müssen allgemein verfügbar gemacht werden.'),
  ];

  it('becomes no, quoting the sentence that denies it, when that sentence states the question', () => {
    const r = correctDeniedYes('Darf nach der Allgemeinen Erklärung der Menschenrechte jemand der Folter unterworfen werden?', [{ text: 'Ja, nach der Erklärung darf jemand der Folter unterworfen werden.', sources: [1] }], udhr);
    expect(r).toEqual({
      corrected: true,
      sentences: [
        { text: 'Nein.', sources: [1] },
        { text: 'Artikel 5 Niemand darf der Folter oder grausamer, unmenschlicher oder erniedrigender Behandlung oder Strafe unterworfen werden.', sources: [1] },
      ],
    });
    // In English too.
    const en = [source(1, 'The plant did not receive a permit in 2023. It opened in 2019.')];
    expect(correctDeniedYes('Did the plant receive a permit in 2023?', [{ text: 'Yes, it did.', sources: [1] }], en)).toMatchObject({ corrected: true, sentences: [{ text: 'No.' }, { text: 'The plant did not receive a permit in 2023.' }] });
  });

  it('stays when the sentence that states the question does not negate it', () => {
    const sentences = [{ text: 'Ja, der Grundschulunterricht ist obligatorisch.', sources: [2] }];
    expect(correctDeniedYes('Ist der Grundschulunterricht nach der Allgemeinen Erklärung der Menschenrechte obligatorisch?', sentences, udhr)).toEqual({ sentences, corrected: false });
  });

  it('never turns a no into a yes, and leaves questions no single sentence states', () => {
    const no = [{ text: 'Nein, niemand darf der Folter unterworfen werden.', sources: [1] }];
    expect(correctDeniedYes('Darf jemand der Folter unterworfen werden?', no, udhr)).toEqual({ sentences: no, corrected: false });
    // Fewer than half of the question's terms in any one sentence.
    const yes = [{ text: 'Ja.', sources: [1] }];
    expect(correctDeniedYes('Darf die Polizei Demonstrationen auf öffentlichen Plätzen ohne Genehmigung auflösen und Teilnehmer festhalten?', yes, udhr)).toEqual({ sentences: yes, corrected: false });
    // Two reports weighed against each other: not one sentence's matter.
    const en = [source(1, 'Google did not pay Apple for search placement, the filing says.')];
    const yesEn = [{ text: 'Yes.', sources: [1] }];
    expect(correctDeniedYes('Does the TechCrunch article suggest that Google paid Apple for search placement, while The Verge reports that Apple paid Google instead?', yesEn, en)).toEqual({ sentences: yesEn, corrected: false });
  });
});

describe('what an answer adds to its question', () => {
  const byN = new Map(sources.map((s) => [s.n, s]));
  it('must stand in the sources the answer cites', () => {
    // The place is the answer, and no source names it.
    const invented = addedInformation('In welcher Stadt wurde die Allgemeine Erklärung der Menschenrechte verkündet?', [{ text: 'Die Allgemeine Erklärung der Menschenrechte wurde in Genf verkündet.', sources: [1] }], byN);
    expect(invented).toEqual({ terms: 1, support: 0, missing: ['genf'] });
    expect(invented.support).toBeLessThan(ADDED_FLOOR);
    // The article number is the answer, and the cited source states it.
    expect(addedInformation('Welcher Artikel verbietet Sklaverei und Sklavenhandel?', [{ text: 'Artikel 4 verbietet Sklaverei und Sklavenhandel.', sources: [1] }], byN)).toEqual({ terms: 1, support: 1, missing: [] });
    // Stated, but in a source the sentence does not cite.
    expect(addedInformation('Welches Recht garantiert Artikel 19?', [{ text: 'Artikel 19 garantiert die Meinungsfreiheit.', sources: [3] }], byN)).toMatchObject({ support: 0, missing: ['meinungsfreiheit'] });
  });

  it('is not measured for questions that ask yes or no, or something open', () => {
    const answer = [{ text: 'Ja, in Genf.', sources: [1] }];
    expect(addedInformation('Wurde die Erklärung in Genf verkündet?', answer, byN)).toEqual({ terms: 0, support: 1, missing: [] });
    expect(addedInformation('Warum wurde die Erklärung verkündet?', answer, byN)).toEqual({ terms: 0, support: 1, missing: [] });
  });
});
