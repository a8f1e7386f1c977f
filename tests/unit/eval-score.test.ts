import { judge } from '../../scripts/eval-answers';
import { answerContainsGold, answerCorrect, answerKind, isRefusal, leadingYesNo, normaliseAnswer, scoreRetrieval } from '../../scripts/eval-score';

describe('answer scoring', () => {
  it('normalises case, punctuation, accents, umlauts and ß', () => {
    expect(normaliseAnswer('  Die **Straße** in Köln — "Café"! ')).toEqual(['die', 'strasse', 'in', 'koln', 'cafe']);
  });

  it('scores yes/no by the leading yes or no, never by a substring', () => {
    expect(answerCorrect('No.', 'no')).toBe(true);
    expect(answerCorrect('**No**, the reports disagree [1][2].', 'No')).toBe(true);
    expect(answerCorrect('Answer: yes [3]', 'Yes')).toBe(true);
    expect(answerCorrect('Ja, beide Berichte stimmen überein.', 'Yes')).toBe(true);
    // The benchmark's containment scoring takes all of these for a "no"; they are not answers.
    for (const wrong of ['I do not know.', 'Not enough information is given.', 'Insufficient information.', 'Yes, and no one disputed it.', 'The answer is no.']) {
      expect([wrong, answerCorrect(wrong, 'no')]).toEqual([wrong, false]);
    }
    expect(answerContainsGold('I do not know.', 'no')).toBe(true);
    expect(answerCorrect('Yesterday it rained.', 'Yes')).toBe(false);
    expect(leadingYesNo('Nein.')).toBe('no');
    expect(leadingYesNo('None of them.')).toBeNull();
  });

  it('scores entities as whole phrases after normalisation, a leading article optional', () => {
    expect(answerCorrect('Federal Reserve [2]', 'The Federal Reserve')).toBe(true);
    expect(answerCorrect('It was Sam Bankman-Fried, according to [1].', 'Sam Bankman-Fried')).toBe(true);
    expect(answerCorrect('Google', 'Google')).toBe(true);
    expect(answerCorrect('Googleplex', 'Google')).toBe(false);
    expect(answerCorrect('Sam Altman', 'Sam Bankman-Fried')).toBe(false);
    expect(answerCorrect('OpenAI or Google', 'Amazon')).toBe(false);
    // A refusal that happens to name the entity is still a refusal.
    expect(answerCorrect('Insufficient information about Google.', 'Google')).toBe(false);
    // Citation markers alone answer nothing.
    expect(answerCorrect('1 [1] [2] [3] [4]', 'Donald Trump')).toBe(false);
  });

  it('scores refusals as refusals, in English and German', () => {
    expect(answerKind('Insufficient information.')).toBe('refusal');
    expect(answerCorrect('Insufficient information.', 'Insufficient information.')).toBe(true);
    expect(answerCorrect('Unzureichende Informationen.', 'Insufficient information.')).toBe(true);
    expect(answerCorrect('Donald Trump', 'Insufficient information.')).toBe(false);
    expect(isRefusal('The information is insufficient')).toBe(false);
  });

  it('judges German answers against any accepted form of the gold, never by a substring', () => {
    const q = (gold: string | string[]) => ({ type: 'entity', question: 'Welcher Artikel?', gold });
    expect(judge(q(['Artikel 14', 'Art. 14']), 'Das regelt Art. 14 [2].').correct).toBe(true);
    expect(judge(q(['Artikel 14', 'Art. 14']), 'Artikel 14 [1]').correct).toBe(true);
    expect(judge(q(['Artikel 14', 'Art. 14']), 'Artikel 141 [1]').correct).toBe(false);
    expect(judge(q('die Familie'), 'Die Familie ist die natürliche Grundeinheit der Gesellschaft [1].').correct).toBe(true);
    expect(judge(q('Brüderlichkeit'), 'Im Geist der Bruderlichkeit [1].').correct).toBe(true);
    expect(judge(q('nein'), 'Nein, niemand darf willkürlich seines Eigentums beraubt werden [3].').correct).toBe(true);
    expect(judge(q('nein'), 'Keine Angabe dazu [3].').correct).toBe(false);
    const refused = judge({ type: 'null_query', question: 'Wann?', gold: 'Insufficient information' }, 'Unzureichende Informationen.');
    expect([refused.correct, refused.refused]).toEqual([true, true]);
    expect(judge(q('3000'), 'Unzureichende Informationen zu Port 3000.').correct).toBe(false);
  });
});

describe('retrieval scoring (the paper\'s definitions)', () => {
  it('counts hits, reciprocal rank, average precision and all facts', () => {
    const s = scoreRetrieval([['x', 'has fact one', 'y', 'fact two here']], [['fact one', 'fact two']]);
    expect(s).toMatchObject({ 'Hits@4': 1, 'Hits@10': 1, 'MRR@10': 0.5, 'AllFacts@10': 1, 'MAP@10': 0.5 * (1 / 2 + 1 / 4) });
    expect(scoreRetrieval([['nothing']], [['fact']])).toMatchObject({ 'Hits@10': 0, 'MRR@10': 0, 'AllFacts@10': 0 });
  });
});
