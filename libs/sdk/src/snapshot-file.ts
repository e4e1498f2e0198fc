import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FlagSnapshot } from '#rollgate/contracts';
import type { ClientConfig } from './rollgate.options.js';
import { SdkError } from './sdk.errors.js';

interface SnapshotFileBody {
  format: 'rollgate-sdk-snapshot';
  formatVersion: 1;
  savedAt: string;
  snapshot: FlagSnapshot;
}

/** Written to `<path>.<pid>.tmp` then renamed over `path`: a reader sees the old file or the new one, never half. */
export async function writeSnapshotFile(path: string, snapshot: FlagSnapshot, now: number): Promise<void> {
  const body: SnapshotFileBody = { format: 'rollgate-sdk-snapshot', formatVersion: 1, savedAt: new Date(now).toISOString(), snapshot };
  const tmp = `${path}.${process.pid}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(tmp, JSON.stringify(body));
  await rename(tmp, path);
}

/** The saved snapshot, or null when there is no file. A file for another environment or of another format throws. */
export async function readSnapshotFile(path: string, environment: string): Promise<{ snapshot: FlagSnapshot; savedAt: string } | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new SdkError('SDK.SNAPSHOT_FILE', `cannot read snapshot file ${path}`, { cause: error });
  }
  let body: SnapshotFileBody;
  try {
    body = JSON.parse(text) as SnapshotFileBody;
  } catch (cause) {
    throw new SdkError('SDK.SNAPSHOT_FILE', `snapshot file ${path} is not JSON`, { cause });
  }
  if (body?.format !== 'rollgate-sdk-snapshot' || body.formatVersion !== 1 || !Array.isArray(body.snapshot?.flags)) {
    throw new SdkError('SDK.SNAPSHOT_FILE', `snapshot file ${path} is not a Rollgate SDK snapshot`);
  }
  if (body.snapshot.environment !== environment) {
    throw new SdkError('SDK.SNAPSHOT_FILE', `snapshot file ${path} is for environment ${body.snapshot.environment}, not ${environment}`);
  }
  return { snapshot: body.snapshot, savedAt: body.savedAt };
}

/** The client's `snapshotFile`: flags for a cold start while NATS is unreachable, rewritten (debounced) after changes. */
export class SnapshotFileKeeper {
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly config: ClientConfig,
    /** The flags to save; nothing is written before the client is ready (it would save an empty snapshot). */
    private readonly source: { snapshot(): FlagSnapshot; isReady(): boolean },
  ) {}

  /** Reads the file and hands its snapshot to `load`; a file that cannot be used is logged and ignored. */
  async coldStart(load: (saved: { snapshot: FlagSnapshot; savedAt: string }) => void): Promise<void> {
    try {
      const saved = await readSnapshotFile(this.path, this.config.environment);
      if (saved !== null) load(saved);
    } catch (error) {
      this.config.logger.warn('snapshot file ignored', { error: String(error) });
    }
  }

  schedule(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.write();
    }, this.config.options.snapshotFileDebounceMs ?? 1_000);
    this.timer.unref();
  }

  async write(): Promise<void> {
    if (!this.source.isReady()) return;
    try {
      await writeSnapshotFile(this.path, this.source.snapshot(), this.config.clock());
    } catch (error) {
      this.config.logger.warn('cannot write snapshot file', { path: this.path, error: String(error) });
    }
  }

  /** Stops scheduling; a write still pending is done now. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer === null) return;
    clearTimeout(this.timer);
    this.timer = null;
    await this.write();
  }
}
