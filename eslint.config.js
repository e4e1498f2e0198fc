// ESLint 9 flat config: typescript-eslint, Nx module boundaries on two tag axes (scope:*, type:*), Prettier last.
// Nx resolves `#rollgate/<lib>` imports to projects through the `paths` of tsconfig.base.json.
import js from '@eslint/js';
import nx from '@nx/eslint-plugin';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const TEST_FILES = ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', 'apps/e2e/**/*.ts', 'libs/testing/**/*.ts', '**/src/testing/**/*.ts'];

/** What each kind of project may import (type axis). type:testing is added only for test files, below. */
const TYPE_DEPS = {
  'type:app': [
    'type:contracts',
    'type:event-store',
    'type:messaging',
    'type:evaluation',
    'type:platform',
    'type:sdk',
    'type:runtime',
    'type:commands',
  ],
  'type:e2e': ['type:contracts', 'type:sdk', 'type:platform'],
  'type:contracts': [],
  'type:evaluation': ['type:contracts'],
  'type:platform': ['type:contracts'],
  'type:event-store': ['type:contracts', 'type:platform'],
  'type:messaging': ['type:contracts', 'type:platform', 'type:event-store'],
  'type:sdk': ['type:contracts', 'type:evaluation'],
  // A service runtime (boot, bus wiring, the command loop over the command core) and a command core (decide,
  // append, reply; no bus).
  'type:runtime': ['type:contracts', 'type:platform', 'type:event-store', 'type:messaging', 'type:commands'],
  'type:commands': ['type:contracts', 'type:platform', 'type:event-store'],
  'type:testing': ['type:contracts', 'type:platform', 'type:event-store', 'type:messaging', 'type:evaluation'],
};

/** Scope axis: a service's code sees only its own scope and the shared libs; no app imports another app. */
const SCOPE_DEPS = [
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:flags', onlyDependOnLibsWithTags: ['scope:flags', 'scope:shared'] },
  { sourceTag: 'scope:canary', onlyDependOnLibsWithTags: ['scope:canary', 'scope:shared'] },
  { sourceTag: 'scope:rollback', onlyDependOnLibsWithTags: ['scope:rollback', 'scope:shared'] },
  { sourceTag: 'scope:gateway', onlyDependOnLibsWithTags: ['scope:gateway', 'scope:shared'] },
  { sourceTag: 'scope:cli', onlyDependOnLibsWithTags: ['scope:cli', 'scope:shared'] },
  { sourceTag: 'scope:e2e', onlyDependOnLibsWithTags: ['scope:e2e', 'scope:shared'] },
];

function boundaries(allowTesting, overrides = {}) {
  const typeDeps = Object.entries({ ...TYPE_DEPS, ...overrides }).map(([sourceTag, deps]) => {
    const allowed = allowTesting && sourceTag !== 'type:contracts' ? [...deps, 'type:testing'] : deps;
    // An empty list means "no constraint" to Nx; a project's own tag never matches an import, so
    // [sourceTag] is how "depends on nothing internal" is written.
    return { sourceTag, onlyDependOnLibsWithTags: allowed.length ? allowed : [sourceTag] };
  });
  return [
    'error',
    {
      // scripts/ is no project; its tests (apps/e2e, e.g. the npm start supervisor) import it by path.
      allow: allowTesting ? ['../../../scripts/*'] : [],
      enforceBuildableLibDependency: false,
      allowCircularSelfDependency: false,
      banTransitiveDependencies: false,
      checkDynamicDependenciesExceptions: [],
      // A lib's own int-spec uses libs/testing, which uses the lib: a cycle only through test files.
      ignoredCircularDependencies: allowTesting ? [['testing', 'tag:scope:shared']] : [],
      depConstraints: [...typeDeps, ...SCOPE_DEPS],
    },
  ];
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.rollgate/', '.nx/', 'coverage/', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    // Typed linting, for the promise rules: an unawaited append or publish is a lost event.
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': [
        'error',
        { checksVoidReturn: { arguments: false, attributes: false } },
      ],
      '@typescript-eslint/await-thenable': 'error',
      '@nx/enforce-module-boundaries': boundaries(false),
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // No consistent-type-imports: Nest injects by emitted constructor metadata, which a type-only import erases.
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only (style.md §2).' },
      ],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    // Tests (and the test-only helpers) may use libs/testing; nothing else may.
    files: TEST_FILES,
    rules: { '@nx/enforce-module-boundaries': boundaries(true) },
  },
  {
    // The flag contracts carry the flag model (FlagDefinition, Rollout, Rule...), whose one definition lives in the
    // pure evaluation lib; contracts/flags may import it (see docs/adr/0005-flag-model-in-evaluation.md), and so may
    // keys.ts, whose KEY_PATTERN is the flag model's FLAG_KEY_PATTERN.
    files: ['libs/contracts/src/flags/**/*.ts', 'libs/contracts/src/keys.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(false, { 'type:contracts': ['type:evaluation'] }) },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: globals.node },
  },
  prettier,
);
