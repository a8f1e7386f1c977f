'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useCallback, useState, type FormEvent } from 'react';
import { Forbidden } from '../../components/Forbidden';
import { MODEL_PROFILES, ProfileOptions } from '../../components/ProfileOptions';
import { failureOf, saveResponse, unwrap, useApi, type ResponseOf } from '../../lib/api';
import type { paths } from '../../lib/api-types';
import { useI18n, type MessageKey } from '../../lib/i18n';
import { useLiveChannel } from '../../lib/live';
import { questionsOf } from '../../lib/questions';
import { ApiFailure, useSession } from '../../lib/session';
import { QueryStatus } from '../../components/QueryStatus';

type Profile = NonNullable<paths['/api/query/batch']['post']['requestBody']>['content']['application/json']['profile'];
type Batch = ResponseOf<'/api/query/batches', 'get'>['batches'][number];
const SHOWN = 50;
const ITEM_STATUSES = new Set(['pending', 'completed', 'failed', 'cancelled']);
const MAX_QUESTIONS = 5000;

export default function BatchPage() {
  const session = useSession();
  if (!session.user?.permissions.includes('advanced_query')) return <Forbidden />;
  return (
    <Suspense>
      <BatchView />
    </Suspense>
  );
}

function BatchView() {
  const { t, number, dateTime } = useI18n();
  const session = useSession();
  const api = useApi();
  const client = useQueryClient();
  const router = useRouter();
  const params = useSearchParams();
  const [text, setText] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const batches = useQuery({
    queryKey: ['batches', session.workspaceId],
    queryFn: async () => unwrap(await api.GET('/api/query/batches', { params: { query: { limit: 20, offset: 0 } } })),
  });
  const selected = params.get('id') ?? batches.data?.batches[0]?.batch_id ?? null;

  const questions = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

  const loadFile = async (file: File | undefined) => {
    if (!file) return;
    setError(null);
    try {
      setText(questionsOf(file.name, await file.text()).join('\n'));
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      setError(t('batch.badFile', { name: file.name, message: err.message }));
    }
  };

  const start = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setError(null);
    if (!questions.length) return setError(t('batch.none'));
    if (questions.length > MAX_QUESTIONS) return setError(t('batch.tooMany', { max: MAX_QUESTIONS }));
    setBusy(true);
    try {
      const started = unwrap(
        await api.POST('/api/query/batch', {
          body: { questions, profile: (form.get('profile') as Profile) || undefined, generate: form.get('retrievalOnly') !== 'on', window: 2 },
        }),
      );
      setText('');
      await client.invalidateQueries({ queryKey: ['batches'] });
      router.replace(`/batch?id=${started.batch_id}`);
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      setError(t('common.error', { message: err.message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="batch-title">
      <h1 id="batch-title">{t('batch.title')}</h1>
      <form className="card" aria-label={t('batch.new')} onSubmit={(e) => void start(e)}>
        <label htmlFor="batch-questions">{t('batch.questions')}</label>
        <textarea id="batch-questions" name="questions" rows={6} value={text} onChange={(e) => setText(e.target.value)} placeholder={t('batch.placeholder')} />
        <div className="filters">
          <label>
            {t('batch.file')}{' '}
            <input type="file" accept=".txt,.jsonl,text/plain" data-testid="batch-file" onChange={(e) => void loadFile(e.target.files?.[0]).then(() => (e.target.value = ''))} />
          </label>
          <label>
            {t('batch.profile')}{' '}
            <select name="profile" defaultValue="">
              <ProfileOptions profiles={MODEL_PROFILES} none={t('batch.profile.default')} />
            </select>
          </label>
          <label>
            <input type="checkbox" name="retrievalOnly" /> {t('batch.retrievalOnly')}
          </label>
        </div>
        <div className="row">
          <button type="submit" disabled={busy || !questions.length}>
            {busy ? t('batch.starting') : t('batch.start', { count: questions.length })}
          </button>
        </div>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {selected && <BatchDetail key={selected} id={selected} />}
      {batches.data && batches.data.batches.length > 0 && (
        <section aria-labelledby="batches-title">
          <h2 id="batches-title">{t('batch.earlier')}</h2>
          <div className="scroll" tabIndex={0} role="region" aria-labelledby="batches-title">
            <table data-testid="batches">
              <thead>
                <tr>
                  <th scope="col">{t('batch.col.started')}</th>
                  <th scope="col">{t('docs.col.status')}</th>
                  <th scope="col" className="num">
                    {t('batch.col.questions')}
                  </th>
                  <th scope="col">{t('batch.profile')}</th>
                </tr>
              </thead>
              <tbody>
                {batches.data.batches.map((b: Batch) => (
                  <tr key={b.batch_id} data-batch-id={b.batch_id} aria-current={b.batch_id === selected ? 'true' : undefined}>
                    <td>
                      <button type="button" className="link" onClick={() => router.replace(`/batch?id=${b.batch_id}`)}>
                        {dateTime(b.created_at)}
                      </button>
                    </td>
                    <td>{t(`batch.status.${b.status}` as MessageKey)}</td>
                    <td className="num">{number(b.total)}</td>
                    <td>{b.generate ? (b.profile ?? '–') : t('batch.retrievalOnly')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </section>
  );
}

/** One batch: live progress, cancel, the first answers, and the whole result as CSV or JSON Lines. */
function BatchDetail({ id }: { id: string }) {
  const { t, number } = useI18n();
  const session = useSession();
  const api = useApi();
  const client = useQueryClient();
  const [error, setError] = useState<string | null>(null);

  const state = useQuery({ queryKey: ['batch', id], queryFn: async () => unwrap(await api.GET('/api/query/batch/{id}', { params: { path: { id } } })) });
  const results = useQuery({
    queryKey: ['batch-results', id],
    queryFn: async () => {
      const page = unwrap(await api.GET('/api/query/batch/{id}/results', { params: { path: { id }, query: { limit: SHOWN, offset: 0, format: 'json' } } }));
      // format=json: the other formats (text) are only downloaded.
      if (typeof page === 'string') throw new Error('the results came as text, not JSON');
      return page;
    },
  });
  const refresh = useCallback(
    (msg?: Record<string, unknown>) => {
      void client.invalidateQueries({ queryKey: ['batch', id] });
      void client.invalidateQueries({ queryKey: ['batch-results', id] });
      // The list changes only when the batch ends (or after a reconnect, when anything may have).
      if (!msg || (msg.type === 'batch_progress' && msg.status !== 'running')) void client.invalidateQueries({ queryKey: ['batches'] });
    },
    [client, id],
  );
  const live = useLiveChannel(`/ws/queries/batch?batch_id=${encodeURIComponent(id)}`, refresh, () => refresh());

  const cancel = async () => {
    setError(null);
    const r = await api.POST('/api/query/batch/{id}/cancel', { params: { path: { id } } });
    if (!r.response.ok) setError(t('common.error', { message: failureOf(r) }));
    refresh();
  };

  // The results need the access token, which a plain link cannot carry: fetched, then saved.
  const download = async (format: 'csv' | 'jsonl') => {
    setError(null);
    const res = await session.fetch(`/api/query/batch/${encodeURIComponent(id)}/results?format=${format}&limit=10000`);
    if (!res.ok) return setError(t('common.error', { message: `${res.status}` }));
    await saveResponse(res, `batch-${id}.${format}`);
  };

  if (!state.data) return <QueryStatus query={state} notFound="batch.notFound" />;
  const b = state.data;
  const progress = b.progress;
  const done = (progress.completed ?? 0) + (progress.failed ?? 0);
  const running = b.status === 'running';
  return (
    <article className="card" aria-labelledby="batch-detail-title" data-testid="batch" data-batch-id={id} data-status={b.status}>
      <div className="row">
        <h2 id="batch-detail-title">{t('batch.current')}</h2>
        <span className="badge" data-testid="batch-status">
          {t(`batch.status.${b.status}` as MessageKey)}
        </span>
        {running && (
          <span className={`live live-${live}`} role="status">
            {live === 'connected' ? t('live.connected') : t('live.reconnecting')}
          </span>
        )}
      </div>
      <progress max={b.total} value={done} aria-label={t('batch.progress')} />
      <p data-testid="batch-progress">{t('batch.counts', { done: number(done), total: number(b.total), failed: number(progress.failed ?? 0) })}</p>
      <div className="row">
        {running && (
          <button type="button" className="ghost" onClick={() => void cancel()}>
            {t('batch.cancel')}
          </button>
        )}
        <button type="button" className="ghost" onClick={() => void download('csv')}>
          {t('batch.downloadCsv')}
        </button>
        <button type="button" className="ghost" onClick={() => void download('jsonl')}>
          {t('batch.downloadJsonl')}
        </button>
      </div>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {results.data && (
        <div className="scroll" tabIndex={0} role="region" aria-label={t('batch.results')}>
          <table data-testid="batch-results">
            <caption>{t('batch.shown', { shown: number(results.data.results.length), total: number(results.data.total) })}</caption>
            <thead>
              <tr>
                <th scope="col" className="num">
                  #
                </th>
                <th scope="col">{t('batch.col.question')}</th>
                <th scope="col">{t('docs.col.status')}</th>
                <th scope="col">{t('batch.col.answer')}</th>
              </tr>
            </thead>
            <tbody>
              {results.data.results.map((r) => {
                const row = r as typeof r & { answer?: string | null; retrieved?: unknown[] | null; withheld?: boolean };
                const status = ITEM_STATUSES.has(r.status) ? t(`batch.item.${r.status}` as MessageKey) : r.status;
                return (
                  <tr key={r.index} data-index={r.index} data-status={r.status}>
                    <td className="num">{number(r.index + 1)}</td>
                    <td>{r.question}</td>
                    <td>{status}</td>
                    <td>{row.withheld ? t('history.withheld') : row.answer ? row.answer : Array.isArray(row.retrieved) ? t('batch.retrieved', { count: row.retrieved.length }) : '–'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </article>
  );
}
