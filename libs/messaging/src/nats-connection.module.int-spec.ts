import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Module } from '@nestjs/common';
import type { NatsConnection } from '@nats-io/transport-node';
import { NATS_CONNECTION, NatsLifecycle, NatsModule, natsReady } from './nats-connection.module.js';
import { sharedNats } from '#rollgate/testing';

const nats = sharedNats();

describe(NatsModule.name, () => {
  it('is ready while connected, stops registered consumers before draining on shutdown', async () => {
    @Module({ imports: [NatsModule.forRoot({ servers: nats.url, name: 'nats-module-test', connection: nats.options() })] })
    class AppModule {}
    const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
    const nc = app.get<NatsConnection>(NATS_CONNECTION);
    const lifecycle = app.get(NatsLifecycle);
    expect(await lifecycle.ready(1000)).toBe(true);

    const order: string[] = [];
    lifecycle.register({
      stop: async () => {
        // The connection must still be usable here, so a consumer can ack its in-flight message.
        order.push(nc.isClosed() || nc.isDraining() ? 'stop-after-drain' : 'stop-while-open');
      },
    });
    const closed = nc.closed().then(() => order.push('closed'));
    await app.close();
    await closed;

    expect(order).toEqual(['stop-while-open', 'closed']);
    expect(await natsReady(nc, 200)).toBe(false);
  });
});
