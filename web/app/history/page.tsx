'use client';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { unwrap, useApi } from '../../lib/api';
import { useI18n } from '../../lib/i18n';
import { useSession } from '../../lib/session';

const PAGE = 20;

/** The questions asked in this workspace (one's own; an administrator sees everyone's), newest first. */
export default function HistoryPage() {
  const { t, dateTime, number } = useI18n();
  const session = useSession();
  const [offset, setOffset] = useState(0);
  const api = useApi();
  const list = useQuery({
    queryKey: ['history', session.workspaceId, offset],
    queryFn: async () => unwrap(await api.GET('/api/query/history', { params: { query: { limit: PAGE, offset } } })),
  });

  return (
    <section aria-labelledby="history-title">
      <h1 id="history-title">{t('history.title')}</h1>
      {list.isPending && <p aria-busy="true">{t('common.loading')}</p>}
      {list.isError && (
        <p role="alert" className="error">
          {t('common.error', { message: list.error.message })}
        </p>
      )}
      {list.data && list.data.queries.length === 0 && <p>{t('history.empty')}</p>}
      {list.data && list.data.queries.length > 0 && (
        <>
          <ol className="history">
            {list.data.queries.map((q) => (
              <li key={q.id} className="card" data-query-id={q.id}>
                <p className="question">{q.question}</p>
                {q.withheld ? (
                  <p className="refused">{t('history.withheld')}</p>
                ) : q.answer === null ? (
                  <p className="refused">{t(q.status === 'failed' ? 'history.failed' : 'history.pending')}</p>
                ) : /^insufficient information/i.test(q.answer) ? (
                  <p className="refused">{t('ask.insufficient')}</p>
                ) : (
                  <p data-testid="history-answer">{q.answer}</p>
                )}
                <p className="sub">
                  {dateTime(q.created_at)}
                  {q.duration_ms !== null && ` · ${t('history.seconds', { s: number(Math.round(q.duration_ms / 100) / 10) })}`}
                  {q.grounded !== null && ` · ${q.grounded ? t('ask.grounded') : t('ask.notGrounded')}`}
                  {q.cached && ` · ${t('history.cached')}`}
                </p>
              </li>
            ))}
          </ol>
          <nav className="row" aria-label={t('history.pages')}>
            <button type="button" className="ghost" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              {t('history.newer')}
            </button>
            <span>{t('history.range', { from: offset + 1, to: offset + list.data.queries.length, total: list.data.total })}</span>
            <button type="button" className="ghost" disabled={offset + PAGE >= list.data.total} onClick={() => setOffset(offset + PAGE)}>
              {t('history.older')}
            </button>
          </nav>
        </>
      )}
    </section>
  );
}
