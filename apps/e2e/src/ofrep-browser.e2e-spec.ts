import { jest } from '@jest/globals';
import { OpenFeature, type EvaluationDetails, type FlagValue } from '@openfeature/server-sdk';
import type { Page } from 'playwright-core';
import { RollgateProvider } from '#rollgate/sdk';
import { waitFor } from '#rollgate/testing';
import { RollgateSystem } from './harness/index.js';
import { launchChromium, servePage } from './harness/browser.js';
import { OFREP_ENVIRONMENT, asServedByOfrep, createOfrepFlags, issueToken, ofrepContext, ofrepFlags, type OfrepFlag } from './harness/ofrep.js';

jest.setTimeout(120_000);

/**
 * Issue 11 part 3 in real headless Chromium: a page from another origin evaluates its user's flags through the
 * gateway's OFREP with `@openfeature/ofrep-web-provider` (npm 0.4.3) and a scoped client token. For 1 000 users
 * it agrees with the SDK's provider; then it polls, gets 304 while nothing changes (so ETag crossed CORS), and
 * shows a toggled flag by the first 200 after the change.
 */
let system: RollgateSystem;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let site: Awaited<ReturnType<typeof servePage>>;
let flags: OfrepFlag[];
let token: string;
const USERS = 1_000;
const POLL_MS = 300;

type Case = [string, OfrepFlag['type'], FlagValue];
type Details = Pick<EvaluationDetails<FlagValue>, 'value' | 'variant' | 'reason' | 'errorCode'>;

beforeAll(async () => {
  // Before the system: a missing Chromium fails here, with the reason, and starts nothing.
  browser = await launchChromium();
  system = await RollgateSystem.start({
    env: { flags: { ROLLGATE_FLAGS_SEED: 'false' }, gateway: { ROLLGATE_OFREP_RATE_LIMIT: '5000' } },
  });
  site = await servePage();
  flags = ofrepFlags(Date.now().toString(36));
  await createOfrepFlags(system, flags);
  token = await issueToken(system, 'client', OFREP_ENVIRONMENT);
  await OpenFeature.setProviderAndWait(
    'sdk',
    new RollgateProvider({ environment: OFREP_ENVIRONMENT, ...system.nats.client('sdk'), statusIntervalMs: 0, outcomes: { enabled: false } }),
  );
}, 120_000);

afterAll(async () => {
  await OpenFeature.close();
  await browser?.close();
  await site?.close();
  await system?.stop();
});

async function openPage(flag: string, user: number): Promise<Page> {
  const page = await browser.context.newPage();
  const query = new URLSearchParams({ ofrep: system.gatewayUrl, token, flag, context: JSON.stringify(ofrepContext(user)), poll: String(POLL_MS) });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${site.url}/?${query}`);
  await page.waitForSelector('#flag[data-ready="true"]', { timeout: 20_000 }).catch((error: Error) => {
    throw new Error(`${error.message}; page errors: ${errors.join(' | ')}`);
  });
  return page;
}

async function sdkDetails(key: string, type: OfrepFlag['type'], defaultValue: FlagValue, context: Record<string, string>): Promise<Details> {
  const sdk = OpenFeature.getClient('sdk');
  const got =
    type === 'boolean'
      ? await sdk.getBooleanDetails(key, defaultValue as boolean, context)
      : type === 'string'
        ? await sdk.getStringDetails(key, defaultValue as string, context)
        : type === 'number'
          ? await sdk.getNumberDetails(key, defaultValue as number, context)
          : await sdk.getObjectDetails(key, defaultValue as Record<string, never>, context);
  return { value: got.value, variant: got.variant, reason: got.reason, errorCode: got.errorCode };
}

it(`the web provider in Chromium evaluates like the SDK for ${USERS} users`, async () => {
  const page = await openPage(flags[0]!.key, 0);
  const cases: Case[] = [
    ...flags.map((flag): Case => [flag.key, flag.type, flag.defaultValue as FlagValue]),
    ['no_such_flag', 'string', 'uh-oh'],
    [flags[0]!.key, 'string', 'not a boolean'],
  ];
  const contexts = Array.from({ length: USERS }, (_, i) => ofrepContext(i));
  // Arguments and result cross into the page as JSON; typed loosely here (FlagValue is too deep for evaluate's types).
  const args: { contexts: unknown; cases: unknown } = { contexts, cases };
  const inBrowser = (await page.evaluate(
    (sent: { contexts: unknown; cases: unknown }) =>
      (globalThis as unknown as { rollgate: { evaluateUsers(c: unknown, k: unknown): Promise<unknown> } }).rollgate.evaluateUsers(sent.contexts, sent.cases),
    args,
  )) as Details[][];
  const differences: string[] = [];
  for (const [i, context] of contexts.entries()) {
    for (const [j, [key, type, defaultValue]] of cases.entries()) {
      const expected = await sdkDetails(key, type, defaultValue, context);
      // JSON drops undefined fields on both sides alike (page.evaluate returns JSON).
      if (JSON.stringify(asServedByOfrep(expected)) !== JSON.stringify(inBrowser[i]![j])) {
        differences.push(`${key} as ${type} for user-${i}: SDK ${JSON.stringify(expected)}, browser ${JSON.stringify(inBrowser[i]![j])}`);
      }
    }
  }
  expect(differences.slice(0, 10)).toEqual([]);
  expect(new Set(inBrowser.map((row) => row[0]!.reason))).toEqual(new Set(['SPLIT', 'TARGETING_MATCH']));
  await page.close();
});

it('the page revalidates with 304 while the flag stands, and shows the change by the first 200 after it', async () => {
  const key = flags[0]!.key;
  // user-5 is on the `pro` plan: the rule serves true.
  const page = await openPage(key, 5);
  const polls: Array<{ status: number; afterToggle: boolean }> = [];
  let toggled = false;
  page.on('response', (response) => {
    if (response.request().method() === 'POST' && response.url().endsWith('/ofrep/v1/evaluate/flags')) polls.push({ status: response.status(), afterToggle: toggled });
  });
  expect(await page.textContent('#flag')).toBe('true');
  await waitFor('three revalidations', async () => polls.length >= 3, { timeoutMs: 15_000, intervalMs: 50 });
  expect(polls.map((poll) => poll.status)).toEqual(polls.map(() => 304));

  const response = await system.api('PUT', `/api/v1/feature-flags/${key}/environments/${OFREP_ENVIRONMENT}`, { enabled: false });
  expect(response.status).toBe(200);
  toggled = true;
  await page.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('flag').textContent === 'false', undefined, {
    timeout: 15_000,
    polling: 50,
  });
  const after = polls.filter((poll) => poll.afterToggle).map((poll) => poll.status);
  // At most one poll was already on its way when the toggle answered; the next one brought the change.
  expect(after.indexOf(200)).toBeGreaterThanOrEqual(0);
  expect(after.indexOf(200)).toBeLessThanOrEqual(1);
  await page.screenshot({ path: `${process.env['TMPDIR'] ?? '/tmp'}/rollgate-ofrep-page.png` });
  await page.close();
});
