import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BundleSink, PreparedBundle } from '../sinks/sink';
import type { Bundle } from '../stix/types';

/** Writes each bundle as a STIX 2.1 JSON file, for dry runs and for checking filters before going live. */
export class DirectorySink implements BundleSink {
  private sequence = 0;
  readonly written: string[] = [];

  constructor(
    private readonly directory: string,
    private readonly runLabel: string,
  ) {
    mkdirSync(directory, { recursive: true });
  }

  prepare(bundle: Bundle): Promise<PreparedBundle> {
    return Promise.resolve({ messages: 1, deliver: () => this.write(bundle) });
  }

  private write(bundle: Bundle): Promise<void> {
    this.sequence++;
    const name = `threatstream-${this.runLabel}-${String(this.sequence).padStart(5, '0')}.json`;
    const path = join(this.directory, name);
    // Through a temporary file, so a reader never sees half a bundle.
    writeFileSync(`${path}.tmp`, JSON.stringify(bundle, null, 2));
    renameSync(`${path}.tmp`, path);
    this.written.push(path);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
