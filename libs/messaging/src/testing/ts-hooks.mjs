// Test-only: lets `node --import ./libs/messaging/src/testing/ts-hooks.mjs x.ts` run the workspace's TypeScript
// sources directly (no build step), the way Jest's moduleNameMapper sees them: `#rollgate/<lib>` resolves to
// libs/<lib>/src/index.ts and `./x.js` to `./x.ts`; each .ts file is transpiled on load (no type check).
import { existsSync, readFileSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const compilerOptions = {
  module: ts.ModuleKind.ESNext,
  target: ts.ScriptTarget.ES2023,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  esModuleInterop: true,
  sourceMap: false,
  inlineSourceMap: true,
};

registerHooks({
  resolve(specifier, context, next) {
    const lib = /^#rollgate\/([a-z-]+)$/.exec(specifier);
    if (lib) return { url: pathToFileURL(`${root}libs/${lib[1]}/src/index.ts`).href, shortCircuit: true };
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const candidate = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(candidate))) return { url: candidate.href, shortCircuit: true };
    }
    return next(specifier, context);
  },
  load(url, context, next) {
    if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context);
    const fileName = fileURLToPath(url);
    const { outputText } = ts.transpileModule(readFileSync(fileName, 'utf8'), { compilerOptions, fileName });
    return { format: 'module', source: outputText, shortCircuit: true };
  },
});
