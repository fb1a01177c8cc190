import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerResponse } from 'node:http';
import { sendJson, type HttpRoute } from '../../platform/http/serviceHttpServer.ts';

/** The page's own modules (top-level dashboard/ folder). */
const DASHBOARD_FOLDER = fileURLToPath(new URL('../../dashboard/', import.meta.url));
const PREFIX = '/dashboard';

/**
 * The libraries the page imports, as the browser finds them: files of node_modules served as
 * they are (ES modules, no build step), named by an import map. graphql-ws's client imports a
 * sibling chunk (`./common-*.js`), served beside it; its server's files are not.
 */
const resolved = (specifier: string) => fileURLToPath(import.meta.resolve(specifier));
const graphqlWsDist = dirname(resolved('graphql-ws'));
const VENDOR_FILES: Readonly<Record<string, string>> = {
  'vendor/preact.mjs': resolved('preact'),
  'vendor/preact-hooks.mjs': resolved('preact/hooks'),
  'vendor/htm.mjs': resolved('htm'),
  ...Object.fromEntries(
    readdirSync(graphqlWsDist)
      .filter((file) => file === 'client.js' || /^common-.*\.js$/.test(file))
      .map((file) => [`vendor/graphql-ws/${file}`, join(graphqlWsDist, file)]),
  ),
};
const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: `${PREFIX}/vendor/preact.mjs`,
    'preact/hooks': `${PREFIX}/vendor/preact-hooks.mjs`,
    htm: `${PREFIX}/vendor/htm.mjs`,
    'graphql-ws': `${PREFIX}/vendor/graphql-ws/client.js`,
  },
});

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
  readonly etag: string;
}

/**
 * The operations dashboard at /dashboard: a static page that talks to the public GraphQL API of
 * this same origin only. Every file is read once, at start, and kept in memory (a few hundred
 * kilobytes). Answers are revalidated on each load (`no-cache` with an ETag): the files change
 * with the deployment, and their URLs carry no version. The Content-Security-Policy lets the
 * page run its own scripts and the one inline import map (by its hash), and connect to its own
 * origin only (HTTP and WebSocket).
 */
export function dashboardRoute(): HttpRoute {
  const assets = new Map<string, Asset>();
  for (const file of listFiles(DASHBOARD_FOLDER)) {
    const name = relative(DASHBOARD_FOLDER, file).split('\\').join('/');
    if (name !== 'index.html') assets.set(name, asset(readFileSync(file), extname(file)));
  }
  for (const [name, file] of Object.entries(VENDOR_FILES)) assets.set(name, asset(readFileSync(file), extname(file)));
  const page = readFileSync(join(DASHBOARD_FOLDER, 'index.html'), 'utf8').replace('<!-- import map -->', `<script type="importmap">${IMPORT_MAP}</script>`);
  assets.set('', asset(Buffer.from(page), '.html'));
  const importMapHash = createHash('sha256').update(IMPORT_MAP).digest('base64');
  const contentSecurityPolicy = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    // 'self' covers ws: and wss: of the same origin in current browsers (CSP Level 3).
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');

  return {
    method: 'GET',
    path: /^\/dashboard(?:\/(.*))?$/,
    handle: async (request, response, match) => {
      const name = match[1] ?? '';
      const found = assets.get(name);
      if (!found) return sendJson(response, 404, { error: { code: 'NOT_FOUND', message: `The dashboard has no file ${name}` } });
      setSecurityHeaders(response, contentSecurityPolicy);
      response.setHeader('cache-control', 'no-cache');
      response.setHeader('etag', found.etag);
      if (request.headers['if-none-match'] === found.etag) {
        response.statusCode = 304;
        return void response.end();
      }
      response.writeHead(200, { 'content-type': found.contentType, 'content-length': found.body.length });
      response.end(found.body);
    },
  };
}

function asset(body: Buffer, extension: string): Asset {
  const contentType = CONTENT_TYPES[extension];
  if (!contentType) throw new TypeError(`The dashboard cannot serve a ${extension} file: add its content type`);
  return { body, contentType, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function setSecurityHeaders(response: ServerResponse, contentSecurityPolicy: string): void {
  response.setHeader('content-security-policy', contentSecurityPolicy);
  response.setHeader('x-content-type-options', 'nosniff');
  response.setHeader('referrer-policy', 'no-referrer');
}

function listFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const path = join(folder, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}
