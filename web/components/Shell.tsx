'use client';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useEffect, useState, type ReactNode } from 'react';
import { useI18n, type Locale } from '../lib/i18n';
import { ApiFailure, useSession } from '../lib/session';
import { AlertToasts } from './AlertToasts';

type Theme = 'light' | 'dark';
const THEME_KEY = 'neuronode.theme';

/** The frame of every page: navigation, language and theme, and the session gate. */
export function Shell({ children }: { children: ReactNode }) {
  const { t, locale, setLocale } = useI18n();
  const session = useSession();
  const pathname = usePathname();
  const router = useRouter();
  const [theme, setTheme] = useState<Theme>('light');
  const [switching, setSwitching] = useState(false);
  const [switchFailure, setSwitchFailure] = useState<string | null>(null);

  useEffect(() => {
    const stored = localStorage.getItem(THEME_KEY);
    setTheme(stored === 'dark' || stored === 'light' ? stored : matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
  }, []);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);

  const onLogin = pathname === '/login';
  useEffect(() => {
    if (session.status === 'anonymous' && !onLogin) router.replace(`/login?next=${encodeURIComponent(pathname)}`);
    if (session.status === 'authenticated' && onLogin) router.replace('/documents');
  }, [session.status, onLogin, pathname, router]);

  const chooseTheme = (next: Theme) => {
    localStorage.setItem(THEME_KEY, next);
    setTheme(next);
  };
  // Only what the user's role allows is offered; a direct URL to anything else shows 403.
  const links: { href: string; label: string; permission?: string }[] = [
    { href: '/documents', label: t('nav.documents') },
    { href: '/ask', label: t('nav.ask') },
    { href: '/graph', label: t('nav.graph') },
    { href: '/history', label: t('nav.history') },
    { href: '/batch', label: t('nav.batch'), permission: 'advanced_query' },
    { href: '/cypher', label: t('nav.cypher'), permission: 'advanced_query' },
    { href: '/admin', label: t('nav.admin'), permission: 'user_management' },
  ].filter((l) => !l.permission || session.user?.permissions.includes(l.permission));

  return (
    <>
      <a className="skip" href="#main">
        {t('nav.skip')}
      </a>
      <header className="bar">
        <span className="brand">{t('app.name')}</span>
        {session.status === 'authenticated' && (
          <nav aria-label={t('app.name')}>
            {links.map((l) => (
              <Link key={l.href} href={l.href} aria-current={pathname.startsWith(l.href) ? 'page' : undefined}>
                {l.label}
              </Link>
            ))}
          </nav>
        )}
        <span className="spacer" />
        <label className="compact">
          <span className="sr-only">{t('nav.language')}</span>
          <select aria-label={t('nav.language')} value={locale} onChange={(e) => setLocale(e.target.value as Locale)}>
            <option value="en">English</option>
            <option value="de">Deutsch</option>
          </select>
        </label>
        <button type="button" className="ghost" aria-pressed={theme === 'dark'} title={t('nav.theme')} onClick={() => chooseTheme(theme === 'dark' ? 'light' : 'dark')}>
          {t('nav.theme.dark')}
        </button>
        {session.status === 'authenticated' && (
          <>
            <span className="who">{session.user?.email}</span>
            {(session.user?.workspaces.length ?? 0) > 1 ? (
              <label className="compact">
                <span className="sr-only">{t('nav.workspace')}</span>
                <select
                  aria-label={t('nav.workspace')}
                  data-testid="workspace"
                  value={session.workspaceId ?? ''}
                  disabled={switching}
                  onChange={(e) => {
                    setSwitching(true);
                    setSwitchFailure(null);
                    session
                      .switchWorkspace(e.target.value)
                      .catch((err: unknown) => {
                        if (!(err instanceof ApiFailure)) throw err;
                        setSwitchFailure(err.message);
                      })
                      .finally(() => setSwitching(false));
                  }}
                >
                  {session.user!.workspaces.map((w) => (
                    <option key={w.id} value={w.id}>
                      {w.name}
                    </option>
                  ))}
                </select>
              </label>
            ) : (
              <span className="workspace-name" data-testid="workspace-name">
                {session.user?.workspaces.find((w) => w.id === session.workspaceId)?.name ?? session.workspaceId}
              </span>
            )}
            <button type="button" className="ghost" onClick={() => void session.logout().then(() => router.replace('/login'))}>
              {t('nav.logout')}
            </button>
          </>
        )}
      </header>
      {switchFailure && (
        <p role="alert" className="error">
          {t('nav.workspaceFailed', { message: switchFailure })}
        </p>
      )}
      <AlertToasts />
      <main id="main">{session.status === 'loading' || (session.status === 'anonymous' && !onLogin) ? <p aria-busy="true">{t('common.loading')}</p> : children}</main>
    </>
  );
}
