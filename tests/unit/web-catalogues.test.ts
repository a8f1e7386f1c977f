import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The web application's message catalogues: the same keys in German and English, none empty. */
const ROOT = join(__dirname, '..', '..');
const load = (locale: string) => JSON.parse(readFileSync(join(ROOT, 'web', 'messages', `${locale}.json`), 'utf8')) as Record<string, string>;

it('has the same, non-empty keys in German and English, with the same placeholders', () => {
  const en = load('en');
  const de = load('de');
  expect(Object.keys(en).length).toBeGreaterThan(50);
  expect(Object.keys(de).sort()).toEqual(Object.keys(en).sort());
  const placeholders = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort();
  for (const [key, text] of Object.entries(en)) {
    expect({ key, en: text.trim().length > 0, de: de[key]!.trim().length > 0 }).toEqual({ key, en: true, de: true });
    expect({ key, placeholders: placeholders(de[key]!) }).toEqual({ key, placeholders: placeholders(text) });
  }
});

it('translates the German catalogue rather than copying the English one', () => {
  const en = load('en');
  const de = load('de');
  // Product names and words that are the same in both languages may repeat; most strings differ.
  const same = Object.keys(en).filter((k) => en[k] === de[k]);
  expect(same.length / Object.keys(en).length).toBeLessThan(0.15);
});
