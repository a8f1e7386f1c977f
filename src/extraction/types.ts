export type SectionKind = 'body' | 'heading' | 'table' | 'slide' | 'sheet' | 'email-header';

/** A run of text with its place in the document, kept so chunks can cite pages and sections. */
export interface Section {
  text: string;
  kind: SectionKind;
  /** 1-based page (PDF) or slide / sheet number. */
  page?: number;
  /** The heading this text sits under. */
  heading?: string;
}

export interface Attachment {
  filename: string;
  contentType: string;
  bytes: Buffer;
}

export interface ExtractedMetadata {
  title?: string;
  authors?: string[];
  created?: string;
  modified?: string;
  pages?: number;
  slides?: number;
  sheets?: number;
  subject?: string;
  /** The publisher or origin (front matter, site name, sender's domain). */
  source?: string;
  url?: string;
  /** Attachments not made into documents (too many, or attached too deep), and why. */
  attachments_skipped?: { count: number; reason: string };
}

export interface Extracted {
  sections: Section[];
  metadata: ExtractedMetadata;
  /** Outgoing links and references (URLs or file names): REFERENCES candidates between documents. */
  links: string[];
  attachments: Attachment[];
}

/** A file that the pipeline refuses, with a reason a person can act on. */
export class BadDocumentError extends Error {
  constructor(
    readonly type: 'CorruptDocument' | 'ArchiveBomb' | 'EmptyDocument' | 'UnsupportedFormat',
    message: string,
  ) {
    super(message);
    this.name = 'BadDocumentError';
  }
}
