import { renderFields, renderTable, type Column } from '../table.js';
import { asJson, listOf, num, percentOf, type Json } from './json-body.js';

interface Cohort {
  name: string;
  counts: Json;
}

const rate = (part: unknown, whole: unknown): string | undefined => {
  const w = num(whole);
  return w === undefined || w === 0 ? undefined : percentOf((num(part) ?? 0) / w);
};

const COHORT_COLUMNS: Column<Cohort>[] = [
  { header: 'cohort', value: (c) => c.name },
  { header: 'requests', value: (c) => c.counts['requests'] ?? 0 },
  { header: 'errors', value: (c) => c.counts['errors'] ?? 0 },
  { header: 'error rate', value: (c) => rate(c.counts['errors'], c.counts['requests']) },
  { header: 'error users', value: (c) => c.counts['error_units'] ?? 0 },
  { header: 'slow', value: (c) => c.counts['slow'] ?? 0 },
];

/** The judge's standing: each test's log e-value against the level it must cross (the statistic). */
const TEST_COLUMNS: Column<Json>[] = [
  { header: 'test', value: (t) => t['test'] },
  { header: 'metric', value: (t) => t['metric'] },
  { header: 'log e', value: (t) => (num(t['log_e']) === undefined ? '' : (t['log_e'] as number).toFixed(3)) },
  { header: 'threshold', value: (t) => (num(t['threshold']) === undefined ? '' : (t['threshold'] as number).toFixed(3)) },
  { header: 'crossed', value: (t) => (t['crossed'] === true ? 'yes' : 'no') },
];

const stageText = (canary: Json): string => {
  const stages = listOf(canary['stages']);
  const index = num(canary['stage']) ?? 0;
  const percentage = stages[index]?.['percentage'];
  return `${index + 1}/${stages.length}${percentage === undefined ? '' : ` at ${String(percentage)}%`}`;
};

const decisionText = (canary: Json): string | undefined => {
  const regression = asJson(canary['regression']);
  if (regression['metric'] !== undefined) return `regression on ${String(regression['metric'])} at ${String(regression['at'])} (${String(regression['action'])})`;
  const promotion = asJson(canary['promotion']);
  if (promotion['by'] !== undefined) return `promoted by ${String(promotion['by'])} at ${String(promotion['at'])}${promotion['override'] === true ? ' (override)' : ''}`;
  const rollback = asJson(canary['rollback']);
  if (rollback['by'] !== undefined) return `rolled back by ${String(rollback['by'])}${rollback['reason'] ? `: ${String(rollback['reason'])}` : ''}`;
  return undefined;
};

export function canaryView(body: unknown): string {
  const c = asJson(body);
  const totals = asJson(c['totals']);
  const header = renderFields([
    ['Canary', c['id']],
    ['Flag', c['feature_flag_id']],
    ['Strategy', c['strategy']],
    ['Environment', c['environment']],
    ['Status', c['status']],
    ['Stage', stageText(c)],
    ['Certified', c['certified'] === true ? `yes${c['certified_at'] ? ` at ${String(c['certified_at'])}` : ''}` : 'no'],
    ['Decision', decisionText(c)],
    ['Windows', totals['windows']],
    ['Started', c['started_at']],
    ['Ended', c['ended_at']],
  ]);
  const cohorts: Cohort[] = [
    { name: 'canary', counts: asJson(totals['canary']) },
    { name: 'baseline', counts: asJson(totals['baseline']) },
  ];
  return `${header}\n${renderTable(COHORT_COLUMNS, cohorts)}\n${renderTable(TEST_COLUMNS, listOf(c['tests']))}`;
}

const CANARY_COLUMNS: Column<Json>[] = [
  { header: 'id', value: (c) => c['id'] },
  { header: 'flag', value: (c) => c['feature_flag_id'] },
  { header: 'strategy', value: (c) => c['strategy'] },
  { header: 'status', value: (c) => c['status'] },
  { header: 'stage', value: stageText },
  { header: 'created', value: (c) => c['created_at'] },
];

export const canaryListView = (body: unknown): string => renderTable(CANARY_COLUMNS, listOf(asJson(body)['canary_deployments']));
