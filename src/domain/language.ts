import { detect } from 'tinyld';

/** ISO 639-1 code of the text's language ('de', 'en', …), or 'und' when too short or unclear. */
export function detectLanguage(text: string): string {
  const sample = text.slice(0, 5000);
  if (sample.replace(/\s+/g, '').length < 20) return 'und';
  return detect(sample) || 'und';
}
