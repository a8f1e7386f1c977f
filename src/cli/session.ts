import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/**
 * The command-line client's session: the API's address and the tokens of the last login, in
 * `$XDG_CONFIG_HOME/neuronode/session.json` (default `~/.config/neuronode/`), readable by its user
 * alone (0600). The access token is refreshed with the refresh token when the API answers 401.
 */
export interface Session {
  url: string;
  access_token: string;
  refresh_token: string;
  workspace_id: string;
  email: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:8001';

export function sessionPath(): string {
  const base = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'neuronode', 'session.json');
}

export function loadSession(): Session | null {
  let text: string;
  try {
    text = readFileSync(sessionPath(), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return JSON.parse(text) as Session;
}

export function saveSession(s: Session): void {
  const path = sessionPath();
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, JSON.stringify(s, null, 2), { mode: 0o600 });
  chmodSync(path, 0o600); // an older file keeps its mode on write
}

export function clearSession(): void {
  rmSync(sessionPath(), { force: true });
}

/** An error the API answered, in its own shape ({ error: { code, message } }). */
export class ApiCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export class NotLoggedInError extends Error {
  constructor() {
    super('not logged in');
    this.name = 'NotLoggedInError';
  }
}

async function errorOf(res: Response): Promise<ApiCallError> {
  const text = await res.text();
  let body: { error?: { code?: string; message?: string } } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err; // not JSON: the text itself is the message
  }
  return new ApiCallError(res.status, body.error?.code ?? `http_${res.status}`, body.error?.message ?? (text.slice(0, 300) || res.statusText));
}

/** Calls the API with the session's token; on 401 refreshes once, saves the new tokens and retries. */
export class Api {
  constructor(private session: Session) {}

  get url() {
    return this.session.url;
  }
  get token() {
    return this.session.access_token;
  }
  get workspace() {
    return this.session.workspace_id;
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const call = () => fetch(`${this.session.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${this.session.access_token}` } });
    let res = await call();
    if (res.status === 401 && (await this.refresh())) res = await call();
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  async json<T = Record<string, unknown>>(path: string, init: RequestInit & { body_json?: unknown } = {}): Promise<T> {
    const { body_json, ...rest } = init;
    const res = await this.fetch(path, body_json === undefined ? rest : { ...rest, body: JSON.stringify(body_json), headers: { ...(rest.headers as Record<string, string>), 'content-type': 'application/json' } });
    return (await res.json()) as T;
  }

  private async refresh(): Promise<boolean> {
    const res = await fetch(`${this.session.url}/api/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: this.session.refresh_token }) });
    if (!res.ok) return false;
    const t = (await res.json()) as { access_token: string; refresh_token: string };
    this.session = { ...this.session, access_token: t.access_token, refresh_token: t.refresh_token };
    saveSession(this.session);
    return true;
  }
}

export async function login(url: string, email: string, password: string, workspace?: string): Promise<Session> {
  const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, ...(workspace ? { workspace_id: workspace } : {}) }) });
  if (!res.ok) throw await errorOf(res);
  const t = (await res.json()) as { access_token: string; refresh_token: string; workspace_id: string };
  const s: Session = { url, access_token: t.access_token, refresh_token: t.refresh_token, workspace_id: t.workspace_id, email };
  saveSession(s);
  return s;
}

export function requireSession(): Api {
  const s = loadSession();
  if (!s) throw new NotLoggedInError();
  return new Api(s);
}
