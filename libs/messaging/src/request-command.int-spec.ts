import 'reflect-metadata';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, NatsContext, Payload, RpcException } from '@nestjs/microservices';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { nuid } from '@nats-io/nats-core';
import { CORRELATION_HEADER, ErrorCodes, errorReply, okReply, type CommandEnvelope, type Reply } from '#rollgate/contracts';
import { RequestFailedError } from './messaging.errors.js';
import { natsMicroserviceOptions } from './nest-nats-transport.js';
import { requestCommand, requestQuery } from './request-command.js';
import { sharedNats } from '#rollgate/testing';

const nats = sharedNats();
const prefix = `rgt${nuid.next().toLowerCase()}.cmd.flags`;
const TOGGLE = `${prefix}.toggle`;
const REJECT = `${prefix}.reject`;
const THROW = `${prefix}.throw`;
const SLOW = `${prefix}.slow`;
const QUERY = `rgt${nuid.next().toLowerCase()}.qry.flags.get`;

@Controller()
class ProbeController {
  @MessagePattern(TOGGLE, { queue: 'flags-svc' })
  toggle(@Payload() envelope: CommandEnvelope<{ key: string }>, @Ctx() ctx: NatsContext): Reply {
    return okReply({ echo: envelope, correlationId: ctx.getHeaders()?.get(CORRELATION_HEADER) ?? null });
  }

  @MessagePattern(REJECT, { queue: 'flags-svc' })
  reject(): Reply {
    return errorReply({ code: 'FLAGS.NOT_FOUND', message: 'no such flag', details: { key: 'x' } });
  }

  @MessagePattern(THROW, { queue: 'flags-svc' })
  throws(): never {
    throw new RpcException({ code: 'FLAGS.VERSION_CONFLICT', message: 'stale' });
  }

  @MessagePattern(QUERY, { queue: 'flags-svc' })
  query(@Payload() query: { key: string }, @Ctx() ctx: NatsContext): Reply {
    if (query.key === 'missing') return errorReply({ code: 'FLAGS.NOT_FOUND', message: 'no such flag' });
    return okReply({ query, correlationId: ctx.getHeaders()?.get(CORRELATION_HEADER) ?? null });
  }

  @MessagePattern(SLOW, { queue: 'flags-svc' })
  async slow(): Promise<Reply> {
    await new Promise((r) => setTimeout(r, 400));
    return okReply('late');
  }
}

@Module({ controllers: [ProbeController] })
class ProbeModule {}

describe(requestCommand.name, () => {
  let app: INestMicroservice;
  let nc: NatsConnection;
  const envelope: CommandEnvelope<{ key: string }> = {
    commandId: '5b7f3c52-6f43-4c50-9a77-0b5d1c2f2a10',
    actor: 'alice',
    payload: { key: 'auto_submit_enabled' },
  };

  beforeAll(async () => {
    app = await NestFactory.createMicroservice(ProbeModule, {
      ...natsMicroserviceOptions({ servers: nats.url, name: 'probe', gracePeriodMs: 100, login: nats.options() }),
      logger: false,
    });
    await app.listen();
    nc = await connect(nats.options());
  });

  afterAll(async () => {
    await nc?.close();
    await app?.close();
  });

  it('gets the Reply of a Nest @MessagePattern handler, with the correlation id in the header', async () => {
    const reply = await requestCommand(nc, TOGGLE, envelope, { timeoutMs: 2000, correlationId: 'corr-1' });
    expect(reply).toEqual({
      ok: true,
      result: { echo: { ...envelope, correlationId: 'corr-1' }, correlationId: 'corr-1' },
    });
  });

  it('interoperates with a plain NATS request carrying the raw envelope (operators, CLI tools)', async () => {
    const msg = await nc.request(TOGGLE, JSON.stringify(envelope), { timeout: 2000 });
    expect(msg.json()).toEqual({ ok: true, result: { echo: envelope, correlationId: null } });
  });

  it('returns an error Reply from the handler as a value, not a throw', async () => {
    await expect(requestCommand(nc, REJECT, envelope, { timeoutMs: 2000 })).resolves.toEqual({
      ok: false,
      error: { code: 'FLAGS.NOT_FOUND', message: 'no such flag', details: { key: 'x' } },
    });
    await expect(requestCommand(nc, THROW, envelope, { timeoutMs: 2000 })).resolves.toEqual({
      ok: false,
      error: { code: 'FLAGS.VERSION_CONFLICT', message: 'stale' },
    });
  });

  it('maps no responders to GENERIC.UNAVAILABLE', async () => {
    const err = await requestCommand(nc, `${prefix}.nobody`, envelope, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestFailedError);
    expect((err as RequestFailedError).code).toBe(ErrorCodes.unavailable);
  });

  it('maps a slow handler to GENERIC.TIMEOUT', async () => {
    const err = await requestCommand(nc, SLOW, envelope, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestFailedError);
    expect((err as RequestFailedError).code).toBe(ErrorCodes.timeout);
  });
});

describe(requestQuery.name, () => {
  let app: INestMicroservice;
  let nc: NatsConnection;

  beforeAll(async () => {
    app = await NestFactory.createMicroservice(ProbeModule, {
      ...natsMicroserviceOptions({ servers: nats.url, name: 'probe-query', gracePeriodMs: 100, login: nats.options() }),
      logger: false,
    });
    await app.listen();
    nc = await connect(nats.options());
  });

  afterAll(async () => {
    await nc?.close();
    await app?.close();
  });

  it('sends the query object itself (no envelope) and returns the Reply, ok or not', async () => {
    await expect(requestQuery(nc, QUERY, { key: 'a' }, { timeoutMs: 2000, correlationId: 'corr-q' })).resolves.toEqual({
      ok: true,
      result: { query: { key: 'a' }, correlationId: 'corr-q' },
    });
    await expect(requestQuery(nc, QUERY, { key: 'missing' }, { timeoutMs: 2000 })).resolves.toEqual({
      ok: false,
      error: { code: 'FLAGS.NOT_FOUND', message: 'no such flag' },
    });
  });

  it('maps no responders to GENERIC.UNAVAILABLE', async () => {
    const err = await requestQuery(nc, `${QUERY}.nobody`, {}, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RequestFailedError);
    expect((err as RequestFailedError).code).toBe(ErrorCodes.unavailable);
  });
});
