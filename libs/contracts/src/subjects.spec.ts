import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { subjects, SUBJECT_TOKEN, eventStreamName } from './subjects.js';

@Injectable()
class Probe {
  hello(): string {
    return 'hi';
  }
}
@Module({ providers: [Probe] })
class ProbeModule {}

describe('subjects', () => {
  it('builds an event subject whose tokens match the stream filter', () => {
    expect(subjects.event('flags', 'flag', 'auto_submit_enabled', 'RolloutChanged')).toBe(
      'rg.evt.flags.flag.auto_submit_enabled.RolloutChanged',
    );
    expect(eventStreamName('flags')).toBe('RG_EVT_FLAGS');
  });
  it('rejects flag keys that are not one subject token', () => {
    expect(SUBJECT_TOKEN.test('a.b')).toBe(false);
    expect(SUBJECT_TOKEN.test('auto_submit_enabled')).toBe(true);
  });
  it('loads NestJS 12 under ESM Jest', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [ProbeModule] }).compile();
    expect(moduleRef.get(Probe).hello()).toBe('hi');
  });
});
