import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit trail in the log's gap-free order: each row keeps its event's transaction id, and the trail is read
 * and paged by (transaction_id, global_position) like es.read_all_after. A global position alone is not a safe
 * cursor: a transaction that commits late lands rows below positions a reader has already passed.
 */
export class FlagsAuditOrder1732800000000 implements MigrationInterface {
  name = 'FlagsAuditOrder1732800000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
ALTER TABLE flags.audit ADD COLUMN transaction_id xid8;
UPDATE flags.audit a SET transaction_id = e.transaction_id FROM es.events e WHERE e.global_position = a.global_position;
ALTER TABLE flags.audit ALTER COLUMN transaction_id SET NOT NULL;
CREATE UNIQUE INDEX audit_all_order_idx ON flags.audit (transaction_id, global_position);
DROP INDEX flags.audit_actor_idx;
CREATE INDEX audit_actor_idx ON flags.audit (actor, transaction_id, global_position);
`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
DROP INDEX flags.audit_actor_idx;
CREATE INDEX audit_actor_idx ON flags.audit (actor, global_position);
DROP INDEX flags.audit_all_order_idx;
ALTER TABLE flags.audit DROP COLUMN transaction_id;
`);
  }
}
