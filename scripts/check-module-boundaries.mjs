// Run by `npm run lint`, after the project graph is built: proves @nx/enforce-module-boundaries really checks.
// Without a project graph the rule only warns "No cached ProjectGraph is available" and passes everything, so a
// green lint proves nothing. This writes two deliberate violations, lints them with the workspace's ESLint config,
// fails unless each one is reported by the rule as an error, and always removes them.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const RULE = '@nx/enforce-module-boundaries';
const root = fileURLToPath(new URL('..', import.meta.url));

const VIOLATIONS = [
  {
    why: 'a lib imports an app',
    file: 'libs/contracts/src/__violation.ts',
    code: "import * as flagsConfig from '../../../apps/flags/src/flags.config.js';\n\nexport const violation = flagsConfig;\n",
  },
  {
    why: 'the SDK imports the event store',
    file: 'libs/sdk/src/__violation.ts',
    code: "import * as eventStore from '#rollgate/event-store';\n\nexport const violation = eventStore;\n",
  },
];

const header = '// Temporary file written by scripts/check-module-boundaries.mjs (npm run lint); it must fail lint.\n';
const failures = [];
try {
  for (const v of VIOLATIONS) writeFileSync(join(root, v.file), header + v.code);
  const results = await new ESLint({ cwd: root }).lintFiles(VIOLATIONS.map((v) => v.file));
  for (const v of VIOLATIONS) {
    const result = results.find((r) => r.filePath === join(root, v.file));
    const errors = (result?.messages ?? []).filter((m) => m.ruleId === RULE && m.severity === 2);
    if (errors.length === 0) {
      failures.push(`${v.file} (${v.why}): no ${RULE} error; got ${JSON.stringify(result?.messages ?? [])}`);
    } else {
      console.log(`ok  ${v.file} (${v.why}): ${errors.map((e) => e.message.split('\n')[0]).join(' | ')}`);
    }
  }
} finally {
  for (const v of VIOLATIONS) rmSync(join(root, v.file), { force: true });
}

if (failures.length > 0) {
  console.error(`Module boundaries are not enforced (is the Nx project graph built? run: npx nx show projects):`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
