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
