import { CliError } from '../errors/cli-error.js';
import { parseCredentials, resolveHttpSettings, resolveNatsSettings, resolveVia } from './settings.js';

const noFile = (): string => {
  throw new Error('ENOENT: no such file');
};

describe(resolveHttpSettings.name, () => {
  it('flags win over ROLLGATE_URL / ROLLGATE_TOKEN; the URL loses its trailing slash', () => {
    expect(resolveHttpSettings({}, { ROLLGATE_URL: 'http://gw:3000/', ROLLGATE_TOKEN: 't1' })).toMatchObject({ url: 'http://gw:3000', token: 't1' });
    expect(resolveHttpSettings({ url: 'https://rg.example', token: 't2' }, { ROLLGATE_URL: 'http://gw:3000', ROLLGATE_TOKEN: 't1' })).toMatchObject({ url: 'https://rg.example', token: 't2' });
    expect(resolveHttpSettings({}, {})).toMatchObject({ url: 'http://localhost:3000', token: undefined });
  });

  it('refuses what is not an http(s) URL', () => {
    expect(() => resolveHttpSettings({ url: 'gw:3000' }, {})).toThrow(CliError);
    expect(() => resolveHttpSettings({ url: 'nats://gw:4222' }, {})).toThrow(/http/);
    expect(() => resolveHttpSettings({ url: 'not a url' }, {})).toThrow(/not a URL/);
  });
});

describe(resolveNatsSettings.name, () => {
  it('NATS_USER / NATS_PASSWORD from the environment, the operator user by default, the actor named after both', () => {
    expect(resolveNatsSettings({}, { NATS_URL: 'nats://n:4222', NATS_USER: 'operator', NATS_PASSWORD: 'pw' }, noFile, 'alice')).toMatchObject({
      NATS_URL: 'nats://n:4222',
      NATS_USER: 'operator',
      NATS_PASSWORD: 'pw',
      actor: 'operator:alice',
    });
    expect(resolveNatsSettings({ actor: 'oncall-bob' }, { NATS_PASSWORD: 'pw' }, noFile, 'alice')).toMatchObject({ NATS_USER: 'operator', actor: 'oncall-bob', NATS_URL: 'nats://127.0.0.1:4222' });
  });

  it("reads the user's password from a credentials file when NATS_PASSWORD is not set", () => {
    const file = 'RG_NATS_ADMIN_PASSWORD=padmin\nRG_NATS_OPERATOR_PASSWORD = poperator \n';
    const read = (path: string): string => (path === '/creds.env' ? file : noFile());
    expect(resolveNatsSettings({}, { ROLLGATE_NATS_CREDENTIALS_FILE: '/creds.env' }, read, 'alice').NATS_PASSWORD).toBe('poperator');
    expect(resolveNatsSettings({ natsUser: 'admin', natsCredentials: '/creds.env' }, {}, read, 'alice')).toMatchObject({ NATS_USER: 'admin', NATS_PASSWORD: 'padmin' });
  });

  it("does not send one user's NATS_PASSWORD as another's (--nats-user other than NATS_USER)", () => {
    expect(() => resolveNatsSettings({ natsUser: 'admin' }, { NATS_USER: 'operator', NATS_PASSWORD: 'pw' }, noFile, 'alice')).toThrow(/no NATS password for user admin/);
  });

  it('says what is missing: no password, an unreadable file, a file without the user', () => {
    expect(() => resolveNatsSettings({}, {}, noFile, 'alice')).toThrow(/NATS_PASSWORD/);
    expect(() => resolveNatsSettings({}, { ROLLGATE_NATS_CREDENTIALS_FILE: '/nope' }, noFile, 'alice')).toThrow(/cannot read the NATS credentials file \/nope/);
    expect(() => resolveNatsSettings({}, { ROLLGATE_NATS_CREDENTIALS_FILE: '/c' }, () => 'RG_NATS_SDK_PASSWORD=x\n', 'alice')).toThrow(/RG_NATS_OPERATOR_PASSWORD/);
  });
});

describe(parseCredentials.name, () => {
  it('reads KEY=value lines and skips the rest', () => {
    expect(parseCredentials('# comment\nRG_NATS_SDK_PASSWORD=p1\n\nnot a line\nA_B=c=d\n')).toEqual({ RG_NATS_SDK_PASSWORD: 'p1', A_B: 'c=d' });
  });
});

describe(resolveVia.name, () => {
  it('http by default, nats by flag or ROLLGATE_VIA, anything else refused', () => {
    expect([resolveVia(undefined, {}), resolveVia('nats', {}), resolveVia(undefined, { ROLLGATE_VIA: 'nats' }), resolveVia('http', { ROLLGATE_VIA: 'nats' })]).toEqual(['http', 'nats', 'nats', 'http']);
    expect(() => resolveVia('grpc', {})).toThrow(CliError);
  });
});
