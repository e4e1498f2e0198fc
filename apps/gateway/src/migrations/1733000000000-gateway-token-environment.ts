import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A client token's environment scope in the read model (null: unscoped, as every token issued before scopes). */
export class GatewayTokenEnvironment1733000000000 implements MigrationInterface {
  name = 'GatewayTokenEnvironment1733000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE gateway.api_tokens ADD COLUMN environment text');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE gateway.api_tokens DROP COLUMN environment');
  }
}
