import { runService } from '#rollgate/service-runtime';
import { canaryService } from './canary.module.js';

await runService(canaryService);
