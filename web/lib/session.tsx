'use client';
import { useQueryClient } from '@tanstack/react-query';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';

/**
 * The browser session. The access token lives in memory only; the refresh token is an httpOnly,
 * SameSite=Strict cookie the API sets (login with `session: "cookie"`), which page scripts never see.
 * Requests that spend the cookie carry the session header. One refresh at a time: refresh tokens
 * rotate, and a second refresh with the same cookie would count as reuse and end the session.
 */
export const SESSION_HEADER = { 'x-neuronode-session': 'cookie' } as const;
/** The workspace chosen in this tab (the API's X-Workspace-Id); the token's own when none is. */
const WORKSPACE_KEY = 'neuronode.workspace';
const WORKSPACE_HEADER = 'x-workspace-id';

export interface User {
  id: string;
  email: string;
  role: 'admin' | 'power_user' | 'user';
  /** What the API says this user may do in the workspace (GET /api/auth/me). */
  permissions: string[];
  /** Every workspace the user is a member of, with the role there. */
  workspaces: { id: string; name: string; role: string }[];
}
interface TokenResponse {
  access_token: string;
  expires_in: number;
  workspace_id: string;
}
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
async function failureOf(res: Response): Promise<ApiFailure> {
  const text = await res.text();
  let body: { error?: { code?: string; message?: string } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  return new ApiFailure(res.status, body.error?.code ?? 'http_error', body.error?.message ?? (text.slice(0, 200) || res.statusText));
}

type Status = 'loading' | 'anonymous' | 'authenticated';
interface Session {
  status: Status;
  user: User | null;
  /** The workspace every request and live channel works in. */
  workspaceId: string | null;
  /** Work in another of the user's workspaces: the role is that membership's, cached data is dropped. */
  switchWorkspace: (id: string) => Promise<void>;
  accessToken: () => string | null;
  login: (email: string, password: string) => Promise<void>;
  logout: () => Promise<void>;
  /** A request to the API with the access token; one silent refresh and retry on 401. */
  fetch: (path: string, init?: RequestInit) => Promise<Response>;
  /** The same for a prepared Request (the typed client's transport). */
  request: (req: Request) => Promise<Response>;
  json: <T>(path: string, init?: RequestInit) => Promise<T>;
}
const Ctx = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [status, setStatus] = useState<Status>('loading');
  const [user, setUserState] = useState<User | null>(null);
  const userRef = useRef<User | null>(null);
  const setUser = useCallback((u: User | null) => {
    userRef.current = u;
    setUserState(u);
  }, []);
  const [workspaceId, setWorkspaceId] = useState<string | null>(null);
  const chosen = useRef<string | null>(null);
  const token = useRef<string | null>(null);
  const queries = useQueryClient();
  const refreshing = useRef<Promise<boolean> | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  /** The access token and the chosen workspace, on a request's headers. */
  const credit = (headers: Headers): Headers => {
    if (token.current) headers.set('authorization', `Bearer ${token.current}`);
    if (chosen.current) headers.set(WORKSPACE_HEADER, chosen.current);
    return headers;
  };

  // The user in the chosen workspace; a choice the user is no longer a member of is forgotten.
  const whoAmI = async (): Promise<User> => {
    const ask = () => fetch('/api/auth/me', { headers: credit(new Headers()) });
    let me = await ask();
    if (me.status === 403 && chosen.current) {
      chosen.current = null;
      sessionStorage.removeItem(WORKSPACE_KEY);
      me = await ask();
    }
    if (!me.ok) throw await failureOf(me);
    const m = (await me.json()) as User & { workspace_id: string };
    setWorkspaceId(m.workspace_id);
    return { id: m.id, email: m.email, role: m.role, permissions: m.permissions, workspaces: m.workspaces };
  };

  const accept = useCallback((t: TokenResponse) => {
    token.current = t.access_token;
    chosen.current ??= sessionStorage.getItem(WORKSPACE_KEY);
    setWorkspaceId(chosen.current ?? t.workspace_id);
    if (timer.current) clearTimeout(timer.current);
    // Silently, a little before the access token expires.
    timer.current = setTimeout(() => void refresh(), Math.max(5, t.expires_in - 30) * 1000);
   
  }, []);

  const end = useCallback(() => {
    token.current = null;
    chosen.current = null;
    sessionStorage.removeItem(WORKSPACE_KEY);
    if (timer.current) clearTimeout(timer.current);
    setUser(null);
    setWorkspaceId(null);
    setStatus('anonymous');
  }, [setUser]);

  const refresh = useCallback((): Promise<boolean> => {
    refreshing.current ??= (async () => {
      try {
        const res = await fetch('/api/auth/refresh', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', ...SESSION_HEADER }, body: '{}' });
        if (res.status === 401 || res.status === 403) {
          end();
          return false;
        }
        if (!res.ok) throw await failureOf(res);
        accept((await res.json()) as TokenResponse);
        if (!userRef.current) setUser(await whoAmI());
        setStatus('authenticated');
        return true;
      } finally {
        refreshing.current = null;
      }
    })();
    return refreshing.current;
  }, [accept, end, setUser]);

  // A reload keeps the session: the cookie still holds the refresh token.
  useEffect(() => {
    refresh().catch((err: unknown) => {
      console.warn(`session could not be restored: ${(err as Error).message}`);
      end();
    });
    return () => {
      if (timer.current) clearTimeout(timer.current);
    };
   
  }, []);

  const login = useCallback(
    async (email: string, password: string) => {
      const res = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, session: 'cookie' }) });
      if (!res.ok) throw await failureOf(res);
      const t = (await res.json()) as TokenResponse;
      accept(t);
      setUser(await whoAmI());
      setStatus('authenticated');
    },
    [accept, setUser],
  );

  const apiFetch = useCallback(
    async (path: string, init: RequestInit = {}) => {
      const send = () => {
        return fetch(path, { ...init, headers: credit(new Headers(init.headers)) });
      };
      let res = await send();
      if (res.status === 401 && (await refresh())) res = await send();
      return res;
    },
    [refresh],
  );

  const request = useCallback(
    async (req: Request) => {
      const send = (r: Request) => {
        credit(r.headers);
        return fetch(r);
      };
      const again = req.clone();
      const res = await send(req);
      if (res.status === 401 && (await refresh())) return send(again);
      return res;
    },
    [refresh],
  );

  const switchWorkspace = useCallback(
    async (id: string) => {
      const before = chosen.current;
      chosen.current = id;
      try {
        setUser(await whoAmI());
      } catch (err) {
        chosen.current = before;
        throw err;
      }
      sessionStorage.setItem(WORKSPACE_KEY, id);
      // Nothing fetched for the other workspace is shown for this one.
      await queries.resetQueries();
    },
    [queries, setUser],
  );

  const logout = useCallback(async () => {
    const res = await apiFetch('/api/auth/logout', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/json', ...SESSION_HEADER }, body: '{}' });
    if (!res.ok && res.status !== 401) throw await failureOf(res);
    end();
  }, [apiFetch, end]);

  const value = useMemo<Session>(
    () => ({
      status,
      user,
      workspaceId,
      switchWorkspace,
      accessToken: () => token.current,
      login,
      logout,
      fetch: apiFetch,
      request,
      json: async <T,>(path: string, init?: RequestInit) => {
        const res = await apiFetch(path, init);
        if (!res.ok) throw await failureOf(res);
        return (await res.json()) as T;
      },
    }),
    [status, user, workspaceId, switchWorkspace, login, logout, apiFetch, request],
  );
  return <Ctx.Provider value={value}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const v = useContext(Ctx);
  if (!v) throw new Error('useSession outside SessionProvider');
  return v;
}
