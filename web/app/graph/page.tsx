'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useMemo, useRef, useState } from 'react';
import { colourOf, relationColourOf, relationTypes, type GraphEdge, type GraphNode } from '../../components/GraphCanvas';
import { ViewSwitch } from '../../components/ViewSwitch';
import { unwrap, useApi } from '../../lib/api';
import { useI18n } from '../../lib/i18n';
import { useLiveChannel } from '../../lib/live';
import { ApiFailure, useSession } from '../../lib/session';

// sigma.js and graphology in a chunk of their own, loaded only by this page and only in the browser.
const GraphCanvas = dynamic(() => import('../../components/GraphCanvas'), { ssr: false });

const SIZES = [200, 500, 2000, 5000];
const LISTED = 200;

export default function GraphPage() {
  return (
    <Suspense>
      <GraphView />
    </Suspense>
  );
}

function GraphView() {
  const { t, number } = useI18n();
  // A link such as a document page's (?entity=…) opens the graph with that entity chosen.
  const initial = useSearchParams().get('entity');
  const session = useSession();
  const api = useApi();
  const client = useQueryClient();
  const [limit, setLimit] = useState(500);
  const [view, setView] = useState<'graph' | 'list'>('graph');
  const [selected, setSelected] = useState<string | null>(initial);
  const [search, setSearch] = useState('');
  const [fresh, setFresh] = useState<Set<string>>(new Set());

  const overview = useQuery({
    queryKey: ['graph-overview', session.workspaceId, limit],
    queryFn: async () => unwrap(await api.GET('/api/graph/overview', { params: { query: { limit } } })),
  });
  const found = useQuery({
    queryKey: ['graph-search', session.workspaceId, search],
    enabled: search.trim().length > 0,
    queryFn: async () => unwrap(await api.GET('/api/graph/entities', { params: { query: { q: search.trim(), limit: 10, offset: 0, sort: 'mentions' } } })),
  });
  const entity = useQuery({
    queryKey: ['graph-entity', selected],
    enabled: !!selected,
    queryFn: async () => unwrap(await api.GET('/api/graph/entities/{id}', { params: { path: { id: selected! } } })),
  });

  const nodes = overview.data?.nodes as GraphNode[] | undefined;
  const edges = overview.data?.edges as GraphEdge[] | undefined;
  const types = useMemo(() => [...new Set((nodes ?? []).map((n) => n.type))].sort(), [nodes]);
  const relations = useMemo(() => relationTypes(edges ?? []), [edges]);
  const relationNames = useMemo(() => relations.map((r) => r.type), [relations]);
  const shown = useRef<Set<string>>(new Set());
  shown.current = useMemo(() => new Set((nodes ?? []).map((n) => n.id)), [nodes]);

  // Graph changes as documents finish: entities not drawn yet are counted until the user reloads.
  const onMessage = useCallback((msg: Record<string, unknown>) => {
    if (msg.change !== 'added' || !Array.isArray(msg.entities)) return;
    const added = (msg.entities as { id: string }[]).map((e) => e.id).filter((id) => !shown.current.has(id));
    if (added.length) setFresh((old) => new Set([...old, ...added]));
  }, []);
  const live = useLiveChannel('/ws/graph/updates', onMessage, () => undefined);
  const reload = async () => {
    setFresh(new Set());
    await client.invalidateQueries({ queryKey: ['graph-overview'] });
  };

  return (
    <section aria-labelledby="graph-title" className="graph-page">
      <div className="row">
        <h1 id="graph-title">{t('graph.title')}</h1>
        <span className={`live live-${live}`} role="status">
          {live === 'connected' ? t('live.connected') : t('live.reconnecting')}
        </span>
        {fresh.size > 0 && (
          <button type="button" className="badge warn" data-testid="graph-new" onClick={() => void reload()}>
            {t('graph.new', { count: fresh.size })}
          </button>
        )}
      </div>
      <div className="filters">
        <label>
          {t('graph.search')}{' '}
          <input type="search" value={search} onChange={(e) => setSearch(e.target.value)} placeholder={t('graph.searchPlaceholder')} />
        </label>
        <label>
          {t('graph.size')}{' '}
          <select value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
            {SIZES.map((s) => (
              <option key={s} value={s}>
                {number(s)}
              </option>
            ))}
          </select>
        </label>
        <ViewSwitch
          label={t('graph.view')}
          value={view}
          options={[
            { value: 'graph', label: t('graph.view.graph') },
            { value: 'list', label: t('graph.view.list') },
          ]}
          onChange={setView}
        />
      </div>
      {found.data && search.trim() && (
        <ul className="hits" aria-label={t('graph.hits')} data-testid="graph-hits">
          {found.data.entities.length === 0 && <li>{t('graph.noHits')}</li>}
          {found.data.entities.map((e) => (
            <li key={e.id}>
              <button type="button" className="link" onClick={() => setSelected(e.id)}>
                {e.name}
              </button>{' '}
              <span className="sub">
                {e.type} · {t('graph.mentions', { count: e.mentions })}
              </span>
            </li>
          ))}
        </ul>
      )}
      {overview.isError && (
        <p role="alert" className="error">
          {t('common.error', { message: overview.error.message })}
        </p>
      )}
      {overview.isPending && <p aria-busy="true">{t('common.loading')}</p>}
      {overview.data && (
        <p className="sub" data-testid="graph-summary">
          {overview.data.truncated ? t('graph.summaryTruncated', { shown: number(overview.data.nodes.length), total: number(overview.data.total_entities), edges: number(overview.data.edges.length) }) : t('graph.summary', { shown: number(overview.data.nodes.length), edges: number(overview.data.edges.length) })}
        </p>
      )}
      {types.length > 0 && (
        <ul className="legend" aria-label={t('graph.legend')}>
          {types.map((type) => (
            <li key={type}>
              <span className="swatch" style={{ background: colourOf(type, types) }} aria-hidden="true" /> {type}
            </li>
          ))}
        </ul>
      )}
      {relations.length > 0 && (
        <ul className="legend" aria-label={t('graph.relations')} data-testid="relation-legend">
          {relations.map((r) => (
            <li key={r.type} data-relation={r.type} data-count={r.count}>
              <span className="line-swatch" style={{ background: relationColourOf(r.type, relationNames) }} aria-hidden="true" /> {r.type} ({number(r.count)})
            </li>
          ))}
        </ul>
      )}
      {nodes && nodes.length === 0 && <p>{t('graph.empty')}</p>}
      <div className="graph-layout">
        {nodes && edges && nodes.length > 0 && view === 'graph' && <GraphCanvas nodes={nodes} edges={edges} types={types} selected={selected} onSelect={setSelected} label={t('graph.canvas', { count: nodes.length })} />}
        {nodes && nodes.length > 0 && view === 'list' && (
          <div className="scroll" tabIndex={0} role="region" aria-label={t('graph.view.list')}>
            <table data-testid="graph-list">
              <caption>{t('graph.listed', { shown: number(Math.min(LISTED, nodes.length)), total: number(nodes.length) })}</caption>
              <thead>
                <tr>
                  <th scope="col">{t('graph.col.name')}</th>
                  <th scope="col">{t('graph.col.type')}</th>
                  <th scope="col" className="num">
                    {t('graph.col.mentions')}
                  </th>
                </tr>
              </thead>
              <tbody>
                {nodes.slice(0, LISTED).map((n) => (
                  <tr key={n.id} data-entity-id={n.id} aria-current={n.id === selected ? 'true' : undefined}>
                    <td>
                      <button type="button" className="link" onClick={() => setSelected(n.id)}>
                        {n.name}
                      </button>
                    </td>
                    <td>
                      <span className="swatch" style={{ background: colourOf(n.type, types) }} aria-hidden="true" /> {n.type}
                    </td>
                    <td className="num">{number(n.mentions)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {selected && (
          <aside className="card entity" aria-labelledby="entity-title" data-testid="entity-panel">
            <div className="row">
              <h2 id="entity-title">{entity.data?.name ?? t('common.loading')}</h2>
              <button type="button" className="ghost" onClick={() => setSelected(null)}>
                {t('common.close')}
              </button>
            </div>
            {entity.isError && (
              <p role="alert" className="error">
                {entity.error instanceof ApiFailure && entity.error.status === 404 ? t('graph.gone') : t('common.error', { message: entity.error.message })}
              </p>
            )}
            {entity.data && (
              <>
                <p className="sub">{entity.data.type}</p>
                <h3>{t('graph.mentionsTitle', { count: entity.data.mentions.length })}</h3>
                <ul data-testid="entity-mentions">
                  {entity.data.mentions.map((m) => {
                    const title = (m as { title?: string | null }).title;
                    return (
                      <li key={m.chunk_id}>
                        <Link href={`/document?id=${m.document_id}`}>{title ?? m.document_id}</Link>
                        <blockquote>{m.snippet}</blockquote>
                      </li>
                    );
                  })}
                </ul>
                <h3>{t('graph.neighbours', { count: entity.data.neighbours.length })}</h3>
                <ul data-testid="entity-neighbours">
                  {entity.data.neighbours.map((n, i) => (
                    <li key={`${n.id}-${n.relation}-${i}`}>
                      <span className="sub">{n.relation}</span>{' '}
                      <button type="button" className="link" onClick={() => setSelected(n.id)}>
                        {n.name}
                      </button>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </aside>
        )}
      </div>
    </section>
  );
}
