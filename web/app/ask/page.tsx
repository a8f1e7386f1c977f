'use client';
import { Fragment, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { useQuery } from '@tanstack/react-query';
import { PdfView } from '../../components/PdfView';
import { MODEL_PROFILES, ProfileOptions, type ModelProfile } from '../../components/ProfileOptions';
import { unwrap, useApi, type ResponseOf } from '../../lib/api';
import { useI18n, type MessageKey } from '../../lib/i18n';
import { ApiFailure, useSession } from '../../lib/session';

interface Citation {
  n: number;
  document_id: string;
  title: string;
  chunk_id: string;
  page: number | null;
  snippet: string;
  score: number;
}
type Chunk = ResponseOf<'/api/chunks/{id}', 'get'>;
type Retrieved = ResponseOf<'/api/retrieve', 'post'>;

const MODES = ['hybrid', 'vector', 'keyword', 'graph'] as const;
type Mode = (typeof MODES)[number];
/** Where each chunk stood in each single mode's list (the retrieval-test table's columns). */
const RANKED_BY = ['vector', 'keyword', 'graph'] as const;
interface Answer {
  answer: string;
  citations: Citation[];
  validation: { grounded: boolean };
}

/** The answer with each `[n]` as a button that opens source n. */
function withCitations(text: string, citations: Citation[], open: (c: Citation) => void, label: (n: number) => string): ReactNode[] {
  const byN = new Map(citations.map((c) => [c.n, c]));
  return text.split(/(\[\d+\])/g).map((part, i) => {
    const m = /^\[(\d+)\]$/.exec(part);
    const c = m ? byN.get(Number(m[1])) : undefined;
    if (!c) return <Fragment key={i}>{part}</Fragment>;
    return (
      <button key={i} type="button" className="cite" aria-label={label(c.n)} data-citation={c.n} onClick={() => open(c)}>
        [{c.n}]
      </button>
    );
  });
}

export default function AskPage() {
  const { t } = useI18n();
  const session = useSession();
  const [busy, setBusy] = useState(false);
  const [stage, setStage] = useState<string | null>(null);
  const [draft, setDraft] = useState('');
  const [answer, setAnswer] = useState<Answer | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [source, setSource] = useState<Citation | null>(null);
  const panel = useRef<HTMLElement>(null);
  const form = useRef<HTMLFormElement>(null);
  const [mode, setMode] = useState<Mode>('hybrid');
  const [profile, setProfile] = useState<ModelProfile | ''>('');
  const [tab, setTab] = useState<'answer' | 'retrieval'>('answer');
  const [retrieved, setRetrieved] = useState<Retrieved | null>(null);
  const [testing, setTesting] = useState(false);
  const api = useApi();
  const questionOf = () => String(new FormData(form.current ?? undefined).get('question') ?? '').trim();

  const ask = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const question = questionOf();
    if (!question) return;
    setTab('answer');
    setBusy(true);
    setStage(null);
    setDraft('');
    setAnswer(null);
    setFailure(null);
    setSource(null);
    try {
      const res = await session.fetch('/api/query', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ question, stream: true, mode, ...(profile ? { profile } : {}) }) });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch((err: unknown) => ({ error: { message: (err as Error).message } }))) as { error?: { message?: string } };
        throw new ApiFailure(res.status, 'http_error', body.error?.message ?? res.statusText);
      }
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as Record<string, unknown>;
          if (event === 'stage') setStage(String(data.stage));
          else if (event === 'token') setDraft((d) => d + String(data.text));
          else if (event === 'reset') setDraft(String(data.text ?? ''));
          else if (event === 'answer') setAnswer(data as unknown as Answer);
          else if (event === 'error') setFailure(((data.error as { message?: string }) ?? {}).message ?? 'error');
        }
      }
    } catch (err) {
      if (!(err instanceof ApiFailure || err instanceof TypeError)) throw err;
      setFailure(err.message);
    } finally {
      setBusy(false);
    }
  };

  // The retrieval test: the ranked chunks for the question without an answer, each with its rank in
  // every single mode, so a user sees which mode found what.
  const testRetrieval = async () => {
    const question = questionOf();
    if (!question) {
      form.current?.reportValidity();
      return;
    }
    setTab('retrieval');
    setTesting(true);
    setFailure(null);
    try {
      setRetrieved(unwrap(await api.POST('/api/retrieve', { body: { question, mode, top_k: 10 } })));
    } catch (err) {
      if (!(err instanceof ApiFailure || err instanceof TypeError)) throw err;
      setRetrieved(null);
      setFailure(err.message);
    } finally {
      setTesting(false);
    }
  };

  // A cited PDF is shown at the cited page; the reader may leaf through it from there.
  const [pdfPage, setPdfPage] = useState(1);
  const open = (c: Citation) => {
    setSource(c);
    setPdfPage(c.page ?? 1);
  };
  // The cited chunk itself, in its context: the chunk before and after it, the cited one marked.
  const chunk = useQuery<Chunk>({
    queryKey: ['chunk', source?.chunk_id],
    enabled: !!source,
    queryFn: async () => unwrap(await api.GET('/api/chunks/{id}', { params: { path: { id: source!.chunk_id }, query: { neighbours: 1 } } })),
  });
  // The opened source takes the focus (keyboard and screen-reader users land on the passage).
  useEffect(() => {
    if (source) panel.current?.focus();
  }, [source]);
  const refused = answer !== null && answer.citations.length === 0 && /insufficient information/i.test(answer.answer);

  return (
    <section aria-labelledby="ask-title" className="ask">
      <h1 id="ask-title">{t('ask.title')}</h1>
      <form ref={form} onSubmit={(e) => void ask(e)} className="card">
        <label htmlFor="question">{t('ask.question')}</label>
        <textarea id="question" name="question" rows={3} required placeholder={t('ask.placeholder')} />
        <div className="row">
          <label>
            {t('ask.mode')}{' '}
            <select aria-label={t('ask.mode')} value={mode} onChange={(e) => setMode(e.target.value as Mode)}>
              {MODES.map((m) => (
                <option key={m} value={m}>
                  {t(`ask.mode.${m}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
          <label>
            {t('ask.profile')}{' '}
            <select aria-label={t('ask.profile')} value={profile} onChange={(e) => setProfile(e.target.value as ModelProfile | '')}>
              <ProfileOptions profiles={MODEL_PROFILES} none={t('ask.profile.default')} />
            </select>
          </label>
        </div>
        <div className="row">
          <button type="submit" disabled={busy}>
            {busy ? t('ask.busy') : t('ask.submit')}
          </button>
          <button type="button" className="ghost" disabled={testing} onClick={() => void testRetrieval()}>
            {testing ? t('ask.testing') : t('ask.test')}
          </button>
        </div>
      </form>
      {(answer || retrieved) && (
        <div role="tablist" aria-label={t('ask.views')} className="row">
          <button type="button" role="tab" aria-selected={tab === 'answer'} className={tab === 'answer' ? '' : 'ghost'} onClick={() => setTab('answer')}>
            {t('ask.answer')}
          </button>
          <button type="button" role="tab" aria-selected={tab === 'retrieval'} className={tab === 'retrieval' ? '' : 'ghost'} onClick={() => (retrieved ? setTab('retrieval') : void testRetrieval())}>
            {t('ask.retrieval')}
          </button>
        </div>
      )}
      {tab === 'retrieval' && retrieved && (
        <section className="card" role="tabpanel" aria-labelledby="retrieval-title" data-testid="retrieval">
          <h2 id="retrieval-title">{t('ask.retrieval')}</h2>
          <p>{t('ask.retrievalSummary', { count: retrieved.chunks.length, mode: t(`ask.mode.${retrieved.mode}` as MessageKey) })}</p>
          <div className="scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">{t('ask.source.column')}</th>
                  <th scope="col">{t('ask.score')}</th>
                  {RANKED_BY.map((m) => (
                    <th key={m} scope="col">
                      {t(`ask.mode.${m}` as MessageKey)}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {retrieved.chunks.map((c, i) => (
                  <tr key={c.chunk_id} data-chunk-id={c.chunk_id}>
                    <td>{i + 1}</td>
                    <td>
                      <strong>{c.title}</strong>
                      {c.page !== null ? `, ${t('ask.page', { page: c.page })}` : ''}
                      <br />
                      <span className="snippet">{c.text.length > 200 ? `${c.text.slice(0, 200)}…` : c.text}</span>
                    </td>
                    <td>{c.score.toFixed(3)}</td>
                    {RANKED_BY.map((m) => (
                      <td key={m} data-mode={m}>
                        {c.ranks[m] ?? '–'}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
      {busy && stage && (
        <p role="status" data-testid="stage">
          {t('ask.stage', { stage })}
        </p>
      )}
      {busy && draft && <p className="draft">{draft}</p>}
      {failure && (
        <p role="alert" className="error">
          {t('ask.failed', { message: failure })}
        </p>
      )}
      {tab === 'answer' && answer && (
        <article className="card answer" aria-labelledby="answer-title" data-testid="answer">
          <h2 id="answer-title">{t('ask.answer')}</h2>
          {refused ? (
            <p className="refused" data-testid="insufficient">
              {t('ask.insufficient')}
            </p>
          ) : (
            <>
              <p>{withCitations(answer.answer, answer.citations, open, (n) => t('ask.openSource', { n }))}</p>
              <p className={`badge ${answer.validation.grounded ? 'ok' : 'warn'}`} data-testid="grounded">
                {answer.validation.grounded ? t('ask.grounded') : t('ask.notGrounded')}
              </p>
              <h3>{t('ask.sources')}</h3>
              <ol className="sources">
                {answer.citations.map((c) => (
                  <li key={c.n} value={c.n}>
                    <button type="button" className="link" onClick={() => open(c)}>
                      {c.title}
                      {c.page !== null ? `, ${t('ask.page', { page: c.page })}` : ''}
                    </button>
                  </li>
                ))}
              </ol>
            </>
          )}
        </article>
      )}
      {source && (
        <aside ref={panel} tabIndex={-1} className="card source" aria-labelledby="source-title" data-testid="source" onKeyDown={(e) => e.key === 'Escape' && setSource(null)}>
          <div className="row">
            <h2 id="source-title">
              {t('ask.source', { n: source.n })}: {source.title}
              {source.page !== null ? `, ${t('ask.page', { page: source.page })}` : ''}
            </h2>
            <button type="button" className="ghost" onClick={() => setSource(null)}>
              {t('common.close')}
            </button>
          </div>
          {chunk.isError && (
            <p role="alert" className="error">
              {t('common.error', { message: chunk.error.message })}
            </p>
          )}
          <blockquote data-testid="passage">
            {chunk.data ? (
              <>
                {chunk.data.before.map((b) => (
                  <span key={b.chunk_id} className="context">
                    {b.text}{' '}
                  </span>
                ))}
                <mark>{chunk.data.text}</mark>
                {chunk.data.after.map((a) => (
                  <span key={a.chunk_id} className="context">
                    {' '}
                    {a.text}
                  </span>
                ))}
              </>
            ) : (
              <mark>{source.snippet}</mark>
            )}
          </blockquote>
          {chunk.data?.format === 'pdf' && chunk.data.page !== null && (
            <PdfView
              key={chunk.data.document_id}
              documentId={chunk.data.document_id}
              title={chunk.data.title}
              page={pdfPage}
              onPage={setPdfPage}
              highlight={pdfPage === chunk.data.page ? chunk.data.text : undefined}
            />
          )}
        </aside>
      )}
    </section>
  );
}
