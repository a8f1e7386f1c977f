import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createApp } from '../../src/api/app';
import { attachWebSockets } from '../../src/api/ws';
import { closeDeps, createDeps, type Deps } from '../../src/deps';
import { createWorkers, prepareStores, type Workers } from '../../src/worker-setup';
import { stackEnv } from './stack';

/** The API and a worker in this process, against the real stack. */
export interface System {
  deps: Deps;
  url: string;
  workers?: Workers;
  stop(): Promise<void>;
}

export async function startSystem(overrides: Partial<ReturnType<typeof stackEnv>> = {}, opts: { worker?: boolean } = {}): Promise<System> {
  const env = { ...stackEnv(), ...overrides };
  const deps = await createDeps(env);
  await prepareStores(deps);
  const server: Server = await new Promise((resolve) => {
    const s = createApp(deps).listen(0, '127.0.0.1', () => resolve(s));
  });
  const hub = attachWebSockets(server, deps, () => 'default');
  const workers = opts.worker === false ? undefined : await createWorkers(deps, { identity: 'jest' });
  const running = workers?.run();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    deps,
    url,
    workers,
    async stop() {
      workers?.shutdown();
      await running;
      await workers?.connection.close();
      await hub.close();
      await new Promise((r) => server.close(r));
      await closeDeps(deps);
    },
  };
}

export async function api(base: string, path: string, init: RequestInit & { json?: unknown } = {}) {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const res = await fetch(`${base}${path}`, { ...init, headers, body });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, headers: res.headers, json: json as any, text }; // eslint-disable-line @typescript-eslint/no-explicit-any
}
