import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import type { MigrationInterface } from 'typeorm';
import { eventStoreMigrations, runMigrations } from '#rollgate/event-store';

type MigrationClass = new () => MigrationInterface;

export const OWNER_ROLE = 'rollgate_owner';
export const APP_ROLE = 'rollgate_app';
const TEST_DATABASE = /^rollgate_test_[a-z0-9_]+$/;

export interface TestDatabase {
  name: string;
  /** The services' role: INSERT/SELECT on the log, owns nothing. */
  appUrl: string;
  /** The owner role, which ran the migrations. */
  ownerUrl: string;
  drop(): Promise<void>;
}

export const adminDatabaseUrl = (): string =>
  process.env['ROLLGATE_ADMIN_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The admin server's address, as `role` on `database` (trust or peer auth locally; no password). */
export const databaseUrlFor = (role: string, database: string): string => {
  const url = new URL(adminDatabaseUrl());
  url.username = role;
  url.password = '';
  url.pathname = `/${database}`;
  return url.toString();
};

/** A guard: destructive test setup only ever touches databases whose name marks them as test ones. */
export function assertTestDatabaseName(name: string): void {
  if (!TEST_DATABASE.test(name)) throw new Error(`refusing to touch ${name}: not a rollgate_test_* database`);
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminDatabaseUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function ensureRoles(client: pg.Client): Promise<void> {
  for (const role of [OWNER_ROLE, APP_ROLE]) {
    await client.query(`DO $$ BEGIN
      IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN
        CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEROLE NOCREATEDB;
      END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
  }
}

const migrationsFingerprint = (migrations: readonly MigrationClass[]): string =>
  createHash('sha256')
    .update(migrations.map((migration) => `${migration.name}:${migration.prototype.up.toString()}`).join('\n'))
    .digest('hex')
    .slice(0, 16);

/**
 * A fresh database for one test file, cloned from a template migrated once per set of migrations (as Unleash
 * does), so each file starts from a clean, fully migrated schema in milliseconds.
 */
export async function createTestDatabase(
  migrations: readonly MigrationClass[] = eventStoreMigrations,
): Promise<TestDatabase> {
  const template = `rollgate_test_tpl_${migrationsFingerprint(migrations)}`;
  const name = `rollgate_test_${randomBytes(6).toString('hex')}`;
  assertTestDatabaseName(template);
  assertTestDatabaseName(name);
  await withAdmin(async (client) => {
    // Serializes template creation across parallel Jest workers.
    await client.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', ['rollgate:test-template']);
    try {
      await ensureRoles(client);
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
      if (!rowCount) {
        const building = `${template}_building`;
        await client.query(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
        await client.query(`CREATE DATABASE ${building} OWNER ${OWNER_ROLE}`);
        await runMigrations(databaseUrlFor(OWNER_ROLE, building), migrations);
        await client.query(`ALTER DATABASE ${building} RENAME TO ${template}`);
      }
      await client.query(`CREATE DATABASE ${name} TEMPLATE ${template} OWNER ${OWNER_ROLE}`);
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', ['rollgate:test-template']);
    }
  });
  return {
    name,
    appUrl: databaseUrlFor(APP_ROLE, name),
    ownerUrl: databaseUrlFor(OWNER_ROLE, name),
    drop: () =>
      withAdmin(async (client) => {
        assertTestDatabaseName(name);
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      }),
  };
}
