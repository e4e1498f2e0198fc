// Nx inference plugin (nx.json "plugins"): every project, i.e. every apps/*/project.json or libs/*/project.json,
// gets build, lint and test targets with no entry of its own. Caching and inputs are in nx.json targetDefaults.
//   build  the workspace build (one tsc program for apps, libs and bench; dist/ mirrors the tree)
//   lint   ESLint on the project's folder, with the module boundaries of eslint.config.js
//   test   the project's unit specs (*.spec.ts); integration and e2e suites need infrastructure: npm test
import { dirname } from 'node:path';

const JEST = 'node --experimental-vm-modules node_modules/jest/bin/jest.js';

function targetsFor(root) {
  return {
    build: { command: 'tsc -p tsconfig.build.json', metadata: { description: 'npm run build (whole workspace)' } },
    lint: { command: `eslint ${root}`, metadata: { description: `eslint ${root}` } },
    test: {
      command: `${JEST} --selectProjects unit --passWithNoTests ${root}/`,
      metadata: { description: `unit specs under ${root}/` },
    },
  };
}

export const createNodesV2 = [
  '{apps,libs}/*/project.json',
  (projectFiles) =>
    projectFiles.map((file) => {
      const root = dirname(file);
      return [file, { projects: { [root]: { targets: targetsFor(root) } } }];
    }),
];

export const name = 'rollgate-targets';
