import { runService } from '#rollgate/service-runtime';
import { rollbackService } from './rollback.module.js';

await runService(rollbackService);
