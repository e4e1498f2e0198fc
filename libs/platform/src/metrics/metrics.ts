import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';
import { RollgateError } from '../errors/rollgate.error.js';

export interface RegistryOptions {
  /** Becomes the `service` label of every metric on the registry. */
  service: string;
  /** Process metrics (CPU, memory, event loop, GC); on by default. */
  defaultMetrics?: boolean;
}

/** A registry of the app's own: never prom-client's global one, so tests and apps never collide on names. */
export const createRegistry = ({ service, defaultMetrics = true }: RegistryOptions): Registry => {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  return registry;
};

// rollgate_<area>_<thing>_<unit|total>: at least area, thing and a unit after the prefix
const METRIC_NAME = /^rollgate_[a-z][a-z0-9]*(_[a-z0-9]+){2,}$/;

const assertMetricName = (name: string, kind: 'counter' | 'gauge' | 'histogram'): void => {
  const endsInTotal = name.endsWith('_total');
  if (!METRIC_NAME.test(name) || (kind === 'counter') !== endsInTotal) {
    throw new RollgateError('PLATFORM.METRIC_NAME', `Metric name ${name} does not fit rollgate_<area>_<thing>_<unit|total>`, {
      details: { name, kind, rule: kind === 'counter' ? 'counters end in _total' : 'only counters end in _total' },
    });
  }
};

type Config<C> = Omit<C, 'registers'>;

export const createCounter = <L extends string>(registry: Registry, config: Config<CounterConfiguration<L>>): Counter<L> => {
  assertMetricName(config.name, 'counter');
  return new Counter<L>({ ...config, registers: [registry] });
};

export const createGauge = <L extends string>(registry: Registry, config: Config<GaugeConfiguration<L>>): Gauge<L> => {
  assertMetricName(config.name, 'gauge');
  return new Gauge<L>({ ...config, registers: [registry] });
};

export const createHistogram = <L extends string>(
  registry: Registry,
  config: Config<HistogramConfiguration<L>>,
): Histogram<L> => {
  assertMetricName(config.name, 'histogram');
  return new Histogram<L>({ ...config, registers: [registry] });
};
