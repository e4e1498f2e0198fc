import 'reflect-metadata';
import type { CommandEnvelope, FlagEvent } from '#rollgate/contracts';
import {
  InMemoryEventStore,
  VersionConflictError,
  type AppendOptions,
  type AppendResult,
  type NewEvent,
} from '#rollgate/event-store';
import type { FlagDefinition } from '#rollgate/evaluation';
import { CommandHandler, jitteredRetry } from '#rollgate/commands';
import type { SegmentUsage } from '../store/store.tokens.js';
import { FlagService } from './flag.service.js';

const MAX_ATTEMPTS = jitteredRetry().maxAttempts;

const NOW = new Date('2026-03-01T12:00:00.000Z');

/** The in-memory store, able to lose races on demand. */
class TestStore extends InMemoryEventStore {
  /** Appends by "another writer" slipped in before each of the next N appends. */
  interlopers = 0;

  constructor() {
    super(() => NOW);
  }

  override async append(streamId: string, events: readonly NewEvent[], options: AppendOptions): Promise<AppendResult> {
    if (this.interlopers > 0) {
      this.interlopers--;
      await super.append(streamId, [{ type: 'FlagDetailsChanged', data: { changes: { owner: `other-${this.interlopers}` } } }], { expectedVersion: 'any' });
    }
    return super.append(streamId, events, options);
  }
}

const noUsage: SegmentUsage = { flagsUsing: async () => [] };

const definition: Omit<FlagDefinition, 'version'> = {
  key: 'checkout',
  name: 'Checkout',
  type: 'boolean',
  environments: { production: { enabled: true, rules: [], defaultRollout: { type: 'all_users' } } },
};

let sequence = 0;
const envelope = (commandId = `cmd-${++sequence}`): CommandEnvelope<unknown> => ({
  commandId,
  actor: 'alice',
  reason: 'because',
  correlationId: 'corr-1',
  payload: {},
});

