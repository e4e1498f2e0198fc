// Builds the SDK as the npm package @rollgate/sdk and packs it: `npm run pack:sdk` (after `npm run build`).
// Prints the tarball's path. See docs/sdk.md, "Installing the package".
//
// Types: tsc emits the declarations of the three entry points and what they reference (libs/sdk/tsconfig.pack.json)
// into types/, where the package's own `imports` map resolves their `#rollgate/<lib>` imports.
//
// The workspace's own libs (sdk, evaluation, contracts) are bundled from tsc's output in dist/ (tsc, not esbuild,
// compiles them: the NestJS module needs the constructor metadata tsc emits), into three entry points sharing one
// chunk, so `RollgateClient` is one class whichever entry a service imports. Third-party code stays external: nats.js,
// semver and ipaddr.js are dependencies; NestJS and OpenFeature optional peers, imported by their entry points only.
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const sdkDist = join(root, 'dist/libs/sdk/src');
const out = join(root, 'dist/packages/sdk');
const typesOut = join(root, 'dist/packages/sdk-types');

const TYPES = { index: 'core', openfeature: 'openfeature/index', nestjs: 'nest/index' };
const ENTRIES = {
  index: join(sdkDist, 'core.js'),
  openfeature: join(sdkDist, 'openfeature/index.js'),
  nestjs: join(sdkDist, 'nest/index.js'),
};
const DEPENDENCIES = ['@nats-io/jetstream', '@nats-io/nats-core', '@nats-io/transport-node', 'ipaddr.js', 'semver'];
const OPTIONAL_PEERS = ['@nestjs/common', '@nestjs/core', '@openfeature/server-sdk'];
/** What each entry point may import besides node: builtins and the dependencies. */
const PEERS_OF = { index: [], openfeature: ['@openfeature/server-sdk'], nestjs: ['@nestjs/common', '@nestjs/core'] };

const workspace = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const rangeOf = (name) => {
  const range = workspace.dependencies?.[name] ?? workspace.devDependencies?.[name];
  if (range === undefined) throw new Error(`${name} is not a dependency of the workspace`);
  return range;
};
const packageOf = (specifier) => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/');

for (const entry of Object.values(ENTRIES)) {
  if (!existsSync(entry)) throw new Error(`${relative(root, entry)} is missing: run npm run build first`);
}
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// The contracts lib also holds the command classes, whose class-validator decorators run at import. Nothing the SDK
// uses comes from those modules; declaring the workspace's own modules side-effect free lets esbuild leave every
// unused one out, and class-validator with them.
const workspaceModulesArePure = {
  name: 'workspace-modules-are-pure',
  setup(b) {
    // `#rollgate/<lib>` is tsc's output, as at run time (package.json `imports`, condition `default`).
    b.onResolve({ filter: /^#rollgate\/[a-z-]+$/ }, (args) => ({
      path: join(root, 'dist/libs', args.path.slice('#rollgate/'.length), 'src/index.js'),
      sideEffects: false,
    }));
    b.onResolve({ filter: /^\./ }, (args) => {
      const path = join(args.resolveDir, args.path);
      return path.startsWith(join(root, 'dist/libs') + sep) ? { path, sideEffects: false } : undefined;
    });
  },
};

const result = await build({
  absWorkingDir: root,
  entryPoints: ENTRIES,
  outdir: join(out, 'dist'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  plugins: [workspaceModulesArePure],
  metafile: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});

// Refuse a package whose entry points import what they must not: a peer from the root, or anything undeclared.
const problems = [];
for (const [name, file] of Object.entries(result.metafile.outputs)) {
  if (!file.entryPoint) continue;
  const entry = Object.entries(ENTRIES).find(([, path]) => relative(root, path) === file.entryPoint)?.[0];
  const seen = new Set();
  const walk = (output) => {
    if (seen.has(output)) return;
    seen.add(output);
    for (const imported of result.metafile.outputs[output].imports) {
      if (!imported.external) walk(imported.path);
      else if (!imported.path.startsWith('node:')) {
        const pkg = packageOf(imported.path);
        if (!DEPENDENCIES.includes(pkg) && !PEERS_OF[entry].includes(pkg)) problems.push(`${entry} (${name}) imports ${imported.path}`);
      }
    }
  };
  walk(name);
}
if (problems.length > 0) throw new Error(`the SDK package would import undeclared modules:\n  ${problems.join('\n  ')}`);

rmSync(typesOut, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'libs/sdk/tsconfig.pack.json')], { stdio: 'inherit' });
cpSync(join(typesOut, 'libs'), join(out, 'types/libs'), { recursive: true });

const entryPoint = (entry) => ({ types: `./types/libs/sdk/src/${TYPES[entry]}.d.ts`, default: `./dist/${entry}.js` });
const manifest = {
  name: '@rollgate/sdk',
  version: workspace.version,
  description: 'Rollgate SDK: local feature-flag evaluation kept current over NATS, outcome tracking, an OpenFeature provider and a NestJS module',
  license: workspace.license,
  type: 'module',
  engines: { node: '>=20' },
  exports: {
    '.': entryPoint('index'),
    './openfeature': entryPoint('openfeature'),
    './nestjs': entryPoint('nestjs'),
    './package.json': './package.json',
  },
  // Resolves the bundled declarations' imports of the workspace libs (types only: the code is bundled).
  imports: { '#rollgate/*': { types: './types/libs/*/src/index.d.ts' } },
  files: ['dist', 'types', 'README.md'],
  sideEffects: false,
  dependencies: Object.fromEntries(DEPENDENCIES.map((name) => [name, rangeOf(name)])),
  peerDependencies: Object.fromEntries(OPTIONAL_PEERS.map((name) => [name, rangeOf(name)])),
  peerDependenciesMeta: Object.fromEntries(OPTIONAL_PEERS.map((name) => [name, { optional: true }])),
};
writeFileSync(join(out, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
copyFileSync(join(root, 'docs/sdk.md'), join(out, 'README.md'));

const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', join(root, 'dist/packages')], { cwd: out, encoding: 'utf8' }));
console.log(join(root, 'dist/packages', packed[0].filename));
