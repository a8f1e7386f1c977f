'use client';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import de from '../messages/de.json';
import en from '../messages/en.json';

export type Locale = 'en' | 'de';
export type MessageKey = keyof typeof en;
/** Every catalogue has exactly the English keys (tests/web/catalogues.test.ts checks the files too). */
const CATALOGUES: Record<Locale, Record<MessageKey, string>> = { en, de };
const STORAGE_KEY = 'neuronode.locale';

export function detectLocale(): Locale {
  const stored = typeof localStorage !== 'undefined' ? localStorage.getItem(STORAGE_KEY) : null;
  if (stored === 'en' || stored === 'de') return stored;
  return typeof navigator !== 'undefined' && navigator.language.toLowerCase().startsWith('de') ? 'de' : 'en';
}

export function format(template: string, vars: Record<string, string | number> = {}, locale: Locale = 'en'): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => {
    const v = vars[name];
    if (v === undefined) return whole;
    return typeof v === 'number' ? new Intl.NumberFormat(locale).format(v) : v;
  });
}

interface I18n {
  locale: Locale;
  setLocale: (l: Locale) => void;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
  number: (n: number) => string;
  dateTime: (iso: string) => string;
  /** US dollars, to three significant digits (model costs are often fractions of a cent). */
  money: (usd: number) => string;
}
const Ctx = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>('en');
  useEffect(() => setLocaleState(detectLocale()), []);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const setLocale = useCallback((l: Locale) => {
    localStorage.setItem(STORAGE_KEY, l);
    setLocaleState(l);
  }, []);
  const value = useMemo<I18n>(() => {
    const nf = new Intl.NumberFormat(locale);
    const df = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' });
    const mf = new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD', maximumSignificantDigits: 3 });
    return {
      locale,
      setLocale,
      // A key built at run time (a status the catalogue does not know yet) shows as itself.
      t: (key, vars) => format(CATALOGUES[locale][key] ?? key, vars, locale),
      number: (n) => nf.format(n),
      dateTime: (iso) => df.format(new Date(iso)),
      money: (usd) => mf.format(usd),
    };
  }, [locale, setLocale]);
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(Ctx);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}
