import * as cheerio from 'cheerio';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import { XMLParser } from 'fast-xml-parser';
import { simpleParser } from 'mailparser';
import mammoth from 'mammoth';
import MarkdownIt from 'markdown-it';
import { PDFParse } from 'pdf-parse';
import { YAMLError, parse as parseYaml } from 'yaml';
import { decodeText, type Detected } from '../domain/formats';
import { BadDocumentError, type Extracted, type ExtractedMetadata, type Section } from './types';
import { InflationBudget, readZip } from './zip';

/** Extracts text with its structure (pages, headings, tables, slides, sheets, links) from the bytes. */
export async function extractContent(bytes: Buffer, detected: Detected, filename: string): Promise<Extracted> {
  let out: Extracted;
  switch (detected.format) {
    case 'pdf':
      out = await extractPdf(bytes);
      break;
    case 'docx':
      out = await extractDocx(bytes);
      break;
    case 'pptx':
      out = await extractPptx(bytes);
      break;
    case 'xlsx':
      out = await extractXlsx(bytes);
      break;
    case 'html':
      out = extractHtml(decodeText(bytes, detected.encoding ?? 'utf-8'));
      break;
    case 'markdown':
      out = extractMarkdown(decodeText(bytes, detected.encoding ?? 'utf-8'));
      break;
    case 'csv':
      out = extractCsv(decodeText(bytes, detected.encoding ?? 'utf-8'));
      break;
    case 'json':
      out = extractJson(decodeText(bytes, detected.encoding ?? 'utf-8'));
      break;
    case 'email':
      out = await extractEmail(bytes);
      break;
    case 'text':
      out = extractPlain(decodeText(bytes, detected.encoding ?? 'utf-8'));
      break;
  }
  out.sections = out.sections.map((s) => ({ ...s, text: normaliseWhitespace(s.text) })).filter((s) => s.text.length > 0);
  if (out.sections.length === 0 && out.attachments.length === 0) {
    throw new BadDocumentError('EmptyDocument', `no text could be extracted from ${filename} (${detected.format}); scanned documents need OCR, which is not offered`);
  }
  return out;
}

function normaliseWhitespace(s: string): string {
  return s
    .replace(/\r\n?/g, '\n')
    .replace(/[\t\f\v ]+/g, ' ')
    .replace(/ *\n */g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

const URL_RE = /\bhttps?:\/\/[^\s<>"')\]]+/g;
const linksIn = (text: string) => [...new Set(text.match(URL_RE) ?? [])];

async function extractPdf(bytes: Buffer): Promise<Extracted> {
  const parser = new PDFParse({ data: new Uint8Array(bytes), stopAtErrors: true } as ConstructorParameters<typeof PDFParse>[0]);
  try {
    const info = await parser.getInfo().catch((err: Error) => {
      throw new BadDocumentError('CorruptDocument', `the PDF cannot be read: ${err.message}`);
    });
    const text = await parser.getText().catch((err: Error) => {
      throw new BadDocumentError('CorruptDocument', `the PDF cannot be read: ${err.message}`);
    });
    const sections: Section[] = text.pages.map((p) => ({ text: p.text, kind: 'body', page: p.num }));
    const i = (info.info ?? {}) as Record<string, unknown>;
    const dates = info.getDateNode() as Record<string, Date | undefined>;
    return {
      sections,
      metadata: {
        title: typeof i.Title === 'string' && i.Title.trim() ? i.Title.trim() : undefined,
        authors: typeof i.Author === 'string' && i.Author.trim() ? [i.Author.trim()] : undefined,
        subject: typeof i.Subject === 'string' && i.Subject.trim() ? i.Subject.trim() : undefined,
        created: (dates.CreationDate ?? dates.XmpCreateDate)?.toISOString?.(),
        modified: (dates.ModDate ?? dates.XmpModifyDate)?.toISOString?.(),
        pages: info.total,
      },
      links: linksIn(text.text),
      attachments: [],
    };
  } finally {
    // Releasing the parser's worker; a failure there does not spoil the text already extracted.
    await parser.destroy().catch((err: Error) => console.warn(`the PDF parser could not be released: ${err.message}`));
  }
}

/**
 * An OOXML package's core properties. Every entry is inflated (and counted against the document's
 * budget) first: Word and Excel documents are then read by libraries that inflate the package
 * themselves, which is safe only once the real inflated size is known to be within bounds.
 */
async function ooxmlCoreProperties(bytes: Buffer, keep: (name: string) => boolean = () => false) {
  const files = await readZip(bytes, InflationBudget.forDocument(bytes.length), { inflateAll: true, keep: (n) => n === 'docProps/core.xml' || keep(n) });
  const core = files.get('docProps/core.xml')?.toString('utf8');
  if (!core) return { files, meta: {} as Extracted['metadata'] };
  const x = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true }).parse(core)?.coreProperties ?? {};
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : typeof v === 'object' && v && '#text' in v ? String((v as { '#text': unknown })['#text']) : undefined);
  return {
    files,
    meta: {
      title: str(x.title),
      authors: str(x.creator) ? [str(x.creator)!] : undefined,
      subject: str(x.subject),
      created: str(x.created),
      modified: str(x.modified),
    } as Extracted['metadata'],
  };
}

