import { renderFields, renderTable, type Column } from '../table.js';
import { asJson, listOf, num, str, type Json } from './json-body.js';

const MARK: Record<string, string> = { succeeded: '✔', failed: '✖', running: '◌', pending: '·', compensated: '↺', cancelled: '⊘', preempted: '⊘', scheduled: '◷' };
const marked = (status: unknown): string => `${MARK[String(status)] ?? '?'} ${String(status ?? '')}`;

/** `2/3`: steps that finished (either way) of all. */
export function stepProgress(execution: Json): string {
  const steps = listOf(execution['steps']);
  const done = steps.filter((step) => step['status'] !== 'pending' && step['status'] !== 'running').length;
  return `${done}/${steps.length}`;
}

const errorText = (error: unknown): string | undefined => {
  const e = asJson(error);
  return e['code'] === undefined ? undefined : `${String(e['code'])}: ${String(e['message'] ?? '')}`;
};

const STEP_COLUMNS: Column<Json>[] = [
  { header: '#', value: (s) => (num(s['index']) ?? 0) + 1 },
  { header: 'step', value: (s) => `${String(s['type'])}${s['inserted'] === true ? ' (inserted)' : ''}` },
  { header: 'status', value: (s) => marked(s['status']) },
  { header: 'attempts', value: (s) => s['attempts'] },
  { header: 'duration', value: (s) => (num(s['duration_ms']) === undefined ? '' : `${String(s['duration_ms'])}ms`) },
  { header: 'error', value: (s) => errorText(s['error']) },
];

const causeText = (cause: unknown): string => {
  const c = asJson(cause);
  const by = [str(c['actor']), str(c['executed_by']) && `for ${String(c['executed_by'])}`].filter(Boolean).join(' ');
  return `${String(c['kind'] ?? '')} by ${by}${c['reason'] ? `: ${String(c['reason'])}` : ''}`;
};

const consistencyText = (consistency: unknown): string | undefined => {
  const c = asJson(consistency);
  if (c['verified'] === undefined) return undefined;
  if (c['verified'] === true) return `verified (${String(c['flags'] ?? 0)} flags, ${String(c['clients'] ?? 0)} SDK clients)`;
  return `VIOLATED: ${JSON.stringify(c['differences'] ?? [])}`;
};

/** Why an execution did not complete, in one line (the "aborted by X at T: reason" operators ask for). */
export function endReason(execution: Json): string | undefined {
  const status = execution['status'];
  if (status === 'cancelled') {
    const c = asJson(execution['cancel_requested']);
    return `cancelled by ${String(c['actor'] ?? '?')} at ${String(c['at'] ?? '?')}${c['reason'] ? `: ${String(c['reason'])}` : ''}`;
  }
  if (status === 'preempted') return `preempted by execution ${String(execution['preempted_by'] ?? '?')}`;
  if (status === 'failed') return errorText(execution['error']) ?? errorText(listOf(execution['steps']).find((s) => s['status'] === 'failed')?.['error']);
  return undefined;
}

export function executionView(body: unknown): string {
  const e = asJson(body);
  const header = renderFields([
    ['Execution', e['execution_id'] ?? e['id']],
    ['Target', `${String(e['scope'] ?? '')} ${String(e['target_id'] ?? '')}`],
    ['Type', e['type']],
    ['Plan', e['plan_id']],
    ['Status', `${marked(e['status'])}   step ${stepProgress(e)}`],
    ['Why', endReason(e)],
    ['Cause', causeText(e['cause'])],
    ['Requested', e['requested_at']],
    ['Scheduled', e['scheduled_for']],
    ['Finished', e['finished_at']],
    ['Recovery', num(e['recovery_ms']) === undefined ? undefined : `${String(e['recovery_ms'])}ms`],
    ['Consistency', consistencyText(e['consistency'])],
  ]);
  return `${header}\n${renderTable(STEP_COLUMNS, listOf(e['steps']))}`;
}

const EXECUTION_COLUMNS: Column<Json>[] = [
  { header: 'id', value: (e) => e['id'] ?? e['execution_id'] },
  { header: 'type', value: (e) => e['type'] },
  { header: 'scope', value: (e) => e['scope'] },
  { header: 'target', value: (e) => e['target_id'] },
  { header: 'status', value: (e) => e['status'] },
  { header: 'steps', value: (e) => { const s = asJson(e['steps']); return `${String(s['succeeded'] ?? 0)}/${String(s['total'] ?? 0)}`; } },
  { header: 'requested', value: (e) => e['requested_at'] },
  { header: 'by', value: (e) => asJson(e['cause'])['actor'] },
];

export const executionListView = (body: unknown): string => renderTable(EXECUTION_COLUMNS, listOf(asJson(body)['rollbacks']));

const PLAN_COLUMNS: Column<Json>[] = [
  { header: 'id', value: (p) => p['id'] },
  { header: 'type', value: (p) => p['rollback_type'] },
  { header: 'scope', value: (p) => p['scope'] },
  { header: 'target', value: (p) => p['target_id'] },
  { header: 'steps', value: (p) => listOf(p['rollback_steps']).map((s) => s['type']) },
  { header: 'archived', value: (p) => p['archived'] },
  { header: 'version', value: (p) => p['version'] },
];

/** `GET /rollbacks/plans` answers `{plans}` (or a bare list over the bus). */
export const planListView = (body: unknown): string => renderTable(PLAN_COLUMNS, Array.isArray(body) ? listOf(body) : listOf(asJson(body)['plans']));

export function planView(body: unknown): string {
  const p = asJson(body);
  const header = renderFields([
    ['Plan', p['id']],
    ['Name', p['name']],
    ['Description', p['description']],
    ['Type', p['rollback_type']],
    ['Target', `${String(p['scope'] ?? '')} ${String(p['target_id'] ?? '')}`],
    ['On failure', p['on_failure']],
    ['Archived', p['archived']],
    ['Version', p['version']],
  ]);
  const steps = listOf(p['rollback_steps']).map((s, index) => ({ index, ...s }));
  return `${header}\n${renderTable<Json>(
    [
      { header: '#', value: (s) => (num(s['index']) ?? 0) + 1 },
      { header: 'step', value: (s) => s['type'] },
      { header: 'config', value: (s) => s['config'] },
      { header: 'continue on failure', value: (s) => s['continue_on_failure'] },
    ],
    steps,
  )}`;
}
