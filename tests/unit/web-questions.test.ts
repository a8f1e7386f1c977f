import { questionsOf } from '../../web/lib/questions';

/** The batch page's question files: text one per line, JSON Lines with a `question` field. */
it('reads a text file one question per line, skipping blank lines', () => {
  expect(questionsOf('qs.txt', 'Who founded it?\r\n\n  When?  \n')).toEqual(['Who founded it?', 'When?']);
});

it('reads JSON Lines by their question field, as the results download writes them', () => {
  expect(questionsOf('qs.JSONL', '{"question":"Who?","index":0}\n\n{"question":" When? "}\n')).toEqual(['Who?', 'When?']);
});

it('names the line of a JSON Lines file that is not JSON or has no question', () => {
  expect(() => questionsOf('qs.jsonl', '{"question":"Who?"}\n{"question":')).toThrow(/^line 2: /);
  expect(() => questionsOf('qs.jsonl', '{"q":"Who?"}')).toThrow('line 1: no "question" text');
  expect(() => questionsOf('qs.jsonl', 'null')).toThrow('line 1: no "question" text');
});