describe(FlagService.name, () => {
  let store: TestStore;
  let service: FlagService;

  beforeEach(async () => {
    store = new TestStore();
    service = new FlagService(new CommandHandler({ store }), noUsage, () => NOW);
    await service.handleFlag(envelope('create'), { type: 'CreateFlag', data: { flag: structuredClone(definition) } });
  });

  it('appends the decided events with who, why and the command chain in their metadata', async () => {
    const result = await service.handleFlag(envelope('toggle-1'), {
      type: 'ToggleFlag',
      data: { key: 'checkout', environment: 'production', enabled: false },
    });
    expect(result).toMatchObject({ key: 'checkout', version: 2, duplicate: false, appended: 1 });
    expect(result.flag?.environments['production']?.enabled).toBe(false);
    const [, toggled] = await store.readStream('flag-checkout');
    expect(toggled).toMatchObject({
      type: 'FlagToggled',
      recordedAt: NOW,
      metadata: { actor: 'alice', reason: 'because', commandId: 'toggle-1', correlationId: 'corr-1', causationId: 'toggle-1' },
    });
  });

  it('replies a repeated command id with its first result, even when deciding again would now fail', async () => {
    const first = await service.handleFlag(envelope('archive-1'), { type: 'ArchiveFlag', data: { key: 'checkout' } });
    await service.handleFlag(envelope(), { type: 'UnarchiveFlag', data: { key: 'checkout' } });
    const again = await service.handleFlag(envelope('archive-1'), { type: 'ArchiveFlag', data: { key: 'checkout' } });
    expect(again).toEqual({ ...first, duplicate: true, appended: 0 });
    expect(await store.streamVersion('flag-checkout')).toBe(3);
  });

  it('appends nothing for a no-op and replies the current version', async () => {
    const result = await service.handleFlag(envelope(), { type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: true } });
    expect(result).toMatchObject({ version: 1, appended: 0, duplicate: false });
    expect(await store.streamVersion('flag-checkout')).toBe(1);
  });

  it('retries on a version conflict when the caller gave no expected version, deciding on the newer state', async () => {
    store.interlopers = MAX_ATTEMPTS - 1;
    const result = await service.handleFlag(envelope(), { type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: false } });
    expect(result.version).toBe(1 + MAX_ATTEMPTS);
    expect(result.flag).toMatchObject({ owner: 'other-0', environments: { production: { enabled: false } } });
  });

  it('gives up with FLAGS.VERSION_CONFLICT after the bounded retries', async () => {
    store.interlopers = MAX_ATTEMPTS;
    await expect(
      service.handleFlag(envelope(), { type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: false } }),
    ).rejects.toMatchObject({ code: 'FLAGS.VERSION_CONFLICT', cause: expect.any(VersionConflictError) });
  });

  it('does not retry when the caller pinned the expected version', async () => {
    store.interlopers = 1;
    await expect(
      service.handleFlag(envelope(), { type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: false, expectedVersion: 1 } }),
    ).rejects.toMatchObject({ code: 'FLAGS.VERSION_CONFLICT' });
    await expect(
      service.handleFlag(envelope(), { type: 'ToggleFlag', data: { key: 'checkout', environment: 'production', enabled: false, expectedVersion: 1 } }),
    ).rejects.toMatchObject({ code: 'FLAGS.VERSION_CONFLICT', details: { currentVersion: 2 } });
  });

  it('reverts to a version and to a point in time, loading the past state itself', async () => {
    await service.handleFlag(envelope(), { type: 'ChangeRollout', data: { key: 'checkout', environment: 'production', rollout: { type: 'none' } } });
    const byVersion = await service.handleFlag(envelope(), { type: 'RevertFlag', data: { key: 'checkout', toVersion: 1 } });
    expect(byVersion.flag).toEqual({ ...definition, archived: false, version: 3 });
    const [, , reverted] = (await store.readStream('flag-checkout')) as unknown as FlagEvent[];
    expect(reverted).toMatchObject({ type: 'FlagReverted', data: { toVersion: 1 } });
    await expect(
      service.handleFlag(envelope(), { type: 'RevertFlag', data: { key: 'checkout', toVersion: 9 } }),
    ).rejects.toMatchObject({ code: 'FLAGS.REVERT_TARGET_NOT_FOUND' });
    await expect(
      service.handleFlag(envelope(), { type: 'RevertFlag', data: { key: 'checkout', asOf: '2020-01-01T00:00:00Z' } }),
    ).rejects.toMatchObject({ code: 'FLAGS.REVERT_TARGET_NOT_FOUND' });
    // Every event here was recorded at NOW: the state as of NOW is the current one, so the revert is a no-op.
    const asOfNow = await service.handleFlag(envelope(), { type: 'RevertFlag', data: { key: 'checkout', asOf: NOW.toISOString() } });
    expect(asOfNow).toMatchObject({ version: 3, appended: 0 });
  });

  it('checks segment references against the segments in the log', async () => {
    const rules = [{ id: 'vip', segments: ['vip'] }];
    await expect(
      service.handleFlag(envelope(), { type: 'SetRules', data: { key: 'checkout', environment: 'production', rules } }),
    ).rejects.toMatchObject({ code: 'GENERIC.VALIDATION' });
    await service.handleSegment(envelope(), { type: 'DefineSegment', data: { segment: { key: 'vip', conditions: [] } } });
    const result = await service.handleFlag(envelope(), { type: 'SetRules', data: { key: 'checkout', environment: 'production', rules } });
    expect(result.appended).toBe(1);
  });

  it('refuses to remove a segment that flags still use', async () => {
    await service.handleSegment(envelope(), { type: 'DefineSegment', data: { segment: { key: 'vip', conditions: [] } } });
    const used = new FlagService(new CommandHandler({ store }), { flagsUsing: async () => ['checkout'] }, () => NOW);
    await expect(used.handleSegment(envelope(), { type: 'RemoveSegment', data: { key: 'vip' } })).rejects.toMatchObject({
      code: 'FLAGS.SEGMENT_IN_USE',
      details: { flags: ['checkout'] },
    });
    const removed = await service.handleSegment(envelope(), { type: 'RemoveSegment', data: { key: 'vip' } });
    expect(removed).toMatchObject({ version: 2, segment: null });
  });

  it('refuses a command id already used on another stream', async () => {
    await expect(
      service.handleFlag(envelope('create'), { type: 'CreateFlag', data: { flag: { ...structuredClone(definition), key: 'other' } } }),
    ).rejects.toMatchObject({ code: 'FLAGS.COMMAND_ID_CONFLICT' });
  });
});
