'use client';
import { useCallback, useState } from 'react';
import { useI18n, type MessageKey } from '../lib/i18n';
import { ApiFailure } from '../lib/session';

/**
 * What a query shows until its data is there: its failure in the API's words (or `notFound`'s message
 * for a 404), else that it loads.
 */
export function QueryStatus({ query, notFound }: { query: { isError: boolean; error: Error | null }; notFound?: MessageKey }) {
  const { t } = useI18n();
  if (query.isError && query.error) {
    const e = query.error;
    return (
      <p role="alert" className="error">
        {notFound && e instanceof ApiFailure && e.status === 404 ? t(notFound) : t('common.error', { message: e.message })}
      </p>
    );
  }
  return <p aria-busy="true">{t('common.loading')}</p>;
}

/** An action's failure, shown where the action was taken; null when there is none. */
export function ActionError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <p role="alert" className="error">
      {message}
    </p>
  );
}

/**
 * Runs an action against the API: the API's refusal (an ApiFailure) becomes the message to show and
 * `run` resolves false; anything else is a defect and is thrown on.
 */
export function useAction() {
  const { t } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const run = useCallback(
    async (f: () => Promise<unknown>): Promise<boolean> => {
      setError(null);
      try {
        await f();
        return true;
      } catch (err) {
        if (!(err instanceof ApiFailure)) throw err;
        setError(t('common.error', { message: err.message }));
        return false;
      }
    },
    [t],
  );
  return { error, run };
}
