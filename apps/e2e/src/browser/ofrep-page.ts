// Bundled by esbuild for the browser (apps/e2e/src/harness/browser.ts): a page that shows one flag's value,
// evaluated through OFREP by the real web provider, kept current by ETag revalidation (polling).
import { OpenFeature, ProviderEvents, type EvaluationDetails, type FlagValue } from '@openfeature/web-sdk';
import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';

type Case = [key: string, type: 'boolean' | 'string' | 'number' | 'object', defaultValue: FlagValue];
type Details = Pick<EvaluationDetails<FlagValue>, 'value' | 'variant' | 'reason' | 'errorCode'>;

// The few DOM members used, typed here: the workspace compiles without the DOM library.
interface Page {
  location: { search: string };
  document: { getElementById(id: string): { textContent: string | null; dataset: Record<string, string> } | null };
  rollgate?: { evaluateUsers(contexts: Array<Record<string, string>>, cases: Case[]): Promise<Details[][]> };
}

const page = globalThis as unknown as Page;
const params = new URLSearchParams(page.location.search);
const flag = params.get('flag') ?? '';
// The user's whole context (targeting key and attributes), as the page would know its signed-in user.
const userContext = JSON.parse(params.get('context') ?? '{"targetingKey":"user-1"}') as Record<string, string>;
const output = page.document.getElementById('flag')!;

const client = OpenFeature.getClient();
const show = (): void => {
  output.textContent = String(client.getBooleanValue(flag, false));
};

function details(entry: Case): Details {
  const [key, type, defaultValue] = entry;
  const got =
    type === 'boolean'
      ? client.getBooleanDetails(key, defaultValue as boolean)
      : type === 'string'
        ? client.getStringDetails(key, defaultValue as string)
        : type === 'number'
          ? client.getNumberDetails(key, defaultValue as number)
          : client.getObjectDetails(key, defaultValue as Record<string, never>);
  return { value: got.value, variant: got.variant, reason: got.reason, errorCode: got.errorCode };
}

page.rollgate = {
  // Each user as a browser would be that user: the static context changes, the provider fetches bulk again.
  async evaluateUsers(contexts, cases) {
    const results: Details[][] = [];
    for (const context of contexts) {
      await OpenFeature.setContext(context);
      results.push(cases.map(details));
    }
    await OpenFeature.setContext(userContext);
    return results;
  },
};

await OpenFeature.setContext(userContext);
await OpenFeature.setProviderAndWait(
  new OFREPWebProvider({
    baseUrl: params.get('ofrep') ?? '',
    headers: [['Authorization', `Bearer ${params.get('token') ?? ''}`]],
    pollInterval: Number(params.get('poll') ?? '1000'),
    changeDetection: 'polling',
    cacheMode: 'disabled',
  }),
);
client.addHandler(ProviderEvents.ConfigurationChanged, show);
show();
output.dataset['ready'] = 'true';
