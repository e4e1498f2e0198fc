import { DataSource, type MigrationInterface } from 'typeorm';
import { EventStoreSchema1732400000000 } from './migrations/1732400000000-event-store-schema.js';
import { CommandRequestHash1732700000000 } from './migrations/1732700000000-command-request-hash.js';
import { MultiStreamAppend1733200000000 } from './migrations/1733200000000-multi-stream-append.js';

type MigrationClass = new () => MigrationInterface;

/** The event store's own migrations; a service passes them first, then its read-model migrations. */
export const eventStoreMigrations: readonly MigrationClass[] = [
  EventStoreSchema1732400000000,
  CommandRequestHash1732700000000,
  MultiStreamAppend1733200000000,
];

/**
 * Runs migrations as the owner role (never as the service role, which must not own the log). Returns the names of
 * the migrations applied by this call.
 */
export async function runMigrations(ownerUrl: string, migrations: readonly MigrationClass[]): Promise<string[]> {
  const dataSource = new DataSource({
    type: 'postgres',
    url: ownerUrl,
    migrations: [...migrations],
    migrationsTableName: 'rollgate_migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    logging: false,
  });
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations();
    return applied.map((migration) => migration.name);
  } finally {
    await dataSource.destroy();
  }
}

/** Just the event store schema, for databases that hold nothing else (tests, the publisher's own store). */
export const migrateEventStore = (ownerUrl: string): Promise<string[]> => runMigrations(ownerUrl, eventStoreMigrations);
