import type { FlagOperation } from './step-operations.js';

/** The most flags one `configure-environments` carries from here: a transaction short enough not to hold back readers. */
export const FLAGS_PER_BULK = 100;
/** The most one bulk request's items may take as JSON: far below NATS max_payload (ADR 0009), whatever the configs. */
export const BULK_REQUEST_BYTES = 256 * 1024;

/** A single flags command, or several `configure-environment`s of one environment sent as one `configure-environments`. */
export type FlagBatch = { kind: 'single'; index: number; op: FlagOperation } | { kind: 'bulk'; environment: string; indexes: number[]; ops: FlagOperation[] };

const itemBytes = (op: FlagOperation): number => Buffer.byteLength(JSON.stringify({ key: op.payload['key'], config: op.payload['config'], commandId: op.commandId })) + 1;

/**
 * How a step's flag operations are sent, pure: `configure-environment`s of one environment (a restore) go in bulks of
 * at most FLAGS_PER_BULK flags and BULK_REQUEST_BYTES, in plan order; everything else, and a bulk of one, alone. The
 * operations keep their planned command ids (each bulk item carries its own), so how they are batched may change
 * between attempts, or versions, without anything applying twice.
 */
export function batchFlagOperations(ops: readonly FlagOperation[]): FlagBatch[] {
  const batches: FlagBatch[] = [];
  const open = new Map<string, { indexes: number[]; ops: FlagOperation[]; bytes: number }>();
  const close = (environment: string): void => {
    const bulk = open.get(environment);
    if (!bulk) return;
    open.delete(environment);
    batches.push(bulk.ops.length === 1 ? { kind: 'single', index: bulk.indexes[0]!, op: bulk.ops[0]! } : { kind: 'bulk', environment, indexes: bulk.indexes, ops: bulk.ops });
  };
  ops.forEach((op, index) => {
    if (op.verb !== 'configure-environment') {
      batches.push({ kind: 'single', index, op });
      return;
    }
    const environment = String(op.payload['environment']);
    const bytes = itemBytes(op);
    const bulk = open.get(environment);
    if (bulk && (bulk.ops.length >= FLAGS_PER_BULK || bulk.bytes + bytes > BULK_REQUEST_BYTES)) close(environment);
    const current = open.get(environment) ?? { indexes: [], ops: [], bytes: 0 };
    current.indexes.push(index);
    current.ops.push(op);
    current.bytes += bytes;
    open.set(environment, current);
  });
  for (const environment of [...open.keys()]) close(environment);
  return batches;
}