async function extractDocx(bytes: Buffer): Promise<Extracted> {
  const { meta } = await ooxmlCoreProperties(bytes);
  let html: string;
  try {
    html = (await mammoth.convertToHtml({ buffer: bytes })).value;
  } catch (err) {
    throw new BadDocumentError('CorruptDocument', `the Word document cannot be read: ${(err as Error).message}`);
  }
  const out = extractHtml(`<body>${html}</body>`);
  return { ...out, metadata: { ...meta, title: meta.title ?? out.metadata.title } };
}

/** An XML node as fast-xml-parser gives it with preserveOrder: one key (the tag), its children, and attributes under ':@'. */
type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };
const tagOf = (n: XmlNode) => Object.keys(n).find((k) => k !== ':@')!;
const childrenOf = (n: XmlNode) => (Array.isArray(n[tagOf(n)]) ? (n[tagOf(n)] as XmlNode[]) : []);
function textOf(nodes: XmlNode[]): string {
  return nodes.map((n) => (tagOf(n) === '#text' ? String(n['#text']) : textOf(childrenOf(n)))).join('');
}
/** Every node with the tag, depth first, without descending into a match. */
function findAll(nodes: XmlNode[], tag: string): XmlNode[] {
  return nodes.flatMap((n) => (tagOf(n) === tag ? [n] : findAll(childrenOf(n), tag)));
}

/** Slides' text by paragraph (DrawingML `a:p` / `a:t`, read with an XML parser) and their external links. */
async function extractPptx(bytes: Buffer): Promise<Extracted> {
  const slidePath = /^ppt\/slides\/slide(\d+)\.xml$/;
  const relsPath = /^ppt\/slides\/_rels\/slide\d+\.xml\.rels$/;
  const { files, meta } = await ooxmlCoreProperties(bytes, (n) => slidePath.test(n) || relsPath.test(n));
  const xml = new XMLParser({ preserveOrder: true, removeNSPrefix: true, ignoreAttributes: false, attributeNamePrefix: '', trimValues: false, processEntities: true, htmlEntities: false });
  const parse = (name: string): XmlNode[] => {
    try {
      return xml.parse(files.get(name)!.toString('utf8')) as XmlNode[];
    } catch (err) {
      throw new BadDocumentError('CorruptDocument', `${name} in the presentation is not well-formed XML: ${(err as Error).message}`);
    }
  };
  const slideNames = [...files.keys()].filter((n) => slidePath.test(n)).sort((a, b) => Number(slidePath.exec(a)![1]) - Number(slidePath.exec(b)![1]));
  const sections: Section[] = [];
  const links: string[] = [];
  for (const [i, name] of slideNames.entries()) {
    const paragraphs = findAll(parse(name), 'p').map((p) => findAll(childrenOf(p), 't').map((t) => textOf(childrenOf(t))).join(''));
    const text = paragraphs.filter((p) => p.trim()).join('\n');
    if (text) sections.push({ text, kind: 'slide', page: i + 1, heading: paragraphs.find((p) => p.trim()) });
    const rels = name.replace('slides/', 'slides/_rels/') + '.rels';
    if (files.has(rels)) {
      for (const r of findAll(parse(rels), 'Relationship')) {
        const target = r[':@']?.Target;
        if (target && /^https?:/i.test(target)) links.push(target);
      }
    }
  }
  return { sections, metadata: { ...meta, slides: slideNames.length }, links: [...new Set(links)], attachments: [] };
}

