// `@rollgate/sdk/openfeature`: needs the optional peer @openfeature/server-sdk.
export { RollgateProvider } from './rollgate.provider.js';
