import { renderFields, renderTable, type Column } from '../table.js';
import { asJson, listOf, type Json } from './json-body.js';

const TOKEN_COLUMNS: Column<Json>[] = [
  { header: 'id', value: (t) => t['id'] },
  { header: 'name', value: (t) => t['name'] },
  { header: 'role', value: (t) => t['role'] },
  { header: 'status', value: (t) => t['status'] },
  { header: 'prefix', value: (t) => t['prefix'] },
  { header: 'expires', value: (t) => t['expires_at'] },
  { header: 'last used', value: (t) => t['last_used_at'] },
  { header: 'issued by', value: (t) => t['issued_by'] },
];

export function tokenListView(body: unknown): string {
  const page = asJson(body);
  const more = page['next_cursor'] == null ? '' : `\nmore: --cursor ${String(page['next_cursor'])}\n`;
  return renderTable(TOKEN_COLUMNS, listOf(page['tokens'])) + more;
}

export function tokenView(body: unknown): string {
  const t = asJson(body);
  const fields = renderFields([
    ['Token id', t['id']],
    ['Name', t['name']],
    ['Role', t['role']],
    ['Status', t['status']],
    ['Prefix', t['prefix']],
    ['Expires', t['expires_at']],
    ['Issued by', t['issued_by']],
    ['Revoked', t['revoked_at'] ? `${String(t['revoked_at'])} by ${String(t['revoked_by'])}` : undefined],
  ]);
  // The secret is in the issue answer only: say so next to it.
  return typeof t['token'] === 'string' ? `${fields}\nToken (shown once, store it now):\n${t['token']}\n` : fields;
}
