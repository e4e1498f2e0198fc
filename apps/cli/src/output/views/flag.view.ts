import { renderFields, renderTable, type Column } from '../table.js';
import { asJson, listOf, num, str, type Json } from './json-body.js';

const PPM = 1_000_000;
const pct = (ppm: unknown): string => `${Number((((num(ppm) ?? 0) / PPM) * 100).toFixed(4))}%`;

/** A default rollout in a few characters: `all`, `none`, `25%`, `3 users`, `gradual 0%→50%`. */
export function rolloutText(rollout: unknown): string {
  const r = asJson(rollout);
  switch (r['type']) {
    case 'all_users':
      return 'all';
    case 'none':
      return 'none';
    case 'percentage':
      return pct(r['ppm']);
    case 'user_list':
      return `${Array.isArray(r['users']) ? r['users'].length : 0} users`;
    case 'environment':
      return `environments ${Array.isArray(r['environments']) ? r['environments'].join(',') : ''}`;
    case 'gradual':
      return `gradual ${pct(r['from'])}→${pct(r['to'])}`;
    default:
      return str(r['type']) ?? '';
  }
}

const environmentsOf = (flag: Json): Array<[string, Json]> => Object.entries(asJson(flag['environments'])).map(([env, config]) => [env, asJson(config)]);

/** `production:on(25%) staging:off`. */
const environmentSummary = (flag: Json): string =>
  environmentsOf(flag)
    .map(([env, config]) => `${env}:${config['enabled'] === true ? `on(${rolloutText(config['default_rollout'])})` : 'off'}`)
    .join(' ');

const FLAG_COLUMNS: Column<Json>[] = [
  { header: 'key', value: (f) => f['key'] },
  { header: 'type', value: (f) => f['type'] },
  { header: 'status', value: (f) => f['status'] },
  { header: 'version', value: (f) => f['version'] },
  { header: 'environments', value: environmentSummary },
];

export const flagListView = (body: unknown): string => renderTable(FLAG_COLUMNS, listOf(asJson(body)['flags']));

const ENVIRONMENT_COLUMNS: Column<[string, Json]>[] = [
  { header: 'environment', value: ([env]) => env },
  { header: 'enabled', value: ([, c]) => c['enabled'] },
  { header: 'rollout', value: ([, c]) => rolloutText(c['default_rollout']) },
  { header: 'rules', value: ([, c]) => listOf(c['rules']).map((rule) => rule['id']) },
];

export function flagView(body: unknown): string {
  const flag = asJson(body);
  const header = renderFields([
    ['Key', flag['key']],
    ['Name', flag['name']],
    ['Type', flag['type']],
    ['Status', flag['status']],
    ['Version', flag['version']],
    ['Updated', flag['updated_at']],
    ['Description', flag['description']],
    ['Tags', flag['tags']],
    ['Owner', flag['owner']],
    ['Variants', listOf(flag['variants']).map((v) => v['key'])],
  ]);
  return `${header}\n${renderTable(ENVIRONMENT_COLUMNS, environmentsOf(flag))}`;
}

/** A command's answer `{key, version, duplicate, flag}`: the flag after it, and whether it was a repeat. */
export function flagCommandView(body: unknown): string {
  const result = asJson(body);
  const note = result['duplicate'] === true ? ' (duplicate: the first request\'s result, nothing changed)' : '';
  const flag = result['flag'] === undefined ? result : result['flag'];
  return `${str(result['key']) ?? str(asJson(flag)['key']) ?? ''} at version ${String(result['version'] ?? asJson(flag)['version'])}${note}\n\n${flagView(flag)}`;
}

const HISTORY_COLUMNS: Column<Json>[] = [
  { header: 'version', value: (e) => e['version'] },
  { header: 'event', value: (e) => e['event_type'] },
  { header: 'actor', value: (e) => e['actor'] },
  { header: 'recorded', value: (e) => e['recorded_at'] },
  { header: 'reason', value: (e) => e['reason'] },
];

export function flagHistoryView(body: unknown): string {
  const page = asJson(body);
  const more = page['next_from_version'] == null ? '' : `\nmore: --from-version ${String(page['next_from_version'])}\n`;
  return renderTable(HISTORY_COLUMNS, listOf(page['entries'])) + more;
}

export const evaluationView = (body: unknown): string => {
  const e = asJson(body);
  return renderFields([
    ['Flag', e['flag']],
    ['Value', JSON.stringify(e['value'])],
    ['Enabled', e['enabled']],
    ['Variant', e['variant']],
    ['Reason', e['reason']],
    ['Rule', e['rule_id']],
    ['Error', e['error_code']],
    ['Version', e['version']],
  ]);
};
