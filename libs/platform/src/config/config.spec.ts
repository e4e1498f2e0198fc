import 'reflect-metadata';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { IsBoolean, IsInt, Min } from 'class-validator';
import { ConfigError } from '../errors/config.error.js';
import { BaseEnv } from './base-env.config.js';
import { ConfigModule } from './config.module.js';
import { ToBoolean, ToNumber } from './env.transforms.js';
import { loadConfig } from './load-config.js';

class FlagsEnv extends BaseEnv {
  override ROLLGATE_SERVICE_NAME = 'flags';
  override ROLLGATE_HTTP_PORT = 8081;

  @ToNumber()
  @IsInt()
  @Min(1)
  FEATURE_FLAGS_CACHE_TTL = 300;

  @ToBoolean()
  @IsBoolean()
  ROLLGATE_SEED_DEFAULT_FLAGS = true;
}

describe(loadConfig.name, () => {
  it('applies the shared defaults and keeps only declared variables', () => {
    const config = loadConfig(BaseEnv, { ROLLGATE_SERVICE_NAME: 'gateway', PATH: '/usr/bin', HOME: '/root' });
    expect({ ...config }).toEqual({
      DATABASE_URL: 'postgres://rollgate_app@127.0.0.1:5432/rollgate',
      ROLLGATE_MIGRATION_DATABASE_URL: 'postgres://rollgate_owner@127.0.0.1:5432/rollgate',
      NATS_URL: 'nats://127.0.0.1:4222',
      ROLLGATE_HTTP_PORT: 3000,
      ROLLGATE_HTTP_HOST: '127.0.0.1',
      ROLLGATE_LOG_LEVEL: 'info',
      ROLLGATE_SERVICE_NAME: 'gateway',
    });
    expect(config).toBeInstanceOf(BaseEnv);
  });

  it('converts numbers and booleans, and lets a service override defaults', () => {
    const config = loadConfig(FlagsEnv, {
      ROLLGATE_HTTP_PORT: '9000',
      FEATURE_FLAGS_CACHE_TTL: '60',
      ROLLGATE_SEED_DEFAULT_FLAGS: 'FALSE',
      NATS_URL: 'nats://a:4222,nats://b:4222',
    });
    expect(config.ROLLGATE_HTTP_PORT).toBe(9000);
    expect(config.FEATURE_FLAGS_CACHE_TTL).toBe(60);
    expect(config.ROLLGATE_SEED_DEFAULT_FLAGS).toBe(false);
    expect(config.ROLLGATE_SERVICE_NAME).toBe('flags');
    expect(loadConfig(FlagsEnv, { ROLLGATE_HTTP_PORT: '' }).ROLLGATE_HTTP_PORT).toBe(8081);
  });

  it('fails once, listing every bad variable without their values', () => {
    let thrown: unknown;
    try {
      loadConfig(FlagsEnv, {
        DATABASE_URL: 'mysql://secret-password@db/x',
        NATS_URL: 'http://nats',
        ROLLGATE_HTTP_PORT: '70000',
        ROLLGATE_LOG_LEVEL: 'loud',
        FEATURE_FLAGS_CACHE_TTL: 'soon',
        ROLLGATE_SEED_DEFAULT_FLAGS: 'maybe',
      });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    const error = thrown as ConfigError;
    expect(error.code).toBe('GENERIC.CONFIG');
    expect(error.variables.map((v) => v.name).sort()).toEqual([
      'DATABASE_URL',
      'FEATURE_FLAGS_CACHE_TTL',
      'NATS_URL',
      'ROLLGATE_HTTP_PORT',
      'ROLLGATE_LOG_LEVEL',
      'ROLLGATE_SEED_DEFAULT_FLAGS',
    ]);
    expect(error.message).toContain('ROLLGATE_HTTP_PORT (ROLLGATE_HTTP_PORT must not be greater than 65535)');
    expect(JSON.stringify(error)).not.toContain('secret-password');
    expect(error.message).not.toContain('secret-password');
  });

  it('requires a service name when the env class gives none', () => {
    expect(() => loadConfig(BaseEnv, {})).toThrow(/ROLLGATE_SERVICE_NAME/);
  });
});

describe(ConfigModule.name, () => {
  @Injectable()
  class NeedsConfig {
    constructor(
      readonly flags: FlagsEnv,
      readonly base: BaseEnv,
    ) {}
  }

  it('provides the validated instance under its class and under BaseEnv', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(FlagsEnv, { env: { FEATURE_FLAGS_CACHE_TTL: '5' } })],
      providers: [NeedsConfig],
    }).compile();
    const consumer = moduleRef.get(NeedsConfig);
    expect(consumer.flags).toBeInstanceOf(FlagsEnv);
    expect(consumer.flags.FEATURE_FLAGS_CACHE_TTL).toBe(5);
    expect(consumer.base).toBe(consumer.flags);
  });

  it('fails the bootstrap on a bad environment', async () => {
    await expect(
      Test.createTestingModule({ imports: [ConfigModule.forRoot(FlagsEnv, { env: { NATS_URL: 'nope' } })] }).compile(),
    ).rejects.toThrow(ConfigError);
  });
});
