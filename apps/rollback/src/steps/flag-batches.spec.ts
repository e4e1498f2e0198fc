import { BULK_REQUEST_BYTES, FLAGS_PER_BULK, batchFlagOperations } from './flag-batches.js';
import type { FlagOperation } from './step-operations.js';

const configure = (n: number, environment = 'qa', config: unknown = { enabled: true }): FlagOperation => ({
  kind: 'flag',
  verb: 'configure-environment',
  payload: { key: `f${n}`, environment, config },
  commandId: `rb:e:0:${n}`,
  intent: null,
});
const toggle = (n: number): FlagOperation => ({ kind: 'flag', verb: 'toggle', payload: { key: `f${n}`, environment: 'qa', enabled: false }, commandId: `rb:e:0:${n}`, intent: null });

describe(batchFlagOperations.name, () => {
  it('bulks configure-environment by environment in plan order and sends everything else alone', () => {
    const ops = [configure(0), toggle(1), configure(2, 'prod'), configure(3), configure(4, 'prod'), configure(5, 'dev')];
    expect(batchFlagOperations(ops).map((batch) => (batch.kind === 'single' ? ['single', batch.index] : ['bulk', batch.environment, batch.indexes]))).toEqual([
      ['single', 1],
      ['bulk', 'qa', [0, 3]],
      ['bulk', 'prod', [2, 4]],
      ['single', 5],
    ]);
  });

  it('cuts bulks at FLAGS_PER_BULK flags and at BULK_REQUEST_BYTES, keeping every operation exactly once', () => {
    const many = Array.from({ length: FLAGS_PER_BULK * 2 + 1 }, (_, n) => configure(n));
    const sizes = batchFlagOperations(many).map((batch) => (batch.kind === 'bulk' ? batch.ops.length : 1));
    expect(sizes).toEqual([FLAGS_PER_BULK, FLAGS_PER_BULK, 1]);
    const big = { enabled: true, defaultRollout: { type: 'user_list', users: Array.from({ length: 3_000 }, (_, i) => `user-${i}`) } };
    const heavy = Array.from({ length: 30 }, (_, n) => configure(n, 'qa', big));
    const batches = batchFlagOperations(heavy);
    for (const batch of batches) {
      const ops = batch.kind === 'bulk' ? batch.ops : [batch.op];
      expect(Buffer.byteLength(JSON.stringify(ops.map((op) => ({ key: op.payload['key'], config: op.payload['config'], commandId: op.commandId }))))).toBeLessThanOrEqual(BULK_REQUEST_BYTES);
    }
    expect(batches.length).toBeGreaterThan(1);
    const indexes = batches.flatMap((batch) => (batch.kind === 'bulk' ? batch.indexes : [batch.index])).sort((a, b) => a - b);
    expect(indexes).toEqual(heavy.map((_, i) => i));
  });
});
