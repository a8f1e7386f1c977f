import nlp from 'compromise';
import de from 'de-compromise';
import type { EntityType, ExtractedEntity, ExtractedRelation } from './entities';
import { isPlausibleName } from './entities';

/**
 * The fast profile: entity and relation extraction without any LLM, so a corpus of hundreds of
 * documents ingests in minutes on a CPU. English uses compromise's people / places / organisations
 * and proper-noun phrases; German uses de-compromise's noun phrases, keeping those tagged as
 * persons or places and proper nouns, and recognising organisations by their legal-form and
 * institutional suffixes. Relations are co-occurrences within one chunk (type CO_OCCURS); they say
 * "these appear together", not how they relate — the LLM profile says how.
 */
export interface FastChunk {
  position: number;
  text: string;
  language: string;
}

/** More entities than this in one chunk are cut (by frequency) before pairing, bounding the pairs. */
const MAX_ENTITIES_PER_CHUNK = 12;

const ORG_SUFFIX = /\b(AG|GmbH|SE|KG|KGaA|e\.V\.|Inc\.?|Corp\.?|Corporation|Ltd\.?|LLC|PLC|plc|Group|Holding|Bank|Bundesamt|Ministerium|Bundesnetzagentur|Agentur|Verband|Universität|University|Institute|Institut|Council|Commission|Committee|Party|Partei)\b/;

export function extractFast(chunks: FastChunk[]): { entities: ExtractedEntity[]; relations: ExtractedRelation[] } {
  const entities: ExtractedEntity[] = [];
  const relations: ExtractedRelation[] = [];
  for (const chunk of chunks) {
    const found = chunk.language === 'de' ? germanEntities(chunk.text) : englishEntities(chunk.text);
    const unique = new Map<string, { name: string; type: EntityType; count: number }>();
    for (const f of found) {
      const name = f.name.replace(/[.,;:!?]+$/, '').trim();
      if (!isPlausibleName(name)) continue;
      const k = `${f.type}:${name.toLowerCase()}`;
      const u = unique.get(k);
      if (u) u.count++;
      else unique.set(k, { name, type: f.type, count: 1 });
    }
    const kept = [...unique.values()].sort((a, b) => b.count - a.count).slice(0, MAX_ENTITIES_PER_CHUNK);
    for (const k of kept) entities.push({ name: k.name, type: k.type, confidence: k.type === 'CONCEPT' ? 0.5 : 0.7, chunks: [chunk.position] });
    for (let i = 0; i < kept.length; i++) {
      for (let j = i + 1; j < kept.length; j++) {
        const [a, b] = [kept[i]!, kept[j]!].sort((x, y) => x.name.localeCompare(y.name));
        relations.push({ source: a!.name, sourceType: a!.type, target: b!.name, targetType: b!.type, type: 'CO_OCCURS', confidence: 0.4, chunk: chunk.position });
      }
    }
  }
  return { entities, relations };
}

function englishEntities(text: string): { name: string; type: EntityType }[] {
  const doc = nlp(text);
  const out: { name: string; type: EntityType }[] = [];
  const seen = new Set<string>();
  const add = (names: string[], type: EntityType) => {
    for (const n of names) {
      const name = n.trim();
      if (!name || seen.has(name)) continue;
      seen.add(name);
      out.push({ name, type: ORG_SUFFIX.test(name) && type !== 'PERSON' ? 'ORGANIZATION' : type });
    }
  };
  add(doc.people().out('array') as string[], 'PERSON');
  add(doc.organizations().out('array') as string[], 'ORGANIZATION');
  add(doc.places().out('array') as string[], 'LOCATION');
  // Remaining proper-noun phrases (products, events, names compromise did not type).
  add((doc.match('#ProperNoun+').not('#Possessive').out('array') as string[]).filter((n) => !seen.has(n)), 'CONCEPT');
  return out;
}

function germanEntities(text: string): { name: string; type: EntityType }[] {
  const doc = de(text) as unknown as {
    nouns(): { json(): { text: string; terms: { text: string; tags: string[] }[] }[] };
  };
  const out: { name: string; type: EntityType }[] = [];
  for (const np of doc.nouns().json()) {
    const terms = np.terms.filter((t) => !t.tags.includes('Determiner') && !t.tags.includes('Adjective'));
    if (terms.length === 0) continue;
    const name = terms.map((t) => t.text).join(' ').trim();
    const tags = new Set(terms.flatMap((t) => t.tags));
    let type: EntityType | null = null;
    if (ORG_SUFFIX.test(name)) type = 'ORGANIZATION';
    else if (tags.has('Person') || tags.has('FirstName')) type = 'PERSON';
    else if (tags.has('Place') || tags.has('City') || tags.has('Country')) type = 'LOCATION';
    else if (tags.has('ProperNoun') || terms.length > 1 && terms.every((t) => /^[A-ZÄÖÜ]/.test(t.text))) type = 'CONCEPT';
    // German capitalises every noun: a single common noun is not an entity.
    if (type) out.push({ name, type });
  }
  return out;
}
