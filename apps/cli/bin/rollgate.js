#!/usr/bin/env node
// The workspace builds every app into the root dist/ (npm run build); `npm link` in apps/cli puts this on PATH.
import '../../../dist/apps/cli/src/main.js';
