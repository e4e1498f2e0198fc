import 'reflect-metadata';
import { Injectable, Module } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { UnavailableError } from '../errors/rollgate.error.js';
import { runHealthChecks } from './health-checks.js';
import { HealthModule } from './health.module.js';

describe(runHealthChecks.name, () => {
  it('is ok when every check passes, sync or async', async () => {
    const readiness = await runHealthChecks({ sync: () => undefined, async: async () => 'pong' });
    expect(readiness.status).toBe('ok');
    expect(readiness.checks).toEqual({
      sync: { status: 'ok', durationMs: expect.any(Number) },
      async: { status: 'ok', durationMs: expect.any(Number) },
    });
  });

  it('names the failed checks, bounds a hung one by the timeout and hides driver messages', async () => {
    const driverError = new Error('password authentication failed for user rollgate_app');
    const readiness = await runHealthChecks(
      {
        fine: async () => undefined,
        postgres: async () => Promise.reject(driverError),
        nats: () => {
          throw new UnavailableError('NATS connection closed');
        },
        hung: () => new Promise(() => undefined),
      },
      50,
    );
    expect(readiness.status).toBe('error');
    expect(readiness.checks).toEqual({
      fine: { status: 'ok', durationMs: expect.any(Number) },
      postgres: { status: 'error', durationMs: expect.any(Number), error: 'check failed' },
      nats: { status: 'error', durationMs: expect.any(Number), error: 'NATS connection closed' },
      hung: { status: 'error', durationMs: expect.any(Number), error: 'timed out after 50 ms' },
    });
    expect(readiness.failures['postgres']).toBe(driverError);
    expect(Object.keys(readiness.failures).sort()).toEqual(['hung', 'nats', 'postgres']);
  });
});

describe(HealthModule.name, () => {
  @Injectable()
  class FakeDatabase {
    up = true;
    ping(): Promise<void> {
      return this.up ? Promise.resolve() : Promise.reject(new UnavailableError('database down'));
    }
  }
  @Module({ providers: [FakeDatabase], exports: [FakeDatabase] })
  class DatabaseModule {}

  let app: NestFastifyApplication;

  beforeAll(async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        HealthModule.forRootAsync({
          imports: [DatabaseModule],
          inject: [FakeDatabase],
          useFactory: (db: FakeDatabase) => ({ postgres: () => db.ping() }),
          timeoutMs: 100,
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });
  afterAll(() => app.close());

  it('answers live with 200', async () => {
    const response = await app.inject({ method: 'GET', url: '/health/live' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
  });

  it('answers ready 200 while the checks pass and 503 naming the failed one when not', async () => {
    const ok = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(ok.statusCode).toBe(200);
    expect(ok.json()).toEqual({ status: 'ok', checks: { postgres: { status: 'ok', durationMs: expect.any(Number) } } });

    app.get(FakeDatabase).up = false;
    const down = await app.inject({ method: 'GET', url: '/health/ready' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({
      status: 'error',
      checks: { postgres: { status: 'error', durationMs: expect.any(Number), error: 'database down' } },
    });
    // liveness does not depend on the checks
    expect((await app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
  });

  it('takes static checks with forRoot', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [HealthModule.forRoot({ nats: () => Promise.reject(new UnavailableError('no nats')) })],
    }).compile();
    const other = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await other.init();
    await other.getHttpAdapter().getInstance().ready();
    try {
      const response = await other.inject({ method: 'GET', url: '/health/ready' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ status: 'error', checks: { nats: { status: 'error', error: 'no nats' } } });
    } finally {
      await other.close();
    }
  });
});
