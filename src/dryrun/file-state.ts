import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  copyState,
  emptyState,
  parseState,
  serializeState,
  type ConnectorState,
  type StateStore,
} from '../opencti/state';

export class StateFileError extends Error {
  override name = 'StateFileError';
}

/** Keeps the cursors in a local JSON file instead of OpenCTI, for dry runs. */
export class FileStateStore implements StateStore {
  private state: ConnectorState;

  constructor(private readonly path: string) {
    if (!existsSync(path)) {
      this.state = emptyState();
      return;
    }
    const parsed = parseState(readFileSync(path, 'utf8'));
    if (!parsed.ok) throw new StateFileError(`${path}: ${parsed.problem}`);
    this.state = parsed.state;
  }

  load(): { state: ConnectorState; generation: number } {
    return { state: copyState(this.state), generation: 0 };
  }

  save(state: ConnectorState): Promise<boolean> {
    this.state = copyState(state);
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileSync(`${this.path}.tmp`, `${serializeState(this.state)}\n`);
    renameSync(`${this.path}.tmp`, this.path);
    return Promise.resolve(true);
  }
}
