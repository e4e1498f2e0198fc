import { renderTable, type Column } from '../table.js';
import { asJson, listOf, type Json } from './json-body.js';

const AUDIT_COLUMNS: Column<Json>[] = [
  { header: 'recorded', value: (e) => e['recorded_at'] },
  { header: 'key', value: (e) => e['key'] ?? e['id'] },
  { header: 'version', value: (e) => e['version'] },
  { header: 'event', value: (e) => e['event_type'] },
  { header: 'actor', value: (e) => e['actor'] },
  { header: 'reason', value: (e) => e['reason'] },
];

export function auditView(body: unknown): string {
  const page = asJson(body);
  const more = page['next_cursor'] == null ? '' : `\nmore: --cursor ${String(page['next_cursor'])}\n`;
  return renderTable(AUDIT_COLUMNS, listOf(page['entries'])) + more;
}
