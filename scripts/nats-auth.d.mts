// Types of scripts/nats-auth.mjs, for TypeScript callers (the test harness).
export declare const NATS_CONFIG: string;
export type NatsCredentials = Record<string, string>;
export declare function passwordVariable(user: string): string;
export declare function natsUsers(configPath?: string): string[];
export declare function generateCredentials(users?: string[]): NatsCredentials;
export declare function readCredentials(file: string, users?: string[]): NatsCredentials;
export declare function ensureCredentials(file: string, users?: string[]): NatsCredentials;
export declare function natsLogin(credentials: NatsCredentials, user: string): { NATS_USER: string; NATS_PASSWORD: string };
export declare function natsServerArgs(options: { port: number; storeDir: string; configPath?: string; host?: string }): string[];