async function extractXlsx(bytes: Buffer): Promise<Extracted> {
  const { meta } = await ooxmlCoreProperties(bytes);
  const wb = new ExcelJS.Workbook();
  try {
    await wb.xlsx.load(bytes as unknown as ArrayBuffer);
  } catch (err) {
    throw new BadDocumentError('CorruptDocument', `the Excel workbook cannot be read: ${(err as Error).message}`);
  }
  const sections: Section[] = [];
  const links: string[] = [];
  wb.worksheets.forEach((ws, i) => {
    const rows: string[] = [];
    ws.eachRow({ includeEmpty: false }, (row) => {
      const cells = (row.values as unknown[]).slice(1).map((v) => cellText(v, links));
      if (cells.some((c) => c !== '')) rows.push(cells.join(' | '));
    });
    if (rows.length) sections.push({ text: rows.join('\n'), kind: 'sheet', page: i + 1, heading: ws.name });
  });
  return { sections, metadata: { ...meta, sheets: wb.worksheets.length }, links: [...new Set(links)], attachments: [] };
}

function cellText(v: unknown, links: string[]): string {
  if (v === null || v === undefined) return '';
  if (v instanceof Date) return v.toISOString().slice(0, 10);
  if (typeof v === 'object') {
    const o = v as { text?: unknown; hyperlink?: string; result?: unknown; richText?: { text: string }[] };
    if (o.hyperlink) links.push(o.hyperlink);
    if (o.richText) return o.richText.map((r) => r.text).join('');
    if (o.text !== undefined) return String(o.text);
    if (o.result !== undefined) return String(o.result);
    return '';
  }
  return String(v);
}

function extractHtml(html: string): Extracted {
  const $ = cheerio.load(html);
  $('script, style, noscript, template, svg, iframe').remove();
  const title = $('title').first().text().trim() || $('h1').first().text().trim() || undefined;
  const authors = $('meta[name="author"]').attr('content');
  const links = new Set<string>();
  $('a[href]').each((_, a) => {
    const href = $(a).attr('href')!;
    if (/^(https?:|\.{0,2}\/|[\w-]+\.(html?|md|pdf|docx))/i.test(href)) links.add(href);
  });
  const sections: Section[] = [];
  let heading: string | undefined;
  const blocks = $('h1,h2,h3,h4,h5,h6,p,li,table,pre,blockquote,dd,dt');
  if (blocks.length === 0) {
    sections.push({ text: $('body').length ? $('body').text() : $.root().text(), kind: 'body' });
  }
  blocks.each((_, el) => {
    const tag = (el as { tagName?: string }).tagName?.toLowerCase() ?? '';
    if (/^h[1-6]$/.test(tag)) {
      heading = $(el).text().trim();
      if (heading) sections.push({ text: heading, kind: 'heading', heading });
    } else if (tag === 'table') {
      const rows = $(el)
        .find('tr')
        .map((__, tr) =>
          $(tr)
            .find('th,td')
            .map((___, c) => $(c).text().trim())
            .get()
            .join(' | '),
        )
        .get();
      sections.push({ text: rows.join('\n'), kind: 'table', heading });
    } else if ($(el).parents('table').length === 0 && $(el).parents('li').length === 0) {
      sections.push({ text: $(el).text(), kind: 'body', heading });
    }
  });
  return { sections, metadata: { title, authors: authors ? [authors] : undefined }, links: [...links], attachments: [] };
}

/**
 * YAML front matter (`---` … `---` at the very start) carries a document's own metadata: title,
 * author(s), date, source (publisher), url. Malformed front matter is kept as text, never fatal.
 */
export function splitFrontMatter(text: string): { meta: Partial<ExtractedMetadata>; body: string } {
  const m = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)/.exec(text);
  if (!m) return { meta: {}, body: text };
  let raw: unknown;
  try {
    raw = parseYaml(m[1]!, { maxAliasCount: 10 });
  } catch (err) {
    if (err instanceof YAMLError) return { meta: {}, body: text }; // malformed front matter stays text
    throw err;
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { meta: {}, body: text };
  const o = raw as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim().slice(0, 500) : v instanceof Date ? v.toISOString() : undefined);
  const authors = Array.isArray(o.authors) ? o.authors.map(str).filter((a): a is string => !!a) : str(o.author) ? [str(o.author)!] : undefined;
  const meta: Partial<ExtractedMetadata> = {
    title: str(o.title),
    authors,
    created: str(o.published_at) ?? str(o.date) ?? str(o.created),
    source: str(o.source) ?? str(o.publisher),
    url: str(o.url),
  };
  return { meta: Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)), body: text.slice(m[0].length) };
}

