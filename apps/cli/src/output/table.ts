/** One column of a table: its heading and how a row shows in it. */
export interface Column<Row> {
  header: string;
  value: (row: Row) => unknown;
}

/** A cell as text: nothing for null/undefined, lists joined, objects as compact JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v !== 'object' || v === null)) return value.map(cellText).join(',');
  return JSON.stringify(value);
}

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, ' ');

/** Left-aligned columns two spaces apart, headings in capitals, like kubectl; no trailing blanks. */
export function renderTable<Row>(columns: Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((column) => oneLine(cellText(column.value(row)))));
  const headers = columns.map((column) => column.header.toUpperCase());
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[]): string => values.map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

/** An aligned `Label:  value` block (Argo's `get rollout` header); empty values are left out. */
export function renderFields(fields: ReadonlyArray<readonly [string, unknown]>): string {
  const shown = fields.map(([label, value]) => [label, oneLine(cellText(value))] as const).filter(([, text]) => text !== '');
  const width = Math.max(0, ...shown.map(([label]) => label.length + 1));
  return shown.map(([label, text]) => `${`${label}:`.padEnd(width)}  ${text}`).join('\n') + '\n';
}
