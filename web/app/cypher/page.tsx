'use client';
import { useState, type FormEvent } from 'react';
import { Forbidden } from '../../components/Forbidden';
import { unwrap, useApi, type ResponseOf } from '../../lib/api';
import { useI18n } from '../../lib/i18n';
import { ApiFailure, useSession } from '../../lib/session';

type Result = ResponseOf<'/api/graph/query', 'post'>;
const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));

/**
 * Read-only Cypher for power users. The API confines each query to the workspace and the documents the
 * user may read, runs it in a read transaction with time and row limits, and refuses anything else;
 * this page shows the rows or the refusal.
 */
export default function CypherPage() {
  const { t, number } = useI18n();
  const session = useSession();
  const api = useApi();
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);

  if (!session.user?.permissions.includes('advanced_query')) return <Forbidden />;

  const runQuery = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const query = String(new FormData(e.currentTarget).get('query') ?? '');
    setBusy(true);
    setResult(null);
    setRefusal(null);
    try {
      setResult(unwrap(await api.POST('/api/graph/query', { body: { query, parameters: {}, limit: 200, timeout_ms: 5000 } })));
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
        <textarea id="query" name="query" rows={5} className="code" spellCheck={false} required defaultValue="MATCH (e:Entity) RETURN e.name AS name, e.type AS type LIMIT 25" />
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
          </p>
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
        </>
      )}
    </section>
  );
}
