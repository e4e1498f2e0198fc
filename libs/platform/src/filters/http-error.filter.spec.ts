import 'reflect-metadata';
import { Writable } from 'node:stream';
import { Body, Controller, Get, Post } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Type } from 'class-transformer';
import { IsInt, IsString, Max, Min, ValidateNested } from 'class-validator';
import { NotFoundError, RollgateError } from '../errors/rollgate.error.js';
import { registerCorrelationIdHooks } from '../logging/correlation-id.hooks.js';
import { createLogger } from '../logging/logger.js';
import { PinoLoggerService } from '../logging/pino-logger.service.js';
import { HttpErrorFilter } from './http-error.filter.js';
import { createValidationPipe } from './validation.pipe.js';

class RolloutDto {
  @IsInt()
  @Min(0)
  @Max(100)
  percentage!: number;
}

class CreateFlagDto {
  @IsString()
  key!: string;

  @ValidateNested()
  @Type(() => RolloutDto)
  rollout!: RolloutDto;
}

@Controller('flags')
class FlagsController {
  @Get('missing')
  missing(): never {
    throw new NotFoundError('Flag missing not found', { code: 'FLAGS.NOT_FOUND', details: { key: 'missing' } });
  }

  @Get('remote')
  remote(): never {
    // what the gateway does with a bus error reply
    throw RollgateError.fromBody({ code: 'STORE.VERSION_CONFLICT', message: 'stale', details: { expected: 2 } });
  }

  @Get('boom')
  boom(): never {
    throw new Error('connection string postgres://u:hunter2@db');
  }

  @Post()
  create(@Body() dto: CreateFlagDto): { created: string; percentageType: string; isDto: boolean } {
    return { created: dto.key, percentageType: typeof dto.rollout.percentage, isDto: dto instanceof CreateFlagDto };
  }
}

describe(HttpErrorFilter.name, () => {
  let app: NestFastifyApplication;
  const logged: string[] = [];

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [FlagsController] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter({ bodyLimit: 1024 }));
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logged.push(chunk.toString());
        callback();
      },
    });
    app.useLogger(new PinoLoggerService(createLogger({ service: 'test', destination })));
    registerCorrelationIdHooks(app.getHttpAdapter().getInstance());
    app.useGlobalFilters(new HttpErrorFilter());
    app.useGlobalPipes(createValidationPipe());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterAll(() => app.close());

  it('sends a RollgateError with the status of its code', async () => {
    const response = await app.inject({ method: 'GET', url: '/flags/missing' });
    expect(response.statusCode).toBe(404);
    expect(response.headers['content-type']).toContain('application/json');
    expect(response.json()).toEqual({ code: 'FLAGS.NOT_FOUND', message: 'Flag missing not found', details: { key: 'missing' } });
  });

  it('maps an error rebuilt from a bus reply', async () => {
    const response = await app.inject({ method: 'GET', url: '/flags/remote' });
    expect(response.statusCode).toBe(409);
    expect(response.json()).toEqual({ code: 'STORE.VERSION_CONFLICT', message: 'stale', details: { expected: 2 } });
  });

  it('answers an unknown error 500 GENERIC.INTERNAL without its message, and logs it with the correlation id', async () => {
    const response = await app.inject({ method: 'GET', url: '/flags/boom', headers: { 'x-correlation-id': 'corr-boom' } });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toEqual({ code: 'GENERIC.INTERNAL', message: 'Internal error' });
    expect(response.body).not.toContain('hunter2');
    const line = logged.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'Unhandled error');
    expect(line).toMatchObject({ level: 'error', correlationId: 'corr-boom', url: '/flags/boom', context: 'HttpErrorFilter' });
    expect(line?.['err']).toMatchObject({ message: expect.stringContaining('hunter2') });
  });

  it('validates, transforms and whitelists bodies', async () => {
    const response = await app.inject({ method: 'POST', url: '/flags', payload: { key: 'k', rollout: { percentage: 10 } } });
    expect(response.statusCode).toBe(201);
    expect(response.json()).toEqual({ created: 'k', percentageType: 'number', isDto: true });
  });

  it('answers invalid and unknown fields with GENERIC.VALIDATION and per-field details', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/flags',
      payload: { key: 7, rollout: { percentage: 101 }, admin: true },
    });
    expect(response.statusCode).toBe(400);
    const body = response.json<{ code: string; message: string; details: { problems: Array<{ path: string; message: string }> } }>();
    expect(body.code).toBe('GENERIC.VALIDATION');
    expect(body.message).toMatch(/^Validation failed: /);
    expect(body.details.problems).toHaveLength(3);
    expect(body.details.problems).toEqual(
      expect.arrayContaining([
        { path: 'key', message: 'key must be a string' },
        { path: 'rollout.percentage', message: 'percentage must not be greater than 100' },
        { path: 'admin', message: 'property admin should not exist' },
      ]),
    );
  });

  it('answers an unknown route with GENERIC.NOT_FOUND', async () => {
    const response = await app.inject({ method: 'GET', url: '/nowhere' });
    expect(response.statusCode).toBe(404);
    expect(response.json()).toMatchObject({ code: 'GENERIC.NOT_FOUND' });
  });

  it('answers malformed JSON with GENERIC.VALIDATION', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/flags',
      headers: { 'content-type': 'application/json' },
      payload: '{"key":',
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'GENERIC.VALIDATION' });
  });

  it('answers a body over the limit with 413 GENERIC.PAYLOAD_TOO_LARGE', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/flags',
      payload: { key: 'x'.repeat(2048), rollout: { percentage: 1 } },
    });
    expect(response.statusCode).toBe(413);
    expect(response.json()).toMatchObject({ code: 'GENERIC.PAYLOAD_TOO_LARGE' });
  });
});
