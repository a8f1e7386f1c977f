'use client';
import createClient from 'openapi-fetch';
import { useMemo } from 'react';
import type { paths } from './api-types';
import { ApiFailure, useSession } from './session';

/** Response bodies of the API, by path and method, from the generated types. */
export type ResponseOf<P extends keyof paths, M extends 'get' | 'post' | 'delete' | 'patch'> = paths[P][M] extends { responses: { 200: { content: { 'application/json': infer B } } } }
  ? B
  : paths[P][M] extends { responses: { 202: { content: { 'application/json': infer B } } } }
    ? B
    : never;

/** The API's typed client (generated from its OpenAPI document), sending the session's access token. */
export function useApi() {
  const session = useSession();
  return useMemo(() => createClient<paths>({ baseUrl: typeof location === 'undefined' ? 'http://localhost' : location.origin, fetch: session.request }), [session.request]);
}

/** The data of a typed call, or an ApiFailure with the API's own error message. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data !== undefined && r.response.ok) return r.data;
  const e = (r.error as { error?: { code?: string; message?: string } } | undefined)?.error;
  throw new ApiFailure(r.response.status, e?.code ?? 'http_error', e?.message ?? r.response.statusText);
}

/** What went wrong with a typed call, in the API's own words (its status when it gave none). */
export function failureOf(r: { error?: unknown; response: Response }): string {
  return (r.error as { error?: { message?: string } } | undefined)?.error?.message ?? `${r.response.status}`;
}

/** Saves a fetched file under a name: the access token a file needs cannot ride on a plain link. */
export async function saveResponse(res: Response, name: string): Promise<void> {
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  URL.revokeObjectURL(url);
}
