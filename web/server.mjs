// The web application's server: Next.js for the pages, and the API reached same-origin — every
// /api/* request and /ws/* WebSocket is passed to the API unchanged, so the browser talks to one
// origin and the refresh cookie (SameSite=Strict, path /api/auth) works without CORS.
import { createServer } from 'node:http';
import httpProxy from 'http-proxy';
import next from 'next';

function config() {
  const problems = [];
  const port = Number(process.env.WEB_PORT ?? '3000');
  if (!Number.isInteger(port) || port < 1 || port > 65535) problems.push(`WEB_PORT must be a port number, got "${process.env.WEB_PORT}"`);
  const host = process.env.WEB_HOST ?? '127.0.0.1';
  let api;
  try {
    api = new URL(process.env.API_URL ?? '');
    if (api.protocol !== 'http:' && api.protocol !== 'https:') problems.push(`API_URL must be http(s), got "${process.env.API_URL}"`);
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    problems.push(`API_URL must be the API's base URL (such as http://127.0.0.1:8001), got "${process.env.API_URL ?? ''}"`);
  }
  if (problems.length) {
    console.error(`the web application cannot start:\n  ${problems.join('\n  ')}`);
    process.exit(78);
  }
  return { port, host, api: api.origin };
}

const { port, host, api } = config();
const app = next({ dev: false, dir: import.meta.dirname, hostname: host, port });
const handle = app.getRequestHandler();
await app.prepare();

const proxy = httpProxy.createProxyServer({ target: api, ws: true, xfwd: true });
proxy.on('error', (err, _req, res) => {
  // The API is down or restarting: a clear 502 in the API's error shape, never a hung request.
  console.warn(`api proxy: ${err.message}`);
  if (res && 'writeHead' in res && !res.headersSent) {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'dependency_unavailable', message: 'the API cannot be reached' } }));
  } else if (res && 'destroy' in res) res.destroy();
});

// The API's own documentation (Swagger UI, /docs) is served by the API too.
const toApi = (url = '') => url.startsWith('/api/') || url === '/api' || url.startsWith('/ws/') || url.startsWith('/openapi.json') || url === '/docs' || url.startsWith('/docs/');
const server = createServer((req, res) => {
  if (toApi(req.url)) proxy.web(req, res);
  else void handle(req, res);
});
const upgraded = new Set();
server.on('upgrade', (req, socket, head) => {
  if (!req.url?.startsWith('/ws/')) return void socket.destroy();
  upgraded.add(socket);
  socket.once('close', () => upgraded.delete(socket));
  proxy.ws(req, socket, head);
});
server.listen(port, host, () => console.log(`web application on http://${host}:${port} (API ${api})`));
// A stop ends open WebSockets too (the pages reconnect), or close would wait for them forever.
const stop = () => {
  server.close(() => process.exit(0));
  for (const socket of upgraded) socket.destroy();
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
