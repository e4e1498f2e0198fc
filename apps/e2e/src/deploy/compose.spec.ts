import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadYaml } from '@kubernetes/client-node';
import { ROOT, natsConfigUsers, startScriptServices } from './manifests.js';

/**
 * docker-compose.yml, checked statically: NATS runs deploy/nats/rollgate.conf (mounted, and valid for nats-server
 * with exactly the passwords compose gives it), PostgreSQL creates every service's database, and each service of
 * scripts/start.mjs runs on its port as its own NATS user against its own database after its migrations. Other
 * services (a CLI, the observability profile) may be added beside them.
 */
// Compose files are untyped YAML read field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const compose = loadYaml(readFileSync(resolve(ROOT, 'docker-compose.yml'), 'utf8')) as { services: Record<string, Json> };
const services = compose.services;
const SERVICES = startScriptServices();
const NATS_USERS = natsConfigUsers();
const INIT_SQL = readFileSync(resolve(ROOT, 'deploy/postgres/init.sql'), 'utf8');

/** `${NAME:-default}` → [NAME, default]. */
const variable = (value: string): [string, string] => {
  const match = /^\$\{([A-Z_]+):-([^}]*)\}$/.exec(value);
  if (!match) throw new Error(`${value} is not \${NAME:-default}`);
  return [match[1]!, match[2]!];
};
const databaseOf = (url: string): { user: string; host: string; database: string } => {
  const parsed = new URL(url);
  return { user: parsed.username, host: parsed.hostname, database: parsed.pathname.slice(1) };
};
/** `host:container` mounts of a compose service, by container path. */
const mounts = (service: Json): Map<string, string> =>
  new Map((service.volumes as string[]).map((v) => v.split(':')).map(([host, container]) => [container!, host!]));

describe('docker-compose.yml', () => {
  it('runs NATS on deploy/nats/rollgate.conf with JetStream and every password the file reads', () => {
    const nats = services['nats'];
    const config = nats.command[nats.command.indexOf('-c') + 1];
    expect(mounts(nats).get(config)).toBe('./deploy/nats/rollgate.conf');
    expect(nats.command).toContain('-js');
    const passwords = Object.fromEntries(Object.entries(nats.environment as Record<string, string>).map(([k, v]) => [k, variable(v)[1]]));
    expect(Object.keys(passwords).sort()).toEqual([...NATS_USERS.values()].sort());
    // nats-server's own check of the file, with what compose gives it.
    const check = spawnSync('nats-server', ['-c', resolve(ROOT, 'deploy/nats/rollgate.conf'), '-t'], {
      env: { PATH: `/usr/sbin:/usr/bin:${process.env['PATH'] ?? ''}`, ...passwords },
      encoding: 'utf8',
    });
    expect([check.status, check.stderr + check.stdout]).toEqual([0, expect.stringContaining('is valid')]);
  });

  it('creates every service database in PostgreSQL from the mounted init script', () => {
    expect(mounts(services['postgres']).get('/docker-entrypoint-initdb.d/10-rollgate.sql')).toBe('./deploy/postgres/init.sql');
    for (const { name } of SERVICES) expect(INIT_SQL).toContain(`CREATE DATABASE rollgate_${name} OWNER rollgate_owner;`);
  });

  it.each(SERVICES)('runs $name on port $port as NATS user $name against rollgate_$name, after its migrations', ({ name, port }) => {
    const service = services[name];
    expect(service.command).toEqual(['node', `dist/apps/${name}/src/main.js`]);
    const env = service.environment as Record<string, string>;
    expect(env['ROLLGATE_HTTP_PORT']).toBe(String(port));
    expect(env['ROLLGATE_HTTP_HOST']).toBe('0.0.0.0');
    expect(service.ports).toEqual([`127.0.0.1:${port}:${port}`]);
    expect(env['NATS_URL']).toBe('nats://nats:4222');
    expect(env['NATS_USER']).toBe(name);
    const [passwordVariable, passwordDefault] = variable(env['NATS_PASSWORD']!);
    expect(passwordVariable).toBe(NATS_USERS.get(name));
    expect(variable(services['nats'].environment[passwordVariable])).toEqual([passwordVariable, passwordDefault]);
    expect(databaseOf(env['DATABASE_URL']!)).toEqual({ user: 'rollgate_app', host: 'postgres', database: `rollgate_${name}` });
    expect(service.depends_on['nats']).toEqual({ condition: 'service_healthy' });
    expect(service.depends_on[`${name}-migrate`]).toEqual({ condition: 'service_completed_successfully' });

    const migrate = services[`${name}-migrate`];
    expect(migrate.command).toEqual(['node', `dist/apps/${name}/src/main.js`, 'migrate']);
    expect(migrate.restart).toBe('no');
    expect(migrate.image).toBe(service.image);
    expect(databaseOf(migrate.environment['ROLLGATE_MIGRATION_DATABASE_URL'])).toEqual({
      user: 'rollgate_owner',
      host: 'postgres',
      database: `rollgate_${name}`,
    });
    expect(migrate.depends_on['postgres']).toEqual({ condition: 'service_healthy' });
  });

  it('gives the gateway its admin token', () => {
    expect(variable(services['gateway'].environment['ROLLGATE_ADMIN_TOKEN'])[0]).toBe('ROLLGATE_ADMIN_TOKEN');
  });

  it('scrapes every service with the observability profile, on the ports the services listen on', () => {
    const prometheus = services['prometheus'];
    expect(prometheus.profiles).toEqual(['observability']);
    const configPath = mounts(prometheus).get('/etc/prometheus/prometheus.yml')!;
    const config = loadYaml(readFileSync(resolve(ROOT, configPath), 'utf8')) as Json;
    const targets: string[] = config.scrape_configs.flatMap((job: Json) => job.static_configs.flatMap((s: Json) => s.targets));
    expect(targets.sort()).toEqual(SERVICES.map(({ name, port }) => `${name}:${port}`).sort());
    for (const host of mounts(services['grafana']).values()) expect(existsSync(resolve(ROOT, host))).toBe(true);
  });
});
