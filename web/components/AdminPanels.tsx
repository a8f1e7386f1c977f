'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { unwrap, useApi } from '../lib/api';
import { useI18n, type MessageKey } from '../lib/i18n';
import { useSession } from '../lib/session';
import { ActionError, QueryStatus, useAction } from './QueryStatus';
import { ScrollTable } from './ScrollTable';

/** A dollar amount typed into a form: empty means none (null). */
function amountOf(value: FormDataEntryValue | null): number | null {
  const text = String(value ?? '').trim();
  return text === '' ? null : Number(text);
}

/** The workspace's budget: the approval threshold and daily limit (set here), today's spend and what waits. */
export function BudgetPanel() {
  const { t, money, dateTime } = useI18n();
  const api = useApi();
  const session = useSession();
  const client = useQueryClient();
  const action = useAction();
  const [saved, setSaved] = useState(false);
  const budget = useQuery({ queryKey: ['admin-budget', session.workspaceId], queryFn: async () => unwrap(await api.GET('/api/admin/budget')) });

  const save = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setSaved(false);
    setSaved(await action.run(async () => unwrap(await api.PATCH('/api/admin/budget', { body: { approval_above_usd: amountOf(f.get('approval')), daily_limit_usd: amountOf(f.get('limit')) } }))));
    await client.invalidateQueries({ queryKey: ['admin-budget'] });
  };

  if (!budget.data) return <QueryStatus query={budget} />;
  const b = budget.data;
  return (
    <div className="card" data-testid="budget">
      <dl className="facts">
        <dt>{t('budget.spentToday')}</dt>
        <dd data-testid="budget-spent">{money(b.spent_today_usd)}</dd>
        <dt>{t('budget.limitReached')}</dt>
        <dd>{b.daily_limit_reached ? t('budget.yes') : t('budget.no')}</dd>
        <dt>{t('budget.resets')}</dt>
        <dd>{dateTime(b.resets_at)}</dd>
        <dt>{t('budget.waiting')}</dt>
        <dd data-testid="budget-waiting">{b.awaiting_approval.length}</dd>
      </dl>
      {/* Keyed by the stored values: the form shows what is in force after a save. */}
      <form key={`${b.approval_above_usd}-${b.daily_limit_usd}`} onSubmit={(e) => void save(e)} aria-label={t('budget.title')}>
        <label>
          {t('budget.approval')}
          <input name="approval" type="number" min={0} step="0.01" inputMode="decimal" defaultValue={b.approval_above_usd ?? ''} />
        </label>
        <label>
          {t('budget.limit')}
          <input name="limit" type="number" min={0} step="0.01" inputMode="decimal" defaultValue={b.daily_limit_usd ?? ''} />
        </label>
        <p className="sub">{t('budget.emptyMeansNone')}</p>
        <button type="submit">{t('budget.save')}</button>
      </form>
      {saved && <p role="status">{t('budget.saved')}</p>}
      <ActionError message={action.error} />
    </div>
  );
}

/** Every service the system runs on, with its state and version; links to the API docs, the Temporal Web UI and LiteLLM's UI. */
export function SystemPanel() {
  const { t, number } = useI18n();
  const api = useApi();
  const status = useQuery({ queryKey: ['system-status'], queryFn: async () => unwrap(await api.GET('/api/status')), refetchInterval: 15_000 });
  if (!status.data) return <QueryStatus query={status} />;
  const s = status.data;
  return (
    <div className="card">
      <p>
        {s.service} {s.version} · {t('system.uptime', { s: number(Math.round(s.uptime_s)) })} ·{' '}
        <a href="/docs" target="_blank" rel="noreferrer">
          {t('system.apiDocs')}
        </a>{' '}
        ·{' '}
        <a href={s.temporal_ui} target="_blank" rel="noreferrer">
          {t('system.temporalUi')}
        </a>{' '}
        ·{' '}
        <a href={s.litellm_ui} target="_blank" rel="noreferrer">
          {t('system.litellmUi')}
        </a>
      </p>
      <ScrollTable label={t('system.title')} testId="services" columns={[t('system.service'), t('system.state'), t('system.version'), t('system.latency')]}>
        {Object.entries(s.services).map(([name, v]) => (
          <tr key={name} data-service={name} data-state={v.state}>
            <th scope="row">{name}</th>
            <td>{t(`system.${v.state}` as MessageKey)}</td>
            <td>{v.version ?? '–'}</td>
            <td>{v.error ? v.error : `${number(v.latency_ms)} ms`}</td>
          </tr>
        ))}
      </ScrollTable>
    </div>
  );
}
