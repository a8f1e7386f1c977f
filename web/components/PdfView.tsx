'use client';
import { useEffect, useRef, useState } from 'react';
import type { PDFDocumentProxy, RenderTask } from 'pdfjs-dist';
import { useI18n } from '../lib/i18n';
import { useSession } from '../lib/session';

type PdfJs = typeof import('pdfjs-dist');

let pdfjsLoaded: Promise<PdfJs> | null = null;

/**
 * pdf.js, loaded on first use (its own chunk, never in a page's first load), parsing in its own Web Worker
 * bundled with the application: nothing is fetched from elsewhere.
 */
function loadPdfJs(): Promise<PdfJs> {
  pdfjsLoaded ??= import('pdfjs-dist').then((pdfjs) => {
    pdfjs.GlobalWorkerOptions.workerPort ??= new Worker(new URL('pdfjs-dist/build/pdf.worker.min.mjs', import.meta.url), { type: 'module' });
    return pdfjs;
  });
  return pdfjsLoaded;
}

/** Lower case with runs of white space as one space: how a passage and a PDF's text lines are compared. */
const normalise = (s: string) => s.replace(/\s+/g, ' ').trim().toLowerCase();

/** Text lines shorter than this are not marked even when the passage contains them (a lone "the" would be). */
const MIN_MARKED = 8;

type State = { kind: 'loading' } | { kind: 'failed'; message: string } | { kind: 'ready'; doc: PDFDocumentProxy };

/**
 * A PDF as uploaded, drawn page by page with pdf.js: the original file is fetched with the session's token,
 * one page is drawn at the width of the panel, and the text lines of `highlight` (a cited passage) are
 * marked on it. The page is the caller's, so a citation can move the view.
 */
export function PdfView({ documentId, title, page, onPage, highlight }: { documentId: string; title: string; page: number; onPage: (page: number) => void; highlight?: string }) {
  const { t, number } = useI18n();
  const { fetch: fetchApi } = useSession();
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [drawn, setDrawn] = useState<{ page: number; marked: number } | null>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const frame = useRef<HTMLDivElement>(null);

  // The file, once per document.
  useEffect(() => {
    let live = true;
    let loaded: PDFDocumentProxy | null = null;
    setState({ kind: 'loading' });
    (async () => {
      const res = await fetchApi(`/api/documents/${encodeURIComponent(documentId)}/file`);
      if (!res.ok) throw new Error(`${res.status}`);
      const data = new Uint8Array(await res.arrayBuffer());
      const pdfjs = await loadPdfJs();
      loaded = await pdfjs.getDocument({ data, isEvalSupported: false }).promise;
      if (live) setState({ kind: 'ready', doc: loaded });
      else await loaded.destroy();
    })().catch((err: unknown) => {
      // A file that cannot be fetched or parsed is shown as such; anything else is a defect.
      if (!(err instanceof Error)) throw err;
      if (live) setState({ kind: 'failed', message: err.message });
    });
    return () => {
      live = false;
      void loaded?.destroy();
    };
  }, [documentId, fetchApi]);

  const pages = state.kind === 'ready' ? state.doc.numPages : 0;
  const shown = pages ? Math.min(Math.max(1, page), pages) : page;

  // The page, drawn again when it, the passage or the document changes.
  useEffect(() => {
    if (state.kind !== 'ready' || !canvas.current) return;
    let task: RenderTask | null = null;
    let live = true;
    setDrawn(null);
    (async () => {
      const pdfjs = await loadPdfJs();
      const p = await state.doc.getPage(shown);
      const width = frame.current?.clientWidth || 600;
      const scale = width / p.getViewport({ scale: 1 }).width;
      const ratio = window.devicePixelRatio || 1;
      const viewport = p.getViewport({ scale: scale * ratio });
      const c = canvas.current;
      if (!live || !c) return;
      c.width = Math.floor(viewport.width);
      c.height = Math.floor(viewport.height);
      c.style.width = `${Math.floor(viewport.width / ratio)}px`;
      c.style.height = `${Math.floor(viewport.height / ratio)}px`;
      task = p.render({ canvas: c, viewport });
      await task.promise;
      // The passage's lines, marked where the page's text items lie.
      let marked = 0;
      const target = highlight ? normalise(highlight) : '';
      if (target) {
        const ctx = c.getContext('2d')!;
        ctx.save();
        ctx.globalCompositeOperation = 'multiply';
        ctx.fillStyle = 'rgba(255, 214, 0, 0.55)';
        for (const item of (await p.getTextContent()).items) {
          if (!('str' in item)) continue;
          const line = normalise(item.str);
          if (line.length < MIN_MARKED || !target.includes(line)) continue;
          const [, , c2, d2, e, f] = pdfjs.Util.transform(viewport.transform, item.transform) as number[];
          const height = Math.hypot(c2!, d2!);
          ctx.fillRect(e!, f! - height, item.width * viewport.scale, height * 1.25);
          marked++;
        }
        ctx.restore();
      }
      if (live) setDrawn({ page: shown, marked });
    })().catch((err: unknown) => {
      // A newer page replaced this one before it was drawn: nothing to show for it.
      if (err instanceof Error && err.name === 'RenderingCancelledException') return;
      if (!(err instanceof Error)) throw err;
      if (live) setState({ kind: 'failed', message: err.message });
    });
    return () => {
      live = false;
      task?.cancel();
    };
  }, [state, shown, highlight]);

  if (state.kind === 'failed')
    return (
      <p role="alert" className="error">
        {t('pdf.failed', { message: state.message })}
      </p>
    );
  return (
    <figure className="pdf" data-testid="pdf-view" data-page={shown} data-pages={pages || undefined} data-state={drawn?.page === shown ? 'drawn' : 'loading'} data-marked={drawn?.marked}>
      <nav className="row" aria-label={t('pdf.pages')}>
        <button type="button" className="ghost" disabled={!pages || shown <= 1} onClick={() => onPage(shown - 1)}>
          {t('pdf.previous')}
        </button>
        <span aria-live="polite">{pages ? t('pdf.pageOf', { page: number(shown), pages: number(pages) }) : t('pdf.loading')}</span>
        <button type="button" className="ghost" disabled={!pages || shown >= pages} onClick={() => onPage(shown + 1)}>
          {t('pdf.next')}
        </button>
      </nav>
      <div ref={frame} className="pdf-frame">
        <canvas ref={canvas} role="img" aria-label={t('pdf.label', { page: shown, title })} />
      </div>
    </figure>
  );
}
