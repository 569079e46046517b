import { createServer, type Server } from 'node:http';

export interface VendorSite {
  origin: string;
  /** Paths requested, in order. */
  requests: string[];
  /** Replaces or adds a file while the site runs. */
  put: (path: string, body: Buffer | string, type?: string) => void;
  stop: () => Promise<void>;
}

/**
 * A vendor's static site on its own port (another origin than the app), answering with CORS as GitHub
 * Pages does. `fallback` answers unknown paths the way many static hosts do: HTTP 200 with the site's
 * index.html, instead of a 404.
 */
export async function vendorSite(files: Record<string, Buffer | string>, opts: { fallback?: string } = {}): Promise<VendorSite> {
  const bodies = new Map<string, { body: Buffer; type: string }>();
  const typeOf = (path: string) => (path.endsWith('.json') ? 'application/json' : path.endsWith('.html') ? 'text/html; charset=utf-8' : 'application/octet-stream');
  const put = (path: string, body: Buffer | string, type = typeOf(path)) => bodies.set(path, { body: Buffer.from(body), type });
  for (const [path, body] of Object.entries(files)) put(path, body);
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const file = bodies.get(path);
    if (file) {
      res.writeHead(200, { 'content-type': file.type, 'access-control-allow-origin': '*' }).end(file.body);
    } else if (opts.fallback !== undefined) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'access-control-allow-origin': '*' }).end(opts.fallback);
    } else {
      res.writeHead(404, { 'access-control-allow-origin': '*' }).end('not found');
    }
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return { origin: `http://127.0.0.1:${address.port}`, requests, put, stop: () => new Promise((ok) => server.close(() => ok())) };
}

/** `length` pseudo-random bytes, the same for the same seed. */
export function seededBytes(length: number, seed: number): Buffer {
  let x = seed >>> 0;
  return Buffer.from(Array.from({ length }, () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), x >>> 24)));
}
