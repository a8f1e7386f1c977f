import { answersQuestion, asksInGerman, claimOf, expectedAnswerType, supportFloor } from '../../src/domain/answer-type';
import { answerMessages } from '../../src/domain/prompts';
import { lexicalSupport } from '../../src/domain/query-plan';

describe('the kind of answer a question asks for', () => {
  it.each([
    ['Wer ist Geschäftsführerin der Stadtwerke Ulmbach?', 'entity'],
    ['Which company, reported by TechCrunch and The Verge, faces an antitrust case?', 'entity'],
    ['Who founded the Tillhaven Cooperage?', 'entity'],
    ['Does the TechCrunch article suggest that Google paid Apple, while The Verge reports otherwise?', 'yes_no'],
    ['Ist die Anlage seit 2021 in Betrieb?', 'yes_no'],
    ['Was the reporting consistent or inconsistent between the two articles?', 'free'],
    ['How many households are supplied with district heating?', 'number'],
    ['Wie viele Haushalte werden mit Fernwärme versorgt?', 'number'],
    ['When did the company file for bankruptcy?', 'date'],
    ['In welchem Jahr wurde das Werk gegründet?', 'date'],
    ['Describe the grid expansion plans.', 'free'],
    // German "Was …?" asks what; English "Was …?" asks yes or no.
    ['Auf welchem Port läuft die Webanwendung?', 'entity'],
    ['On which port does the proxy listen?', 'entity'],
    ['Was ist laut der Allgemeinen Erklärung der Menschenrechte die natürliche Grundeinheit der Gesellschaft?', 'free'],
    ['Was bildet laut Artikel 21 die Grundlage für die Autorität der öffentlichen Gewalt?', 'free'],
    ['Was ist der Name des Geschäftsführers?', 'free'],
    ['Was Apple sued by the FTC in 2023?', 'yes_no'],
    ['Was the merger approved by the regulator in the end?', 'yes_no'],
    ['Darf jemand willkürlich seines Eigentums beraubt werden?', 'yes_no'],
    // German puts the verb first in a yes/no question, whichever verb it is.
    ['Genießen eheliche und außereheliche Kinder nach der Erklärung den gleichen sozialen Schutz?', 'yes_no'],
    ['Dürfen API-Keys in Neuronodes Quellcode hartcodiert werden?', 'yes_no'],
    ['Nach wie vielen Minuten läuft ein Access-Token in Neuronode ab?', 'number'],
    ['Bietet der Bericht eine Prognose oder nur Zahlen aus der Vergangenheit?', 'free'],
  ])('%s → %s', (q, type) => {
    expect(expectedAnswerType(q)).toBe(type);
  });
});

describe('whether an answer is of that kind', () => {
  it('refuses citation marks and bare numbers where a name is asked for', () => {
    expect(answersQuestion('Who was sentenced in the FTX case?', '1 [1] [2] [3] [4]')).toMatchObject({ ok: false });
    expect(answersQuestion('Who was sentenced in the FTX case?', 'Sam Bankman-Fried was sentenced [1].')).toEqual({ ok: true });
    // Repeating the question's own words names nobody.
    expect(answersQuestion('Who was sentenced in the FTX case?', 'The FTX case [2].')).toMatchObject({ ok: false });
  });

  it('wants a leading yes or no for a yes/no question', () => {
    expect(answersQuestion('Did both reports agree?', 'Yes, both report the merger [1][2].')).toEqual({ ok: true });
    expect(answersQuestion('Hat die Firma Gewinn gemacht?', 'Nein, sie schrieb Verluste [1].')).toEqual({ ok: true });
    expect(answersQuestion('Did both reports agree?', 'Both reports discuss the merger [1].')).toMatchObject({ ok: false, reason: expect.stringMatching(/yes or no/) });
    expect(answersQuestion('Did both reports agree?', 'Nobody disputes it [1].')).toMatchObject({ ok: false });
  });

  it('wants a number for "how many", and a date for "when"', () => {
    expect(answersQuestion('Wie viele Haushalte werden versorgt?', 'Rund 14.500 Haushalte [1].')).toEqual({ ok: true });
    expect(answersQuestion('How many households are supplied?', 'Twelve thousand [1].')).toEqual({ ok: true });
    expect(answersQuestion('How many households are supplied?', 'The utility supplies households [1].')).toMatchObject({ ok: false });
    expect(answersQuestion('When did it open?', 'In March [1].')).toEqual({ ok: true });
    expect(answersQuestion('When did it open?', 'It opened recently [1].')).toMatchObject({ ok: false });
  });

  it('wants words for an open question', () => {
    expect(answersQuestion('Describe the plans.', '[1] [2]')).toMatchObject({ ok: false });
    expect(answersQuestion('Describe the plans.', 'The plans extend the grid [1].')).toEqual({ ok: true });
  });
});

