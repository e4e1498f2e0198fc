import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { jest } from '@jest/globals';
import { waitFor } from '#rollgate/testing';
import { RollgateSystem, uniqueKey, type ServiceName } from './harness/index.js';

jest.setTimeout(90_000);

/**
 * deploy/observability/grafana-dashboard.json only queries what the services export: every metric name in every
 * panel's expression is a family some running service's /metrics declares (`# TYPE`), histograms by their
 * _bucket/_sum/_count series, and every label a panel groups or filters by is on that metric's samples once a
 * flag change has produced some. The services run as processes, as a user (Prometheus) would scrape them.
 */
const SERVICES: ServiceName[] = ['flags', 'rollback', 'canary', 'gateway'];
const DASHBOARD = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../../deploy/observability/grafana-dashboard.json'), 'utf8')) as {
  panels: { title: string; targets?: { expr: string }[] }[];
};
/** Names PromQL itself defines; none of them is a metric. */
const PROMQL_WORDS = new Set(['sum', 'max', 'by', 'rate', 'increase', 'histogram_quantile', 'le']);

interface Family {
  type: string;
  /** Label names seen on its samples. */
  labels: Set<string>;
  samples: number;
  /** Sum of its sample values (bucket series excluded). */
  total: number;
}

let system: RollgateSystem;
const families = new Map<string, Family>();
const flagsFamilies = new Map<string, Family>();

function parseExposition(text: string, into: Map<string, Family>): void {
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      if (!into.has(type[1]!)) into.set(type[1]!, { type: type[2]!, labels: new Set(), samples: 0, total: 0 });
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})? (\S+)/.exec(line);
    if (!sample) continue;
    const family = into.get(sample[1]!) ?? into.get(sample[1]!.replace(/_(bucket|sum|count)$/, ''));
    if (!family) continue;
    family.samples++;
    if (!sample[1]!.endsWith('_bucket')) family.total += Number(sample[3]);
    for (const pair of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) family.labels.add(pair[1]!);
  }
}

/** The family an expression's series name belongs to: itself, or the histogram its suffix names. */
function familyOf(series: string): string | undefined {
  if (families.has(series)) return series;
  const base = series.replace(/_(bucket|sum|count)$/, '');
  return base !== series && families.get(base)?.type === 'histogram' ? base : undefined;
}

const targets = DASHBOARD.panels.flatMap((panel) => (panel.targets ?? []).map((t) => ({ panel: panel.title, expr: t.expr })));
const seriesIn = (expr: string): string[] =>
  [...expr.replace(/\{[^}]*\}/g, '').replace(/\[[^\]]*\]/g, '').replace(/"[^"]*"/g, '').matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((word) => !PROMQL_WORDS.has(word) && /_/.test(word) && !/^\d/.test(word));

async function scrape(name: ServiceName): Promise<string> {
  const response = await fetch(`${system.httpUrl(name)}/metrics`);
  expect(response.status).toBe(200);
  return response.text();
}

beforeAll(async () => {
  system = await RollgateSystem.start({ services: SERVICES, env: { flags: { ROLLGATE_FLAGS_SEED: 'false' } } });
  // A command through the gateway: a sample on the command, event store and publisher series of flags.
  const created = await system.api('POST', '/api/v1/feature-flags', { name: uniqueKey('obs'), target_environments: ['production'] });
  expect(created.status).toBe(201);
  // The reply comes after the commit; the publication follows it by a few milliseconds.
  await waitFor('the flag event published', async () => {
    flagsFamilies.clear();
    parseExposition(await scrape('flags'), flagsFamilies);
    return (flagsFamilies.get('rollgate_publisher_published_events_total')?.total ?? 0) > 0;
  });
  for (const name of SERVICES) parseExposition(await scrape(name), families);
}, 120_000);

afterAll(async () => {
  await system?.stop();
});

it('has panels with queries', () => {
  expect(targets.length).toBeGreaterThan(25);
});

it.each(targets.map((t) => [t.panel, t.expr]))('%s: %s queries exported metrics only', (_panel, expr) => {
  const series = seriesIn(expr);
  expect(series.length).toBeGreaterThan(0);
  for (const name of series) {
    if (familyOf(name) === undefined) throw new Error(`${name} is not exported by any of ${SERVICES.join(', ')}`);
  }
});

it.each(targets.map((t) => [t.panel, t.expr]))('%s: %s groups and filters by labels the metric has', (_panel, expr) => {
  const series = seriesIn(expr);
  if (series.length !== 1) return;
  const family = families.get(familyOf(series[0]!)!)!;
  if (family.samples === 0) return; // a labelled series without observations yet: no label to compare
  const grouped = [...expr.matchAll(/by \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()));
  const filtered = [...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1]!.matchAll(/([a-zA-Z_]+)\s*(?:=~|!=|=)/g)].map((l) => l[1]!));
  for (const label of [...grouped, ...filtered].filter((l) => l !== 'le')) {
    expect([label, family.labels.has(label)]).toEqual([label, true]);
  }
});

it('counts the one flag command, its one appended event and its one publication on the flags service', () => {
  for (const name of ['rollgate_commands_handled_total', 'rollgate_eventstore_appended_events_total', 'rollgate_publisher_published_events_total']) {
    expect([name, flagsFamilies.get(name)?.total]).toEqual([name, 1]);
  }
});
