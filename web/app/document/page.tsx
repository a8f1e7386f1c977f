'use client';
import { useQuery } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, useMemo, useRef, useState } from 'react';
import { colourOf, type GraphEdge, type GraphNode } from '../../components/GraphCanvas';
import { INGEST_PROFILES, ProfileOptions, type IngestProfile } from '../../components/ProfileOptions';
import { saveResponse, unwrap, useApi } from '../../lib/api';
import { useI18n, type MessageKey } from '../../lib/i18n';
import { ApiFailure, useSession } from '../../lib/session';
import { PdfView } from '../../components/PdfView';
import { QueryStatus } from '../../components/QueryStatus';

const PAGE = 50;
/** States in which an ingestion still runs: the page follows them until they end. */
const RUNNING = new Set(['queued', 'processing', 'deleting']);
const GraphCanvas = dynamic(() => import('../../components/GraphCanvas'), { ssr: false });

/** The entities a document mentions and the graph around them (one step out). */
function DocumentGraph({ id }: { id: string }) {
  const { t, number } = useI18n();
  const api = useApi();
  const [selected, setSelected] = useState<string | null>(null);
  const sub = useQuery({ queryKey: ['document-graph', id], queryFn: async () => unwrap(await api.GET('/api/graph/data', { params: { query: { document_id: id, depth: 1, limit: 200, offset: 0 } } })) });
  const data = useMemo(() => {
    if (!sub.data) return null;
    const nodes = sub.data.nodes as GraphNode[];
    const edges = sub.data.edges.map((e) => ({ ...e, weight: typeof e.weight === 'number' ? e.weight : 1 })) as GraphEdge[];
    const seeds = new Set(sub.data.seeds);
    return { nodes, edges, own: nodes.filter((n) => seeds.has(n.id)), types: [...new Set(nodes.map((n) => n.type))].sort() };
  }, [sub.data]);
  if (!data) return <QueryStatus query={sub} />;
  if (data.own.length === 0) return <p>{t('document.noEntities')}</p>;
  return (
    <div className="graph-layout">
      <GraphCanvas nodes={data.nodes} edges={data.edges} types={data.types} selected={selected} onSelect={setSelected} label={t('graph.canvas', { count: data.nodes.length })} />
      <ul className="entity-list" data-testid="document-entities">
        {data.own.map((n) => (
          <li key={n.id} aria-current={n.id === selected ? 'true' : undefined}>
            <span className="swatch" style={{ background: colourOf(n.type, data.types) }} aria-hidden="true" /> <Link href={`/graph?entity=${encodeURIComponent(n.id)}`}>{n.name}</Link>{' '}
            <span className="sub">
              {n.type} · {t('graph.mentions', { count: number(n.mentions) })}
            </span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** One document: its record, its chunks in order, and the original file as uploaded. */
function DocumentView({ id }: { id: string }) {
  const { t, number, dateTime } = useI18n();
  const session = useSession();
  const api = useApi();
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [profile, setProfile] = useState<string>('');
  const [reprocessing, setReprocessing] = useState(false);
  // The PDF's page in view, and the chunk whose lines are marked on it (a chunk's "Show page").
  const [pdfPage, setPdfPage] = useState(1);
  const [marked, setMarked] = useState<string | undefined>(undefined);
  const original = useRef<HTMLElement>(null);
  const doc = useQuery({
    queryKey: ['document', id],
    queryFn: async () => unwrap(await api.GET('/api/documents/{id}', { params: { path: { id } } })),
    refetchInterval: (q) => (q.state.data && RUNNING.has(q.state.data.status) ? 1500 : false),
  });

  // Processing again, with the profile chosen (the document's own when none is).
  const reprocess = async () => {
    setError(null);
    setReprocessing(true);
    try {
      unwrap(await api.POST('/api/documents/{id}/reprocess', { params: { path: { id } }, body: profile ? { profile: profile as IngestProfile } : {} }));
      await doc.refetch();
    } catch (err) {
      if (!(err instanceof ApiFailure || err instanceof TypeError)) throw err;
      setError(t('common.error', { message: err.message }));
    } finally {
      setReprocessing(false);
    }
  };
  const chunks = useQuery({ queryKey: ['document-chunks', id, offset], queryFn: async () => unwrap(await api.GET('/api/documents/{id}/chunks', { params: { path: { id }, query: { limit: PAGE, offset } } })) });

  // The file needs the access token, which a plain link cannot carry: fetched, then saved.
  const download = async () => {
    setError(null);
    const res = await session.fetch(`/api/documents/${id}/file`);
    if (!res.ok) {
      setError(t('common.error', { message: `${res.status}` }));
      return;
    }
    await saveResponse(res, doc.data?.filename ?? id);
  };

  if (!doc.data) return <QueryStatus query={doc} notFound="document.notFound" />;
  const d = doc.data;
  const counts = d.counts;
  return (
    <section aria-labelledby="doc-title">
      <h1 id="doc-title">{d.title ?? d.filename}</h1>
      <dl className="facts">
        <dt>{t('document.file')}</dt>
        <dd>{d.filename}</dd>
        <dt>{t('docs.col.status')}</dt>
        <dd data-testid="doc-status">{t(`status.${d.status}` as MessageKey)}</dd>
        <dt>{t('document.language')}</dt>
        <dd>{d.language ?? '–'}</dd>
        <dt>{t('docs.col.chunks')}</dt>
        <dd>{counts.chunks !== undefined ? number(counts.chunks) : '–'}</dd>
        <dt>{t('docs.col.entities')}</dt>
        <dd>{counts.entities !== undefined ? number(counts.entities) : '–'}</dd>
        <dt>{t('document.visibility')}</dt>
        <dd>{d.visibility === 'private' ? t('document.private') : t('document.organisation')}</dd>
        <dt>{t('document.profile')}</dt>
        <dd data-testid="doc-profile">{d.profile}</dd>
        <dt>{t('docs.col.updated')}</dt>
        <dd>{dateTime(d.updated_at)}</dd>
      </dl>
      <div className="row">
        <button type="button" onClick={() => void download()}>
          {t('document.download')}
        </button>
        {session.user?.permissions.includes('write') && (
          <>
            <label>
              {t('document.reprocessProfile')}{' '}
              <select value={profile} onChange={(e) => setProfile(e.target.value)}>
                <ProfileOptions profiles={INGEST_PROFILES} none={t('document.sameProfile', { profile: d.profile })} />
              </select>
            </label>
            <button type="button" className="ghost" disabled={reprocessing || RUNNING.has(d.status)} onClick={() => void reprocess()}>
              {t('document.reprocess')}
            </button>
          </>
        )}
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {d.format === 'pdf' && (
        <section ref={original} aria-labelledby="original-title">
          <h2 id="original-title">{t('document.original')}</h2>
          <PdfView documentId={id} title={d.title ?? d.filename} page={pdfPage} onPage={(n) => (setPdfPage(n), setMarked(undefined))} highlight={marked} />
        </section>
      )}
      {d.status === 'completed' && (
        <>
          <h2>{t('document.entities')}</h2>
          <DocumentGraph id={id} />
        </>
      )}
      <h2>{t('document.chunks')}</h2>
      {chunks.data && (
        <>
          <ol className="history" data-testid="chunks">
            {chunks.data.chunks.map((c) => (
              <li key={c.chunk_id} className="card">
                <p className="sub">
                  #{c.position + 1}
                  {c.page !== null ? ` · ${t('ask.page', { page: c.page })}` : ''}
                  {c.section ? ` · ${c.section}` : ''}
                  {d.format === 'pdf' && c.page !== null && (
                    <>
                      {' '}
                      <button
                        type="button"
                        className="link"
                        onClick={() => {
                          setPdfPage(c.page!);
                          setMarked(c.text);
                          original.current?.scrollIntoView({ block: 'start' });
                        }}
                      >
                        {t('document.showPage', { page: c.page })}
                      </button>
                    </>
                  )}
                </p>
                <p className="passage">{c.text}</p>
              </li>
            ))}
          </ol>
          {chunks.data.total > PAGE && (
            <nav className="row" aria-label={t('history.pages')}>
              <button type="button" className="ghost" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                {t('history.newer')}
              </button>
              <span>{t('history.range', { from: offset + 1, to: offset + chunks.data.chunks.length, total: chunks.data.total })}</span>
              <button type="button" className="ghost" disabled={offset + PAGE >= chunks.data.total} onClick={() => setOffset(offset + PAGE)}>
                {t('history.older')}
              </button>
            </nav>
          )}
        </>
      )}
    </section>
  );
}

function DocumentPage() {
  const { t } = useI18n();
  const id = useSearchParams().get('id') ?? '';
  if (!id)
    return (
      <p role="alert" className="error">
        {t('document.notFound')}
      </p>
    );
  return <DocumentView key={id} id={id} />;
}

export default function Page() {
  return (
    <Suspense>
      <DocumentPage />
    </Suspense>
  );
}
