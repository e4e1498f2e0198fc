import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { jest } from '@jest/globals';
import { freePort, waitFor } from '#rollgate/testing';
import { RollgateSystem, expectError, uniqueKey } from './harness/index.js';

jest.setTimeout(180_000);

/**
 * Issue 11 part 4, as a user meets the SDK: the packed tarball (scripts/pack-sdk.mjs) installed from the npm registry
 * into an empty project outside the repository, the service example of docs/sdk.md run from it against the running
 * system, and the OpenFeature provider from its subpath; the root pulls in and loads no NestJS.
 */
const ROOT = resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);
const ENVIRONMENT = 'production';
const FLAGS = '/api/v1/feature-flags';

let system: RollgateSystem;
let tarball: string;
let project: string;
let nestProject: string | undefined;
let example: ChildProcess | undefined;

/** The first ```js block of docs/sdk.md's "A service using it": the example the docs promise works. */
async function serviceExample(): Promise<string> {
  const docs = await readFile(join(ROOT, 'docs/sdk.md'), 'utf8');
  const section = docs.slice(docs.indexOf('## A service using it'));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (match === null) throw new Error('docs/sdk.md has no js block under "A service using it"');
  return match[1]!;
}

const sdkEnv = () => ({ NATS_URL: system.nats.url, ROLLGATE_SDK_NATS_PASSWORD: system.nats.client('sdk').credentials.password });

/** Runs a script of the temp project to its end; its stdout as lines. */
async function node(args: string[], env: Record<string, string> = {}, cwd = project): Promise<string[]> {
  const { stdout } = await run(process.execPath, args, { cwd, env: { ...process.env, ...env }, timeout: 60_000 });
  return stdout.trim().split('\n');
}

beforeAll(async () => {
  const [started, packed, dir] = await Promise.all([
    RollgateSystem.start({ env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } }),
    run(process.execPath, [join(ROOT, 'scripts/pack-sdk.mjs')], { cwd: ROOT }),
    mkdtemp(join(tmpdir(), 'rollgate-sdk-consumer-')),
  ]);
  system = started;
  project = dir;
  tarball = packed.stdout.trim().split('\n').at(-1)!;
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'sdk-consumer', private: true, type: 'module' }));
  const openFeature = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).dependencies as Record<string, string>;
  // The registry is the source (the local cache first): nothing comes from the repository but the tarball.
  await run('npm', [
    'install', '--no-audit', '--no-fund', '--prefer-offline', tarball,
    `@openfeature/server-sdk@${openFeature['@openfeature/server-sdk']}`, `@openfeature/core@${openFeature['@openfeature/core']}`,
  ], { cwd: project, timeout: 120_000 });
}, 180_000);

