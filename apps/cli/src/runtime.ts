import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolveHttpSettings, resolveNatsSettings, resolveVia, type GlobalOptions, type NatsCliSettings, type Via } from './config/settings.js';
import type { CliIo } from './io.js';
import type { Printer } from './output/printer.js';
import { renderFields } from './output/table.js';
import { BusApi, type BusCall } from './transport/bus-api.js';
import { HttpApi, type HttpCall } from './transport/http-api.js';

/** Options every write command takes. */
export interface WriteOptions {
  dryRun?: boolean;
  yes?: boolean;
  reason?: string;
  idempotencyKey?: string;
}

/** One command's view of the process: its options, where output goes, and the transports (opened on first use). */
export class Runtime {
  private httpApi?: HttpApi;
  private busApi?: Promise<BusApi>;
  private nats?: NatsCliSettings;

  constructor(
    readonly io: CliIo,
    readonly options: GlobalOptions,
    readonly printer: Printer,
    private readonly readFile: (path: string) => string = (path) => readFileSync(path, 'utf8'),
  ) {}

  get via(): Via {
    return resolveVia(this.options.via, this.io.env);
  }

  get http(): HttpApi {
    this.httpApi ??= new HttpApi(resolveHttpSettings(this.options, this.io.env));
    return this.httpApi;
  }

  get natsSettings(): NatsCliSettings {
    this.nats ??= resolveNatsSettings(this.options, this.io.env, this.readFile, userInfo().username);
    return this.nats;
  }

  bus(): Promise<BusApi> {
    this.busApi ??= BusApi.connect(this.natsSettings);
    return this.busApi;
  }

  /** A request body from `--file` (from stdin: `--data "$(cat)"`). */
  readJsonFile(path: string): string {
    return this.readFile(path);
  }

  /** Sends an HTTP write, or with --dry-run shows it and sends nothing (returns undefined). */
  async httpWrite<Body = unknown>(call: HttpCall, write: WriteOptions): Promise<Body | undefined> {
    if (write.dryRun === true) {
      this.showDryRun(this.http.describe(call));
      return undefined;
    }
    return this.http.send<Body>(call);
  }

  /** The bus twin of httpWrite: --dry-run neither connects nor publishes. */
  async busWrite<Result = unknown>(call: BusCall, write: WriteOptions): Promise<Result | undefined> {
    if (write.dryRun === true) {
      this.showDryRun(BusApi.describe(call, this.natsSettings));
      return undefined;
    }
    return (await this.bus()).send<Result>(call);
  }

  async busRead<Result = unknown>(call: BusCall): Promise<Result> {
    return (await this.bus()).send<Result>(call);
  }

  async close(): Promise<void> {
    if (this.busApi) await (await this.busApi.catch(() => undefined))?.close();
  }

  private showDryRun(request: Record<string, unknown>): void {
    this.printer.result({ dry_run: true, request }, () => {
      const { transport, body, envelope, query, ...rest } = request;
      const payload = body ?? envelope ?? query;
      return `dry run: nothing sent (${String(transport)})\n${renderFields(Object.entries(rest).map(([k, v]) => [k, v] as const))}${payload === undefined ? '' : `${JSON.stringify(payload, null, 2)}\n`}`;
    });
  }
}