function extractMarkdown(input: string): Extracted {
  const { meta, body: text } = splitFrontMatter(input);
  const md = new MarkdownIt({ html: false, linkify: true });
  const tokens = md.parse(text, {});
  const sections: Section[] = [];
  const links = new Set<string>();
  let heading: string | undefined;
  let title: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.type === 'heading_open') {
      heading = tokens[i + 1]?.content.trim();
      if (t.tag === 'h1' && !title) title = heading;
      if (heading) sections.push({ text: heading, kind: 'heading', heading });
      i += 2;
    } else if (t.type === 'inline') {
      for (const child of t.children ?? []) if (child.type === 'link_open') links.add(child.attrGet('href') ?? '');
      sections.push({ text: t.content, kind: 'body', heading });
    } else if (t.type === 'fence' || t.type === 'code_block') {
      sections.push({ text: t.content, kind: 'body', heading });
    }
  }
  links.delete('');
  return { sections, metadata: { title, ...meta }, links: [...links], attachments: [] };
}

function extractCsv(text: string): Extracted {
  const delimiter = [',', ';', '\t'].sort((a, b) => text.split(b).length - text.split(a).length)[0]!;
  let rows: string[][];
  try {
    rows = parseCsv(text, { delimiter, relax_column_count: true, skip_empty_lines: true, bom: true }) as string[][];
  } catch (err) {
    throw new BadDocumentError('CorruptDocument', `the CSV cannot be parsed: ${(err as Error).message}`);
  }
  const [header, ...body] = rows;
  // Each row becomes "column: value" pairs so a chunk keeps its meaning out of context.
  const lines = body.map((r) => r.map((v, i) => `${header?.[i] ?? `col${i + 1}`}: ${v}`).join('; '));
  const sections: Section[] = [];
  for (let i = 0; i < lines.length; i += 50) sections.push({ text: lines.slice(i, i + 50).join('\n'), kind: 'table' });
  return { sections, metadata: {}, links: linksIn(text), attachments: [] };
}

function extractJson(text: string): Extracted {
  const value = JSON.parse(text) as unknown;
  const lines: string[] = [];
  const walk = (v: unknown, path: string) => {
    if (lines.length > 200_000) return;
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    else if (v !== null && v !== undefined && String(v).trim() !== '') lines.push(`${path}: ${String(v)}`);
  };
  walk(value, '');
  const title = value && typeof value === 'object' && !Array.isArray(value) && typeof (value as { title?: unknown }).title === 'string' ? (value as { title: string }).title : undefined;
  const sections: Section[] = [];
  for (let i = 0; i < lines.length; i += 40) sections.push({ text: lines.slice(i, i + 40).join('\n'), kind: 'body' });
  return { sections, metadata: { title }, links: linksIn(text), attachments: [] };
}

async function extractEmail(bytes: Buffer): Promise<Extracted> {
  const mail = await simpleParser(bytes, { skipImageLinks: true, skipTextToHtml: true });
  const from = mail.from?.value.map((a) => a.name || a.address || '').filter(Boolean) ?? [];
  const to = (Array.isArray(mail.to) ? mail.to : mail.to ? [mail.to] : []).flatMap((t) => t.value.map((a) => a.name || a.address || ''));
  const header = [`From: ${from.join(', ')}`, `To: ${to.join(', ')}`, `Subject: ${mail.subject ?? ''}`, mail.date ? `Date: ${mail.date.toISOString()}` : '']
    .filter(Boolean)
    .join('\n');
  let body = mail.text ?? '';
  if (!body.trim() && typeof mail.html === 'string') body = extractHtml(mail.html).sections.map((s) => s.text).join('\n\n');
  const sections: Section[] = [{ text: header, kind: 'email-header', heading: mail.subject }];
  for (const para of body.split(/\n\s*\n/)) sections.push({ text: para, kind: 'body', heading: mail.subject });
  return {
    sections,
    metadata: { title: mail.subject, authors: from, created: mail.date?.toISOString() },
    links: linksIn(body),
    attachments: mail.attachments
      .filter((a) => a.content?.length > 0 && a.contentDisposition !== 'inline')
      .map((a) => ({ filename: a.filename ?? 'attachment', contentType: a.contentType, bytes: a.content })),
  };
}

function extractPlain(text: string): Extracted {
  const sections: Section[] = text.split(/\n\s*\n/).map((p) => ({ text: p, kind: 'body' }));
  const firstLine = text.trim().split('\n')[0]?.trim();
  return { sections, metadata: { title: firstLine && firstLine.length <= 120 ? firstLine : undefined }, links: linksIn(text), attachments: [] };
}