afterAll(async () => {
  example?.kill('SIGKILL');
  await system?.stop();
  for (const dir of [project, nestProject]) if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

it('installs without NestJS or class-validator: npm ls lists nats.js, and NestJS only as optional peers not installed', async () => {
  const { stdout } = await run('npm', ['ls', '--all', '--json'], { cwd: project });
  interface Tree { version?: string; dependencies?: Record<string, Tree> }
  const installed = new Set<string>();
  const listed = new Set<string>();
  const walk = (tree: Tree): void => {
    for (const [name, child] of Object.entries(tree.dependencies ?? {})) {
      listed.add(name);
      // An optional peer nobody installed is listed as an empty entry.
      if (child.version !== undefined) installed.add(name);
      walk(child);
    }
  };
  walk(JSON.parse(stdout) as Tree);
  expect(installed).toContain('@rollgate/sdk');
  expect(installed).toContain('@nats-io/transport-node');
  expect(listed).toContain('@nestjs/common');
  expect([...installed].filter((name) => name.startsWith('@nestjs/') || name === 'class-validator' || name === 'reflect-metadata')).toEqual([]);
  await expect(readdir(join(project, 'node_modules/@nestjs'))).rejects.toMatchObject({ code: 'ENOENT' });
});

it('loads no @nestjs, OpenFeature or class-validator module from the root, and the NestJS subpath asks for its peer', async () => {
  // Every module URL the root import resolves, recorded by a resolve hook before anything is loaded.
  await writeFile(join(project, 'record-loads.mjs'), [
    "import { registerHooks } from 'node:module';",
    'const loaded = [];',
    'registerHooks({ resolve(specifier, context, next) { const result = next(specifier, context); loaded.push(result.url); return result; } });',
    "const sdk = await import('@rollgate/sdk');",
    'console.log(JSON.stringify({ exports: Object.keys(sdk), loaded }));',
  ].join('\n'));
  const [line] = await node(['record-loads.mjs']);
  const { exports, loaded } = JSON.parse(line!) as { exports: string[]; loaded: string[] };
  expect(exports).toEqual(expect.arrayContaining(['RollgateClient', 'SdkError']));
  expect(exports).not.toContain('RollgateProvider');
  expect(loaded.some((url) => url.includes('/node_modules/@nats-io/'))).toBe(true);
  expect(loaded.filter((url) => /\/node_modules\/(@nestjs|@openfeature|class-validator|reflect-metadata)\//.test(url))).toEqual([]);

  const nest = await node(['--input-type=module', '-e', "import('@rollgate/sdk/nestjs').then(() => console.log('loaded'), (e) => console.log(e.code, e.message))"]);
  expect(nest[0]).toMatch(/^ERR_MODULE_NOT_FOUND .*'@nestjs\/(common|core)'/);
});

it('ships its types: a strict TypeScript consumer compiles against the root, library declarations checked too', async () => {
  await writeFile(join(project, 'consumer.ts'), [
    "import { RollgateClient, type EvaluationResult, type FlagMetadata } from '@rollgate/sdk';",
    "const flags = RollgateClient.offline({ environment: 'production', snapshot: { environment: 'production', position: '1', flags: [], segments: [] } });",
    "const result: EvaluationResult<boolean> = flags.evaluate('checkout', { userId: 'u' }, false);",
    'const metadata: FlagMetadata | undefined = result.metadata;',
    'console.log(result.reason, metadata);',
    '// @ts-expect-error a flag key is a string',
    'flags.isEnabled(42, {});',
  ].join('\n'));
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  await expect(run(process.execPath, [
    tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2023', '--skipLibCheck', 'false',
    '--types', 'node', '--typeRoots', join(ROOT, 'node_modules/@types'), 'consumer.ts',
  ], { cwd: project })).resolves.toMatchObject({ stdout: '' });
});

it("runs docs/sdk.md's service example: the flag decides the branch, a change arrives as an event, SIGTERM closes", async () => {
  const key = 'auto_submit_enabled';
  const created = await system.api('POST', FLAGS, { name: key, target_environments: [ENVIRONMENT] });
  expect(created.status).toBe(201);
  await writeFile(join(project, 'service.mjs'), await serviceExample());
  const port = await freePort();
  const output: string[] = [];
  example = spawn(process.execPath, ['service.mjs'], { cwd: project, env: { ...process.env, ...sdkEnv(), PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  example.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  example.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const exited = new Promise<number | null>((done) => example!.once('exit', done));

  const order = async (userId: string): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${port}/orders`, { method: 'POST', headers: { 'x-user-id': userId, 'x-plan': 'pro' } });
    return response.text();
  };
  const first = await waitFor('the example serving HTTP', () => order('u-1').catch(() => undefined), { timeoutMs: 30_000 });
  expect(first).toBe('submitted automatically');

  const toggled = await system.api('PUT', `${FLAGS}/${key}/environments/${ENVIRONMENT}`, { enabled: false });
  expect(toggled.status).toBe(200);
  const logged = 'flag changed ';
  const change = await waitFor(
    'the change event logged',
    async () => output.join('').split('\n').find((line) => line.startsWith(logged)),
    { timeoutMs: 20_000 },
  );
  expect(JSON.parse(change.slice(logged.length))).toMatchObject({ flag: key, version: 2, by: expect.any(String) });
  expect(await order('u-1')).toBe('queued for review');

  example.kill('SIGTERM');
  expect(await exited).toBe(0);
  example = undefined;
});

it('serves OpenFeature semantics through @rollgate/sdk/openfeature: boolean conditions, flag metadata, DISABLED, FLAG_NOT_FOUND', async () => {
  const key = uniqueKey('of_pkg');
  const metadata = { team_name: 'checkout', ticket: 12, reviewed: true };
  const created = await system.api('POST', FLAGS, {
    flag: {
      key, name: 'OpenFeature package check', type: 'experiment', metadata,
      variants: [{ key: 'internal', payload: 'INTERNAL', weight: 0 }, { key: 'external', payload: 'EXTERNAL', weight: 1 }],
      environments: {
        [ENVIRONMENT]: {
          enabled: true, default_rollout: { type: 'all_users' },
          rules: [{ id: 'staff', conditions: [{ attribute: 'customer', operator: 'equals', values: [false] }], variant: 'internal' }],
        },
        staging: { enabled: false, default_rollout: { type: 'all_users' } },
      },
    },
  });
  expect(created.status).toBe(201);
  expect(created.body.flag.metadata).toEqual(metadata);
  const updated = await system.api('PUT', `${FLAGS}/${key}`, { metadata: { ...metadata, ticket: 13 } });
  expect(updated.status).toBe(200);
  expect(updated.body.metadata).toEqual({ ...metadata, ticket: 13 });
  expectError(await system.api('PUT', `${FLAGS}/${key}`, { metadata: { nested: { a: 1 } } }), 400, 'GENERIC.VALIDATION', 'metadata.nested');

  await writeFile(join(project, 'openfeature.mjs'), `
import { OpenFeature } from '@openfeature/server-sdk';
import { RollgateProvider } from '@rollgate/sdk/openfeature';
const credentials = { user: 'sdk', password: process.env.ROLLGATE_SDK_NATS_PASSWORD };
const details = [];
for (const environment of ['${ENVIRONMENT}', 'staging']) {
  await OpenFeature.setProviderAndWait(environment, new RollgateProvider({ environment, servers: process.env.NATS_URL, credentials }));
  const client = OpenFeature.getClient(environment);
  details.push(await client.getStringDetails('${key}', 'fallback', { targetingKey: 'u-1', customer: false }));
  details.push(await client.getStringDetails('${key}', 'fallback', { targetingKey: 'u-1', customer: 'false' }));
}
details.push(await OpenFeature.getClient('${ENVIRONMENT}').getStringDetails('missing-flag', 'fallback', {}));
await OpenFeature.close();
console.log(JSON.stringify(details));
`);
  const [line] = await node(['openfeature.mjs'], sdkEnv());
  const expectedMetadata = { ...metadata, ticket: 13 };
  expect(JSON.parse(line!)).toEqual([
    expect.objectContaining({ value: 'INTERNAL', variant: 'internal', reason: 'TARGETING_MATCH', flagMetadata: expectedMetadata }),
    expect.objectContaining({ value: 'EXTERNAL', variant: 'external', reason: 'DEFAULT', flagMetadata: expectedMetadata }),
    expect.objectContaining({ value: 'fallback', reason: 'DISABLED', flagMetadata: expectedMetadata }),
    expect.objectContaining({ value: 'fallback', reason: 'DISABLED', flagMetadata: expectedMetadata }),
    expect.objectContaining({ value: 'fallback', reason: 'ERROR', errorCode: 'FLAG_NOT_FOUND', flagMetadata: {} }),
  ]);
});

it('runs the NestJS module from @rollgate/sdk/nestjs once its peers are installed, sharing RollgateClient with the root', async () => {
  nestProject = await mkdtemp(join(tmpdir(), 'rollgate-sdk-nest-'));
  await writeFile(join(nestProject, 'package.json'), JSON.stringify({ name: 'sdk-nest-consumer', private: true, type: 'module' }));
  const versions = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')).dependencies as Record<string, string>;
  const peers = ['@nestjs/common', '@nestjs/core', 'reflect-metadata', 'rxjs'].map((name) => `${name}@${versions[name]}`);
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, ...peers], { cwd: nestProject, timeout: 120_000 });
  const key = uniqueKey('nest_pkg');
  expect((await system.api('POST', FLAGS, { name: key, target_environments: [ENVIRONMENT], metadata: { via: 'nest' } })).status).toBe(201);

  // Plain JavaScript: decorators applied as calls, as TypeScript would emit them.
  await writeFile(join(nestProject, 'app.mjs'), `
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { RollgateClient } from '@rollgate/sdk';
import { RollgateModule } from '@rollgate/sdk/nestjs';
const credentials = { user: 'sdk', password: process.env.ROLLGATE_SDK_NATS_PASSWORD };
class AppModule {}
Module({ imports: [RollgateModule.forRoot({ environment: '${ENVIRONMENT}', servers: process.env.NATS_URL, credentials })] })(AppModule);
const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const flags = app.get(RollgateClient);
console.log(JSON.stringify({ instance: flags instanceof RollgateClient, result: flags.evaluate('${key}', { userId: 'u-1' }, false) }));
await app.close();
`);
  const [line] = await node(['app.mjs'], sdkEnv(), nestProject);
  expect(JSON.parse(line!)).toEqual({
    instance: true,
    result: { value: true, variant: 'on', reason: 'STATIC', flagVersion: 1, metadata: { via: 'nest' } },
  });
});
