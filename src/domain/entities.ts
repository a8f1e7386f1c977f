/**
 * Entities and relations as the pipeline stores them, and the resolution rules: names are
 * normalised, entities merge only within one type and one workspace, and every surface form is kept
 * as an alias.
 */
export const ENTITY_TYPES = ['PERSON', 'ORGANIZATION', 'LOCATION', 'PRODUCT', 'EVENT', 'CONCEPT', 'OTHER'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

export interface ExtractedEntity {
  name: string;
  type: EntityType;
  description?: string;
  confidence: number;
  /** Positions of the chunks (within the document) that mention it. */
  chunks: number[];
}

export interface ExtractedRelation {
  source: string;
  sourceType: EntityType;
  target: string;
  targetType: EntityType;
  type: string;
  description?: string;
  confidence: number;
  /** Position of the evidence chunk. */
  chunk: number;
}

const TYPE_SYNONYMS: Record<string, EntityType> = {
  person: 'PERSON', people: 'PERSON', per: 'PERSON', human: 'PERSON',
  organization: 'ORGANIZATION', organisation: 'ORGANIZATION', org: 'ORGANIZATION', company: 'ORGANIZATION', institution: 'ORGANIZATION', agency: 'ORGANIZATION',
  location: 'LOCATION', place: 'LOCATION', loc: 'LOCATION', city: 'LOCATION', country: 'LOCATION', gpe: 'LOCATION',
  product: 'PRODUCT', technology: 'PRODUCT', software: 'PRODUCT',
  event: 'EVENT',
  concept: 'CONCEPT', topic: 'CONCEPT', idea: 'CONCEPT',
};

export function canonicalType(raw: string): EntityType {
  const key = raw.trim().toLowerCase();
  return (ENTITY_TYPES as readonly string[]).includes(raw.trim().toUpperCase())
    ? (raw.trim().toUpperCase() as EntityType)
    : (TYPE_SYNONYMS[key] ?? 'OTHER');
}

const LEADING_ARTICLES = /^(the|a|an|der|die|das|den|dem|des|ein|eine|einer|eines)\s+/i;

/** Legal forms that do not change which organisation is meant ("Siemens AG" is "Siemens"). */
const LEGAL_FORM = /\s+(ag|gmbh|se|kg|kgaa|e\.?\s?v|inc|corp|corporation|co|company|ltd|limited|llc|plc|sa|nv|bv|holding|group)\.?$/i;

/**
 * The key entities merge on: Unicode-normalised, case-folded, articles, possessives and punctuation
 * removed; for organisations also the legal form.
 */
export function normaliseName(name: string, type?: EntityType): string {
  const base = name
    .normalize('NFKC')
    .replace(/[’`]/g, "'")
    .replace(/'s\b/gi, '')
    .replace(/[\s\u00a0]+/g, ' ')
    .trim()
    .replace(LEADING_ARTICLES, '')
    .replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '')
    .toLowerCase();
  if (type !== 'ORGANIZATION') return base;
  let out = base;
  for (let i = 0; i < 2 && LEGAL_FORM.test(out); i++) out = out.replace(LEGAL_FORM, '').trim();
  return out.length >= 2 ? out : base;
}

/** A name worth keeping as an entity: some letters, not a lone stop word, not absurdly long. */
export function isPlausibleName(name: string): boolean {
  const n = normaliseName(name);
  return n.length >= 2 && n.length <= 120 && /\p{L}/u.test(n) && !STOP.has(n);
}

const STOP = new Set([
  'i', 'we', 'you', 'he', 'she', 'it', 'they', 'this', 'that', 'these', 'those', 'mr', 'mrs', 'ms', 'dr',
  'ich', 'wir', 'sie', 'er', 'es', 'ihr', 'man', 'dies', 'diese', 'dieser', 'herr', 'frau',
  'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday', 'today', 'yesterday',
]);

export interface ResolvedEntity {
  key: string;
  name: string;
  type: EntityType;
  aliases: string[];
  description?: string;
  confidence: number;
  chunks: number[];
}

/**
 * Merges a document's raw entities by (type, normalised name): the most frequent surface form names
 * the entity, every other form becomes an alias, confidences take the maximum, chunk lists unite.
 */
export function resolveWithinDocument(raw: ExtractedEntity[]): ResolvedEntity[] {
  const byKey = new Map<string, { forms: Map<string, number>; e: ResolvedEntity }>();
  for (const r of raw) {
    if (!isPlausibleName(r.name)) continue;
    const key = entityKey(r.type, r.name);
    let slot = byKey.get(key);
    if (!slot) {
      slot = { forms: new Map(), e: { key, name: r.name.trim(), type: r.type, aliases: [], confidence: r.confidence, chunks: [], description: r.description } };
      byKey.set(key, slot);
    }
    slot.forms.set(r.name.trim(), (slot.forms.get(r.name.trim()) ?? 0) + r.chunks.length);
    slot.e.confidence = Math.max(slot.e.confidence, r.confidence);
    slot.e.chunks = [...new Set([...slot.e.chunks, ...r.chunks])].sort((a, b) => a - b);
    if (!slot.e.description && r.description) slot.e.description = r.description;
  }
  return [...byKey.values()].map(({ forms, e }) => {
    const ranked = [...forms.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    return { ...e, name: ranked[0]![0], aliases: ranked.map(([f]) => f) };
  });
}

export function entityKey(type: EntityType, name: string): string {
  return `${type}:${normaliseName(name, type)}`;
}
