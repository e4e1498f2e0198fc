import 'reflect-metadata';
import { Writable } from 'node:stream';
import { ConsoleLogger, Logger } from '@nestjs/common';
import { ExecutionContextHost } from '@nestjs/core/internal';
import { NatsContext } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { IsString } from 'class-validator';
import { ConflictError } from '../errors/rollgate.error.js';
import { runWithCorrelationId } from '../logging/correlation.js';
import { createLogger } from '../logging/logger.js';
import { PinoLoggerService } from '../logging/pino-logger.service.js';
import { RpcErrorFilter } from './rpc-error.filter.js';
import { createValidationPipe } from './validation.pipe.js';

// What Nest passes a pipe for `@Payload()` (RpcParamtype.PAYLOAD, not exported by the package root)
const PAYLOAD_PARAM_TYPE = 3 as unknown as 'body';

const rpcHost = (subject: string): ExecutionContextHost => {
  const host = new ExecutionContextHost([{ any: 'payload' }, new NatsContext([subject, undefined])]);
  host.setType('rpc');
  return host;
};

class DisableFlagDto {
  @IsString()
  key!: string;
}

describe(RpcErrorFilter.name, () => {
  const logged: Record<string, unknown>[] = [];

  beforeAll(() => {
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logged.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        callback();
      },
    });
    Logger.overrideLogger(new PinoLoggerService(createLogger({ service: 'test', destination })));
  });
  afterAll(() => Logger.overrideLogger(new ConsoleLogger()));

  it('turns a RollgateError into an error reply carrying its code and details', async () => {
    const filter = new RpcErrorFilter();
    const error = new ConflictError('stale', { code: 'FLAGS.VERSION_CONFLICT', details: { expected: 4 } });
    await expect(firstValueFrom(filter.catch(error, rpcHost('rg.cmd.flags.disable')))).resolves.toEqual({
      ok: false,
      error: { code: 'FLAGS.VERSION_CONFLICT', message: 'stale', details: { expected: 4 } },
    });
    expect(logged).toEqual([]);
  });

  it('turns the validation pipe failure into a GENERIC.VALIDATION reply', async () => {
    const pipe = createValidationPipe();
    const thrown = await pipe
      .transform({ key: 1, extra: true }, { type: PAYLOAD_PARAM_TYPE, metatype: DisableFlagDto })
      .catch((error: unknown) => error);
    const reply = await firstValueFrom(new RpcErrorFilter().catch(thrown, rpcHost('rg.cmd.flags.disable')));
    expect(reply).toMatchObject({
      ok: false,
      error: {
        code: 'GENERIC.VALIDATION',
        details: {
          problems: expect.arrayContaining([
            { path: 'key', message: 'key must be a string' },
            { path: 'extra', message: 'property extra should not exist' },
          ]),
        },
      },
    });
  });

  it('hides an unknown error behind GENERIC.INTERNAL and logs it with the correlation id and subject', async () => {
    const filter = new RpcErrorFilter();
    const reply = await runWithCorrelationId('corr-rpc', () =>
      firstValueFrom(filter.catch(new TypeError('cannot read x of undefined'), rpcHost('rg.cmd.flags.create'))),
    );
    expect(reply).toEqual({ ok: false, error: { code: 'GENERIC.INTERNAL', message: 'Internal error' } });
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'error',
        msg: 'Unhandled error',
        correlationId: 'corr-rpc',
        subject: 'rg.cmd.flags.create',
        err: expect.objectContaining({ message: 'cannot read x of undefined' }),
      }),
    );
  });
});
