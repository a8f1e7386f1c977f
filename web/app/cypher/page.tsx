'use client';
import dynamic from 'next/dynamic';
import Prism from 'prismjs';
import 'prismjs/components/prism-cypher';
import { useMemo, useState, type FormEvent } from 'react';
import Editor from 'react-simple-code-editor';
import { Forbidden } from '../../components/Forbidden';
import type { GraphEdge, GraphNode } from '../../components/GraphCanvas';
import { ViewSwitch } from '../../components/ViewSwitch';
import { unwrap, useApi, type ResponseOf } from '../../lib/api';
import { useI18n } from '../../lib/i18n';
import { ApiFailure, useSession } from '../../lib/session';

const GraphCanvas = dynamic(() => import('../../components/GraphCanvas'), { ssr: false });

type Result = ResponseOf<'/api/graph/query', 'post'>;
const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
const EXAMPLE = 'MATCH (e:Entity) RETURN e.name AS name, e.type AS type LIMIT 25';
/** Prism's Cypher grammar: keywords, labels, relationship types, strings, parameters and numbers. */
const highlight = (code: string) => Prism.highlight(code, Prism.languages.cypher!, 'cypher');

/**
 * Read-only Cypher for power users. The API confines each query to the workspace and the documents the
 * user may read, runs it in a read transaction with time and row limits, and refuses anything else;
 * this page shows the rows, the nodes and relationships among them drawn as a graph, or the refusal.
 * The editor is a plain textarea under a highlighted copy of its text (Tab leaves it, as anywhere).
 */
export default function CypherPage() {
  const { t, number } = useI18n();
  const session = useSession();
  const api = useApi();
  const [query, setQuery] = useState(EXAMPLE);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  const [view, setView] = useState<'table' | 'graph'>('table');
  const [selected, setSelected] = useState<string | null>(null);

  const drawing = useMemo(() => {
    if (!result || result.graph.nodes.length === 0) return null;
    const nodes: GraphNode[] = result.graph.nodes.map((n) => ({ id: n.id, name: n.name, type: n.type, mentions: 0 }));
    const edges: GraphEdge[] = result.graph.relationships.map((r) => ({ source: r.source, target: r.target, type: r.type, weight: 1 }));
    return { nodes, edges, types: [...new Set(nodes.map((n) => n.type))].sort() };
  }, [result]);

  if (!session.user?.permissions.includes('advanced_query')) return <Forbidden />;

  const runQuery = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    setBusy(true);
    setResult(null);
    setRefusal(null);
    setSelected(null);
    try {
      const r = unwrap(await api.POST('/api/graph/query', { body: { query, parameters: {}, limit: 200, timeout_ms: 5000 } }));
      setResult(r);
      if (r.graph.nodes.length === 0) setView('table');
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      setRefusal(err.message);
    } finally {
      setBusy(false);
    }
  };
  const columns = result ? [...new Set(result.rows.flatMap((r) => Object.keys(r)))] : [];

  return (
    <section aria-labelledby="cypher-title">
      <h1 id="cypher-title">{t('cypher.title')}</h1>
      <form className="card" onSubmit={(e) => void runQuery(e)}>
        <label htmlFor="query">{t('cypher.query')}</label>
        <Editor
          value={query}
          onValueChange={setQuery}
          highlight={highlight}
          textareaId="query"
          name="query"
          required
          ignoreTabKey
          padding={8}
          className="code-editor code"
          preClassName="language-cypher"
          data-testid="cypher-editor"
        />
        <p className="sub">{t('cypher.hint')}</p>
        <button type="submit" disabled={busy}>
          {busy ? t('cypher.running') : t('cypher.run')}
        </button>
      </form>
      {refusal && (
        <p role="alert" className="error" data-testid="refusal">
          {t('cypher.refused', { message: refusal })}
        </p>
      )}
      {result && (
        <>
          <p role="status">
            {t('cypher.rows', { count: result.row_count, ms: number(result.ms) })}
            {result.truncated && ` ${t('cypher.truncated')}`}
            {drawing && ` ${t('cypher.graphCount', { nodes: number(result.graph.nodes.length), relationships: number(result.graph.relationships.length) })}`}
            {result.graph.dangling > 0 && ` ${t('cypher.dangling', { count: number(result.graph.dangling) })}`}
          </p>
          {drawing && (
            <ViewSwitch
              label={t('cypher.view')}
              value={view}
              options={[
                { value: 'table', label: t('cypher.view.table') },
                { value: 'graph', label: t('cypher.view.graph') },
              ]}
              onChange={setView}
            />
          )}
          {drawing && view === 'graph' && (
            <>
              <GraphCanvas nodes={drawing.nodes} edges={drawing.edges} types={drawing.types} selected={selected} onSelect={setSelected} label={t('cypher.canvas', { nodes: drawing.nodes.length, relationships: drawing.edges.length })} />
              {selected && <p data-testid="cypher-selected">{drawing.nodes.find((n) => n.id === selected)?.name}</p>}
            </>
          )}
          {view === 'table' && (
            <div className="scroll" tabIndex={0} role="region" aria-label={t('cypher.title')}>
              <table data-testid="cypher-rows">
                <thead>
                  <tr>
                    {columns.map((c) => (
                      <th key={c} scope="col">
                        {c}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {result.rows.map((r, i) => (
                    <tr key={i}>
                      {columns.map((c) => (
                        <td key={c}>{cell((r as Record<string, unknown>)[c])}</td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
    </section>
  );
}
