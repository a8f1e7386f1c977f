'use client';
import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useCallback, useState } from 'react';
import { useI18n, type MessageKey } from '../lib/i18n';
import { useLiveChannel } from '../lib/live';
import { useSession } from '../lib/session';

interface Alert {
  key: string;
  kind: string;
  severity: string;
  text: string;
  link?: string;
}

const KEPT = 5;

/**
 * System alerts from `/ws/system/alerts` as toasts on every page, for those who may see them
 * (model_management): a dependency down or back, a model alias failing, a budget decision waiting,
 * the daily spend limit reached. A toast stays until it is dismissed; the newest five are kept.
 */
export function AlertToasts() {
  const session = useSession();
  if (session.status !== 'authenticated' || !session.user?.permissions.includes('model_management')) return null;
  return <Toasts />;
}

function Toasts() {
  const { t, money } = useI18n();
  const client = useQueryClient();
  const [alerts, setAlerts] = useState<Alert[]>([]);

  const describe = useCallback(
    (a: Record<string, unknown>): Omit<Alert, 'key'> => {
      const kind = String(a.kind ?? 'unknown');
      const known: Record<string, MessageKey> = {
        dependency_down: 'alert.dependency_down',
        dependency_up: 'alert.dependency_up',
        model_error_rate: 'alert.model_error_rate',
        model_recovered: 'alert.model_recovered',
        budget_approval_required: 'alert.budget_approval_required',
        budget_daily_limit: 'alert.budget_daily_limit',
      };
      const vars = {
        dependency: String(a.dependency ?? ''),
        alias: String(a.alias ?? a.dependency ?? ''),
        filename: String(a.filename ?? ''),
        cost: typeof a.estimated_cost_usd === 'number' ? money(a.estimated_cost_usd) : '–',
        limit: typeof a.limit_usd === 'number' ? money(a.limit_usd) : '–',
      };
      const text = known[kind] ? t(known[kind], vars) : t('alert.other', { kind });
      const link = kind.startsWith('budget_') ? '/documents?status=awaiting_approval' : undefined;
      return { kind, severity: String(a.severity ?? 'info'), text, ...(link ? { link } : {}) };
    },
    [t, money],
  );

  const onMessage = useCallback(
    (msg: Record<string, unknown>) => {
      if (typeof msg.kind !== 'string') return;
      const alert = { key: typeof msg.id === 'string' ? msg.id : `${String(msg.at)}-${msg.kind}`, ...describe(msg) };
      setAlerts((old) => (old.some((o) => o.key === alert.key) ? old : [alert, ...old].slice(0, KEPT)));
      // Pages that show documents learn at once that one waits for a decision.
      if (alert.kind.startsWith('budget_')) void client.invalidateQueries({ queryKey: ['documents'] });
    },
    [describe, client],
  );
  // After a drop the channel itself replays what was missed (by event id); nothing to fetch.
  const live = useLiveChannel('/ws/system/alerts', onMessage, () => undefined);

  const dismiss = (key: string) => setAlerts((old) => old.filter((a) => a.key !== key));
  return (
    <section className="toasts" aria-label={t('alert.region')} aria-live="polite" data-testid="toasts" data-live={live}>
      {alerts.map((a) => (
        <div key={a.key} className={`toast toast-${a.severity}`} data-kind={a.kind} role="status">
          <p>
            {a.text}
            {a.link && (
              <>
                {' '}
                <Link href={a.link}>{t('alert.open')}</Link>
              </>
            )}
          </p>
          <button type="button" className="ghost" aria-label={t('alert.dismiss')} onClick={() => dismiss(a.key)}>
            ×
          </button>
        </div>
      ))}
    </section>
  );
}
