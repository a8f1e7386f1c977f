'use client';
import { useEffect, useRef, useState } from 'react';
import { useSession } from './session';

export type LiveState = 'connecting' | 'connected' | 'reconnecting';

/**
 * A WebSocket channel of the API, kept open: after a drop it reconnects with back-off (1 s, 2 s, …
 * 15 s) and calls `onResume` once it is back, so the page can fetch what it missed while away.
 * The reconnect asks the API for the events it missed (`last_event_id`, the last stream id seen).
 * The access token and the session's workspace go in the query (a browser cannot set headers on a
 * WebSocket); another workspace chosen opens the channel anew.
 */
export function useLiveChannel(path: string, onMessage: (msg: Record<string, unknown>) => void, onResume: () => void): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const { workspaceId, accessToken } = useSession();
  const handlers = useRef({ onMessage, onResume, token: accessToken });
  handlers.current = { onMessage, onResume, token: accessToken };

  useEffect(() => {
    let ws: WebSocket | null = null;
    let stopped = false;
    let attempt = 0;
    let retry: ReturnType<typeof setTimeout> | null = null;
    let lastId: string | null = null;
    const open = () => {
      const access = handlers.current.token();
      if (!access) return;
      const url = new URL(path, location.href);
      url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
      url.searchParams.set('access_token', access);
      if (workspaceId) url.searchParams.set('workspace_id', workspaceId);
      if (lastId) url.searchParams.set('last_event_id', lastId);
      ws = new WebSocket(url);
      ws.onopen = () => {
        if (attempt > 0) handlers.current.onResume();
        attempt = 0;
        setState('connected');
      };
      ws.onmessage = (e) => {
        const msg = JSON.parse(String(e.data)) as Record<string, unknown>;
        if (typeof msg.id === 'string' && /^\d+-\d+$/.test(msg.id)) lastId = msg.id;
        handlers.current.onMessage(msg);
      };
      ws.onclose = () => {
        if (stopped) return;
        setState('reconnecting');
        attempt += 1;
        retry = setTimeout(open, Math.min(15_000, 1000 * 2 ** (attempt - 1)));
      };
    };
    open();
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      ws?.close();
    };
  }, [path, workspaceId]);
  return state;
}
