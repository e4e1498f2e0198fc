import { runService } from '#rollgate/service-runtime';
import { flagsService } from './flags.module.js';

await runService(flagsService);
