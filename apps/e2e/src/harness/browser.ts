import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const HERE = dirname(fileURLToPath(import.meta.url));

/**
 * Debian's chromium (Playwright cannot download its own browser here): installed with apt-get when missing, as
 * scripts/infra.mjs installs PostgreSQL and NATS, when we are root or have passwordless sudo; otherwise a clear error.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const isRoot = process.getuid?.() === 0;
  if (!isRoot && spawnSync('sudo', ['-n', 'true']).status !== 0) {
    throw new Error(`${CHROMIUM} is missing and this user cannot install it (not root, no passwordless sudo): apt-get install chromium`);
  }
  const sudo = isRoot ? [] : ['sudo', '-n'];
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const command of [[...sudo, 'apt-get', 'update'], [...sudo, 'apt-get', 'install', '-y', '--no-install-recommends', 'chromium']]) {
    const run = spawnSync(command[0]!, command.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    if (run.status !== 0) throw new Error(`${command.join(' ')} failed (${run.status}): ${run.stderr?.toString().slice(-2_000)}`);
  }
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
}

/** Headless Chromium with a fresh profile and no background traffic; close() also removes the profile. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  ensureChromium();
  const profile = mkdtempSync(join(tmpdir(), 'rollgate-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * The flag page (src/browser/ofrep-page.ts, bundled with esbuild) on its own origin, so its calls to the gateway
 * are cross-origin and go through CORS as a real frontend's do.
 */
export async function servePage(): Promise<{ url: string; close(): Promise<void> }> {
  const bundle = await build({
    entryPoints: [join(HERE, '..', 'browser', 'ofrep-page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    write: false,
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0]!.contents;
  const html = '<!doctype html><html><head><title>flag</title></head><body><output id="flag">loading</output><script type="module" src="/page.js"></script></body></html>';
  const server: Server = createServer((request, response) => {
    if (request.url?.startsWith('/page.js')) response.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    else response.writeHead(200, { 'content-type': 'text/html' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
