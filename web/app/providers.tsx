'use client';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Shell } from '../components/Shell';
import { I18nProvider } from '../lib/i18n';
import { SessionProvider } from '../lib/session';

export function Providers({ children }: { children: ReactNode }) {
  const [client] = useState(() => new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false } } }));
  return (
    <QueryClientProvider client={client}>
      <I18nProvider>
        <SessionProvider>
          <Shell>{children}</Shell>
        </SessionProvider>
      </I18nProvider>
    </QueryClientProvider>
  );
}
