import { chunkSections, countTokens } from '../../src/domain/chunking';

describe('chunking', () => {
  it('keeps the line breaks of the extracted text and joins the sentences of a line with a space', () => {
    const block = ['SECURITY_CONFIG = {', '"jwt_algorithm": "HS256",', '"access_token_expire_minutes": 60,', '}'].join('\n');
    const [one] = chunkSections([{ text: 'Die Konfiguration folgt. Sie gilt überall.', heading: 'Sicherheit' }, { text: block, heading: 'Sicherheit' }]);
    expect(one!.text).toBe(`Die Konfiguration folgt. Sie gilt überall.\n${block}`);
    // Blank lines collapse to one break; no line starts or ends with a space.
    const [two] = chunkSections([{ text: 'Erste Zeile.\n\n\nZweite Zeile.' }]);
    expect(two!.text).toBe('Erste Zeile.\nZweite Zeile.');
  });

  it('stays within the token budget, repeats the tail as overlap and never spans two pages', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `Eintrag ${i}: ein Wert für den Planer, Nummer ${i}.`);
    const chunks = chunkSections([{ text: lines.slice(0, 40).join('\n'), page: 1 }, { text: lines.slice(40).join('\n'), page: 2 }], { maxTokens: 80, overlapTokens: 20 });
    for (const c of chunks) expect(countTokens(c.text)).toBeLessThanOrEqual(80);
    expect(chunks.filter((c) => c.page === 1).every((c) => !c.text.includes('Eintrag 40:'))).toBe(true);
    const p1 = chunks.filter((c) => c.page === 1);
    // Every next chunk on a page begins with the last line of the one before it.
    for (let i = 1; i < p1.length; i++) expect(p1[i]!.text.startsWith(p1[i - 1]!.text.split('\n').at(-1)!)).toBe(true);
    // Every line is in some chunk, whole, on a line of its own.
    for (const l of lines) expect(chunks.some((c) => c.text.split('\n').includes(l))).toBe(true);
  });
});
