'use client';
import { useI18n } from '../lib/i18n';

/** What a page the user's role does not allow shows instead of itself. */
export function Forbidden() {
  const { t } = useI18n();
  return (
    <section aria-labelledby="forbidden-title" className="card narrow" data-testid="forbidden">
      <h1 id="forbidden-title">403</h1>
      <p>{t('error.forbidden')}</p>
    </section>
  );
}
