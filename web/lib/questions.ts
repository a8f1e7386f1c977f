/**
 * The questions of a file: a text file holds one per line; a JSON Lines file one object per line
 * with a `question` field (the format the results download in). Blank lines are skipped.
 */
export function questionsOf(name: string, text: string): string[] {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (!/\.jsonl$/i.test(name)) return lines;
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      if (!(err instanceof SyntaxError)) throw err;
      throw new Error(`line ${i + 1}: ${err.message}`);
    }
    const q = (value as { question?: unknown } | null)?.question;
    if (typeof q !== 'string' || !q.trim()) throw new Error(`line ${i + 1}: no "question" text`);
    return q.trim();
  });
}
