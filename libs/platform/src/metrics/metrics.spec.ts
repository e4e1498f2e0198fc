import 'reflect-metadata';
import { Controller, Get, Inject, type OnModuleInit } from '@nestjs/common';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test } from '@nestjs/testing';
import { Registry, register as globalRegistry, type Counter } from 'prom-client';
import { RollgateError } from '../errors/rollgate.error.js';
import { MetricsModule } from './metrics.module.js';
import { createCounter, createGauge, createHistogram, createRegistry } from './metrics.js';

describe(createRegistry.name, () => {
  it('builds separate registries labelled by service, leaving the global one alone', async () => {
    const a = createRegistry({ service: 'flags', defaultMetrics: false });
    const b = createRegistry({ service: 'canary', defaultMetrics: false });
    createCounter(a, { name: 'rollgate_flags_commands_total', help: 'h', labelNames: ['outcome'] }).inc({ outcome: 'ok' });
    // the same name on another registry does not collide
    createCounter(b, { name: 'rollgate_flags_commands_total', help: 'h' }).inc(2);
    expect(await a.metrics()).toContain('rollgate_flags_commands_total{outcome="ok",service="flags"} 1');
    expect(await b.metrics()).toContain('rollgate_flags_commands_total{service="canary"} 2');
    expect(globalRegistry.getSingleMetric('rollgate_flags_commands_total')).toBeUndefined();
  });

  it('registers the default process metrics unless told not to', async () => {
    expect(await createRegistry({ service: 's' }).metrics()).toContain('process_cpu_user_seconds_total{service="s"}');
    expect(await createRegistry({ service: 's', defaultMetrics: false }).metrics()).toBe('\n');
  });

  it('creates gauges and histograms on the registry', async () => {
    const registry = createRegistry({ service: 's', defaultMetrics: false });
    createGauge(registry, { name: 'rollgate_sdk_clients_connected_count', help: 'h' }).set(3);
    createHistogram(registry, { name: 'rollgate_store_append_duration_seconds', help: 'h', buckets: [0.01, 0.1] }).observe(0.05);
    const text = await registry.metrics();
    expect(text).toContain('rollgate_sdk_clients_connected_count{service="s"} 3');
    expect(text).toContain('rollgate_store_append_duration_seconds_bucket{le="0.1",service="s"} 1');
  });

  it.each([
    ['counter', 'flags_commands_total'],
    ['counter', 'rollgate_flags_commands'],
    ['counter', 'rollgate_total'],
    ['gauge', 'rollgate_sdk_clients_total'],
    ['histogram', 'rollgate_Store_append_seconds'],
  ])('refuses a %s named %s', (kind, name) => {
    const registry = createRegistry({ service: 's', defaultMetrics: false });
    const create = { counter: createCounter, gauge: createGauge, histogram: createHistogram }[kind]!;
    expect(() => create(registry, { name, help: 'h' })).toThrow(RollgateError);
  });
});

describe(MetricsModule.name, () => {
  @Controller('work')
  class WorkController implements OnModuleInit {
    private done!: Counter;
    constructor(@Inject(Registry) private readonly registry: Registry) {}
    onModuleInit(): void {
      this.done = createCounter(this.registry, { name: 'rollgate_test_work_done_total', help: 'Work done' });
    }
    @Get()
    work(): string {
      this.done.inc();
      return 'ok';
    }
  }

  it('serves the injected registry at GET /metrics in Prometheus text format', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MetricsModule.forRoot({ service: 'probe' })],
      controllers: [WorkController],
    }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    try {
      await app.inject({ method: 'GET', url: '/work' });
      const response = await app.inject({ method: 'GET', url: '/metrics' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(response.body).toContain('# TYPE rollgate_test_work_done_total counter');
      expect(response.body).toContain('rollgate_test_work_done_total{service="probe"} 1');
      expect(response.body).toContain('nodejs_eventloop_lag_seconds{service="probe"}');
    } finally {
      await app.close();
    }
  });
});
