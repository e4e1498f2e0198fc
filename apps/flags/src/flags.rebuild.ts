import { createPool, ProjectionRunner, type Projection } from '#rollgate/event-store';
import { AuditProjection } from './audit/audit.projection.js';
import { FlagStateProjection } from './flag-state/flag-state.projection.js';

/**
 * `main.js rebuild`: empties the read models that are derived from the log (flag and segment state, the audit
 * trail) and replays es.events from zero through the same projection code the live service runs. Run it with
 * the service stopped: the inline flag_state projection of a live process would race the reset. Evaluation
 * counts are not events and are left alone.
 */
export async function rebuildReadModels(databaseUrl: string): Promise<Record<string, number>> {
  const pool = createPool(databaseUrl, { max: 2, applicationName: 'flags-rebuild' });
  try {
    const projections: Projection[] = [new FlagStateProjection(), new AuditProjection()];
    const replayed: Record<string, number> = {};
    for (const projection of projections) replayed[projection.name] = await new ProjectionRunner(pool, projection).rebuild();
    return replayed;
  } finally {
    await pool.end();
  }
}
