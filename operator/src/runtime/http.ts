/**
 * The operator's HTTP endpoints: `/healthz` (the process is alive and, when leading, renewing its lease),
 * `/readyz` (caches synced when leading; a standby is ready to take over) and `/metrics` (Prometheus text).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from './metrics.ts';

/** A named check: undefined when fine, else what is wrong. */
export type Check = () => string | undefined;

/** Options of the health server. */
export interface HealthServerOptions {
  host: string;
  /** 0 picks a free port (several replicas on one host, as in tests). */
  port: number;
  registry: Registry;
  healthz: Check[];
  readyz: Check[];
}

/** Starts the server; resolves with it and the port it listens on. */
export async function startHealthServer(options: HealthServerOptions): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(options.registry.render());
      return;
    }
    const checks = path === '/healthz' || path === '/livez' ? options.healthz : path === '/readyz' ? options.readyz : undefined;
    if (!checks) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
      return;
    }
    const problems = checks.map((c) => c()).filter((p): p is string => p !== undefined);
    res.writeHead(problems.length ? 503 : 200, { 'Content-Type': 'text/plain' });
    res.end(problems.length ? `${problems.join('\n')}\n` : 'ok\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
