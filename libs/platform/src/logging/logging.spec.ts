import 'reflect-metadata';
import { request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Body, Controller, Get, Logger, Post } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { CORRELATION_ID_HTTP_HEADER, registerCorrelationIdHooks } from './correlation-id.hooks.js';
import { acceptCorrelationId, currentCorrelationId, runWithCorrelationId } from './correlation.js';
import { createLogger } from './logger.js';
import { PinoLoggerService } from './pino-logger.service.js';

const collectingStream = (): { stream: Writable; lines: () => Record<string, unknown>[] } => {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString());
      callback();
    },
  });
  const lines = (): Record<string, unknown>[] =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { stream, lines };
};

describe('correlation id', () => {
  it('is carried across awaits and isolated between concurrent runs', async () => {
    const seen = await Promise.all(
      ['a', 'b'].map((id) =>
        runWithCorrelationId(id, async () => {
          await new Promise((resolve) => setTimeout(resolve, 5));
          return currentCorrelationId();
        }),
      ),
    );
    expect(seen).toEqual(['a', 'b']);
    expect(currentCorrelationId()).toBeUndefined();
  });

  it('accepts a sane incoming id and replaces anything else with a uuid', () => {
    expect(acceptCorrelationId('req-42.abc:1')).toBe('req-42.abc:1');
    for (const bad of [undefined, '', 'has space', 'line\nbreak', 'x'.repeat(129), ['a', 'b']]) {
      expect(acceptCorrelationId(bad)).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe(createLogger.name, () => {
  it('writes JSON lines with level, service and the current correlation id', () => {
    const { stream, lines } = collectingStream();
    const logger = createLogger({ service: 'flags', level: 'debug', destination: stream });
    logger.info('outside');
    runWithCorrelationId('corr-1', () => logger.debug({ flag: 'f' }, 'inside'));
    logger.trace('below the level');
    const [outside, inside, ...rest] = lines();
    expect(rest).toEqual([]);
    expect(outside).toMatchObject({ level: 'info', service: 'flags', msg: 'outside' });
    expect(outside).not.toHaveProperty('correlationId');
    expect(inside).toMatchObject({ level: 'debug', service: 'flags', msg: 'inside', flag: 'f', correlationId: 'corr-1' });
    expect(typeof inside!['time']).toBe('string');
  });
});

describe(PinoLoggerService.name, () => {
  it('maps Nest levels and arguments (context, stack, objects, errors) to pino fields', () => {
    const { stream, lines } = collectingStream();
    const service = new PinoLoggerService(createLogger({ service: 's', level: 'trace', destination: stream }));
    service.log('started', 'Bootstrap');
    service.error('failed', 'Error: x\n    at f (file.js:1:1)', 'FlagService');
    service.warn({ event: 'slow', ms: 12 }, 'Judge');
    service.verbose('details');
    service.fatal(new Error('dead'));
    expect(lines()).toEqual([
      expect.objectContaining({ level: 'info', msg: 'started', context: 'Bootstrap' }),
      expect.objectContaining({ level: 'error', msg: 'failed', context: 'FlagService', stack: expect.stringContaining('at f') }),
      expect.objectContaining({ level: 'warn', event: 'slow', ms: 12, context: 'Judge' }),
      expect.objectContaining({ level: 'trace', msg: 'details' }),
      expect.objectContaining({ level: 'fatal', msg: 'dead', err: expect.objectContaining({ message: 'dead' }) }),
    ]);
  });
});

describe(registerCorrelationIdHooks.name, () => {
  @Controller('probe')
  class ProbeController {
    private readonly logger = new Logger(ProbeController.name);

    @Get()
    get(): { correlationId: string | undefined } {
      this.logger.log('handled');
      return { correlationId: currentCorrelationId() };
    }

    @Post()
    async post(@Body() body: unknown): Promise<{ correlationId: string | undefined; body: unknown }> {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return { correlationId: currentCorrelationId(), body };
    }
  }

  let app: NestFastifyApplication;
  const { stream, lines } = collectingStream();

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({ controllers: [ProbeController] }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    app.useLogger(new PinoLoggerService(createLogger({ service: 'probe', destination: stream })));
    registerCorrelationIdHooks(app.getHttpAdapter().getInstance());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterAll(() => app.close());

  it('takes the incoming id, exposes it to the handler and its logs, and echoes it', async () => {
    const response = await app.inject({ method: 'GET', url: '/probe', headers: { 'x-correlation-id': 'abc-123' } });
    expect(response.statusCode).toBe(200);
    expect(response.headers[CORRELATION_ID_HTTP_HEADER]).toBe('abc-123');
    expect(response.json()).toEqual({ correlationId: 'abc-123' });
    expect(lines()).toContainEqual(expect.objectContaining({ msg: 'handled', context: 'ProbeController', correlationId: 'abc-123' }));
  });

  it('generates an id when none comes, and keeps it through body parsing', async () => {
    const response = await app.inject({ method: 'POST', url: '/probe', payload: { a: 1 } });
    const id = response.headers[CORRELATION_ID_HTTP_HEADER];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.json()).toEqual({ correlationId: id, body: { a: 1 } });
  });

  it('keeps the id when the body arrives in chunks over a real socket', async () => {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const reply = await new Promise<string>((resolve, reject) => {
      const req = request(
        { port, host: '127.0.0.1', method: 'POST', path: '/probe', headers: { 'content-type': 'application/json', 'x-correlation-id': 'chunked-1' } },
        (res) => {
          let data = '';
          res.on('data', (chunk: Buffer) => (data += chunk.toString()));
          res.on('end', () => resolve(data));
        },
      );
      req.on('error', reject);
      req.write('{"a":');
      setTimeout(() => req.end('2}'), 20);
    });
    expect(JSON.parse(reply)).toEqual({ correlationId: 'chunked-1', body: { a: 2 } });
  });
});