describe('what a sentence of an answer claims', () => {
  const question = 'Did the Ulmbach utility report more district-heating households in 2023 than in 2022?';
  const evidence = 'Stadtwerke Ulmbach annual report: the utility served 14,300 district-heating households in 2023, up from 13,100 in 2022.';

  it('is the question itself for a bare yes or no, so the answer is measured against what it affirms', () => {
    for (const s of ['Yes', 'No.', 'Yes [3] [5]'.replace(/\[\d+\]/g, '').trim(), 'Ja.', 'nein']) expect(claimOf(question, s)).toBe(question);
    // The words of the question stand in the source: a bare "Yes" citing it is supported.
    expect(lexicalSupport(claimOf(question, 'Yes'), evidence)).toBeGreaterThanOrEqual(0.6);
    // "Yes" alone, measured as a word, would be found nowhere.
    expect(lexicalSupport('Yes', evidence)).toBe(0);
  });

  it('is what follows the yes or no when the sentence says more', () => {
    expect(claimOf(question, 'Yes, the utility served 14,300 households in 2023.')).toBe('the utility served 14,300 households in 2023.');
    expect(claimOf(question, 'No — the figures fell.')).toBe('the figures fell.');
  });

  it('is the sentence itself when it leads with neither', () => {
    expect(claimOf(question, 'Yesterday the report came out.')).toBe('Yesterday the report came out.');
    expect(claimOf(question, 'The utility served 14,300 households.')).toBe('The utility served 14,300 households.');
  });
});

describe('how much of a claim must stand in its sources', () => {
  const question = 'Does the Polygon article suggest that the film appeals to children?';
  it('is most of a sentence of its own, and only the subjects of the question for a bare yes or no', () => {
    expect(supportFloor(question, 'The film appeals to children.')).toBe(0.6);
    expect(supportFloor(question, claimOf(question, 'Yes'))).toBe(0.2);
    expect(supportFloor(question, claimOf(question, 'Yes, the article says children love it.'))).toBe(0.6);
  });
});

describe('a yes/no answer that contradicts itself', () => {
  it('is not an answer', () => {
    const q = 'Did the Yardbarker article describe the performance as league-average?';
    expect(answersQuestion(q, ['Yes [4]', 'No [2]'])).toEqual({ ok: false, reason: 'the answer says both yes and no' });
    expect(answersQuestion(q, ['Ja.', 'Nein, nicht ganz.'])).toEqual({ ok: false, reason: 'the answer says both yes and no' });
    expect(answersQuestion(q, ['Yes [4]', 'Yes, it did [2]'])).toEqual({ ok: true });
    expect(answersQuestion(q, ['No.', 'The article calls it below average.'])).toEqual({ ok: true });
  });
});

describe('entity answers that are numbers', () => {
  it('takes a number the question asks for, beside words or alone, but not a leftover citation index', () => {
    expect(answersQuestion('Welcher Artikel verbietet Sklaverei und Sklavenhandel?', 'Artikel 4 verbietet Sklaverei und Sklavenhandel. [1]')).toEqual({ ok: true });
    expect(answersQuestion('Auf welchem Port läuft ChromaDB?', '8000 [2]')).toEqual({ ok: true });
    expect(answersQuestion('Welcher Artikel verbietet Sklaverei und Sklavenhandel?', 'Artikel [1]')).toMatchObject({ ok: false });
    expect(answersQuestion('Who was sentenced in the FTX case?', '1 [1] [2] [3] [4]')).toMatchObject({ ok: false });
  });
});

describe('the language of a question', () => {
  it.each([
    // Short German questions with one function word: they were read as not German and answered in English.
    'Wer leitet die Stadtwerke Ulmbach?',
    'Wie viele Haushalte versorgen die Stadtwerke?',
    'Welche Datenbank speichert Neuronodes Knowledge Graph?',
    'Wann wurde das Heizkraftwerk umgestellt?',
    'Wo liegt der Hafen?',
    'Wer ist Geschäftsführerin der Stadtwerke Ulmbach?',
  ])('reads "%s" as German', (q) => expect(asksInGerman(q)).toBe(true));

  it.each([
    'Who leads the Varde Harbour Heat project?',
    'When did Napoleon die?',
    'How many households does the utility supply with district heating?',
    'When did the king die in battle?',
    'Where is the den of the wolves?',
    'Which company, reported by TechCrunch and The Verge, faces an antitrust case?',
    'Was Apple sued by the FTC in 2023?',
  ])('reads "%s" as not German', (q) => expect(asksInGerman(q)).toBe(false));
});

describe('the answer instruction', () => {
  const messages = (question: string) => answerMessages({ listing: '[1] Quelle\nText', question, intent: 'factual' });
  const instruction = (question: string) => String(messages(question)[1]!.content);
  it('asks for yes or no in the language of the question', () => {
    expect(instruction('Darf jemand willkürlich seines Eigentums beraubt werden?')).toContain('Begin your first sentence with Ja or Nein.');
    expect(instruction('Was Apple sued by the FTC in 2023?')).toContain('Begin your first sentence with Yes or No.');
  });

  it('gives a German what-question no yes/no instruction', () => {
    expect(instruction('Was bildet laut Artikel 21 die Grundlage für die Autorität der öffentlichen Gewalt?')).not.toMatch(/Yes or No|Ja or Nein/);
  });

  it('orders the answer in German for a German question, and in the question\'s language otherwise', () => {
    expect(messages('Wer verkündet die Allgemeine Erklärung der Menschenrechte?')[0]!.content).toContain('answer in German');
    expect(messages('Who leads the Varde Harbour Heat project?')[0]!.content).not.toContain('answer in German');
  });

  it('says what the first sentence must hold as an order, not as a sentence an answer could copy', () => {
    // A small model answered "The first sentence names the person, organisation or thing. [1]".
    for (const q of ['Welche Datenbank speichert den Knowledge Graph?', 'Wie viele Tage ist ein Token gültig?', 'When did the plant open?']) {
      const hint = instruction(q).split('\n').slice(-2, -1)[0]!;
      expect(hint).toMatch(/^(Put|Begin) /);
      expect(hint).not.toMatch(/the first sentence (names|states)/);
    }
  });
});
