import 'reflect-metadata';
import { jest } from '@jest/globals';
import { Controller, Get, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { OpenFeature, ProviderEvents, type EventDetails } from '@openfeature/server-sdk';
import { RollgateClient } from './rollgate.client.js';
import { RollgateProvider } from './openfeature/rollgate.provider.js';
import { RollgateModule, RollgateClients } from './nest/rollgate.module.js';
import { RequireFlag } from './nest/require-flag.guard.js';
import { sharedNats } from '#rollgate/testing';
import { FakeFlagsService, booleanFlag, toggle, waitFor } from './testing/fake-flags-service.js';

jest.setTimeout(60_000);
const ENV = 'production';
const SHARED_NATS = sharedNats();
const quiet = { warn: () => undefined };

describe('SDK adapters against a real NATS JetStream', () => {
  let nc: NatsConnection;
  let service: FakeFlagsService;
  const base = () => ({
    ...SHARED_NATS.client('admin'), subjectRoot: service.topology.root, streamName: service.topology.stream,
    statusIntervalMs: 0, outcomes: { enabled: false }, logger: quiet,
  });

  beforeEach(async () => {
    nc = await connect(SHARED_NATS.options());
    service = await FakeFlagsService.start(nc);
  });
  afterEach(async () => {
    await service.stop();
    await nc.close();
  });

  it(`${RollgateProvider.name}: a live change reaches OpenFeature as PROVIDER_CONFIGURATION_CHANGED and the next resolution`, async () => {
    await service.append('flag-dark-mode', booleanFlag('dark-mode', ENV, false));
    const provider = new RollgateProvider({ environment: ENV, ...base() });
    const domain = `adapters-${service.topology.root}`;
    await OpenFeature.setProviderAndWait(domain, provider);
    const client = OpenFeature.getClient(domain);
    const changes: Array<EventDetails | undefined> = [];
    client.addHandler(ProviderEvents.ConfigurationChanged, (details) => void changes.push(details));
    // Disabled: OpenFeature's rule is the caller's default, whatever the flag's off value.
    expect(await client.getBooleanDetails('dark-mode', true, { targetingKey: 'u' })).toMatchObject({ value: true, reason: 'DISABLED' });

    await service.append('flag-dark-mode', toggle(ENV, true), { actor: 'ops' });
    await waitFor('configuration changed', () => changes.length === 1);
    expect(changes[0]).toMatchObject({ flagsChanged: ['dark-mode'], metadata: { version: 2, cause: 'FlagToggled' } });
    expect(await client.getBooleanDetails('dark-mode', false, { targetingKey: 'u' })).toMatchObject({ value: true, reason: 'STATIC', flagMetadata: {} });
    expect(provider.client.isConnected).toBe(true);
    await OpenFeature.clearProviders(); // closes the provider, which closes the client it created
    expect(provider.client.isConnected).toBe(false);
  });

  it('RollgateModule + @RequireFlag: gates routes by flag and unit, follows changes, closes the client on shutdown', async () => {
    await service.append('flag-new-checkout', booleanFlag('new-checkout', ENV, true));
    await service.append('flag-beta-api', {
      type: 'FlagCreated',
      data: { flag: { key: 'beta-api', name: 'beta', type: 'user_list', environments: { [ENV]: { enabled: true, defaultRollout: { type: 'user_list', users: ['alice'] } } } } },
    });
    await service.append('flag-staging-only', booleanFlag('staging-only', 'staging', true));

    @Controller()
    class ShopController {
      @Get('checkout')
      @RequireFlag('new-checkout')
      checkout() {
        return { ok: 'checkout' };
      }

      @Get('beta')
      @RequireFlag('beta-api', { deniedStatus: 403 })
      beta() {
        return { ok: 'beta' };
      }

      @Get('staging')
      @RequireFlag('staging-only', { environment: 'staging' })
      staging() {
        return { ok: 'staging' };
      }

      @Get('open')
      open() {
        return { ok: 'open' };
      }
    }

    @Module({
      imports: [
        RollgateModule.forRootAsync({
          useFactory: () => ({
            environment: ENV, extraEnvironments: ['staging'], ...base(),
            contextFromRequest: (req: unknown) => ({ userId: (req as { headers: Record<string, string> }).headers['x-user'] }),
          }),
        }),
      ],
      controllers: [ShopController],
    })
    class AppModule {}

    const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
    const app = moduleRef.createNestApplication<NestFastifyApplication>(new FastifyAdapter());
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    const get = (url: string, user = 'bob') => app.inject({ method: 'GET', url, headers: { 'x-user': user } });
    const client = app.get(RollgateClient);
    expect(client.environment).toBe(ENV);

    expect((await get('/checkout')).statusCode).toBe(200);
    expect((await get('/beta', 'alice')).statusCode).toBe(200);
    expect((await get('/beta', 'bob')).statusCode).toBe(403);
    expect((await get('/staging')).statusCode).toBe(200);
    expect((await get('/open')).statusCode).toBe(200);

    await service.append('flag-new-checkout', toggle(ENV, false));
    await waitFor('checkout off', () => !client.isEnabled('new-checkout', {}));
    expect((await get('/checkout')).statusCode).toBe(404);

    const clients = app.get(RollgateClients);
    const staging = clients.get('staging')!;
    expect(client.isConnected && staging.isConnected).toBe(true);
    await app.close();
    expect(client.isConnected || staging.isConnected).toBe(false);
  });
});
