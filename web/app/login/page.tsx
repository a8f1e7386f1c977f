'use client';
import { useRouter, useSearchParams } from 'next/navigation';
import { Suspense, useState, type FormEvent } from 'react';
import { useI18n } from '../../lib/i18n';
import { ApiFailure, useSession } from '../../lib/session';

function LoginForm() {
  const { t } = useI18n();
  const session = useSession();
  const router = useRouter();
  const next = useSearchParams().get('next');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setBusy(true);
    setError(null);
    try {
      await session.login(String(form.get('email')), String(form.get('password')));
      // Only a path of this site, never another origin.
      router.replace(next && next.startsWith('/') && !next.startsWith('//') ? next : '/documents');
    } catch (err) {
      if (!(err instanceof ApiFailure)) throw err;
      setError(err.status === 429 ? t('login.blocked') : err.status === 401 ? t('login.failed') : t('common.error', { message: err.message }));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card narrow" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
      <h1 id="login-title">{t('login.title')}</h1>
      <label>
        {t('login.email')}
        <input name="email" type="email" autoComplete="username" required />
      </label>
      <label>
        {t('login.password')}
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {busy ? t('login.busy') : t('login.submit')}
      </button>
    </form>
  );
}

export default function LoginPage() {
  return (
    <Suspense>
      <LoginForm />
    </Suspense>
  );
}
