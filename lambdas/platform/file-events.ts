import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventPublisher, PublishedEvent } from './events';

/** Path of the local event log under a data dir. */
export function localEventLog(dataDir: string): string {
  return join(dataDir, 'events', 'events.jsonl');
}

/**
 * EventPublisher for the local runtime: appends one JSON line per event to
 * `<dataDir>/events/events.jsonl`. Each line is written by one append call, so lines from
 * concurrent functions do not interleave.
 *
 * @example
 * await new FileEventPublisher('.mlops', 'mlops.registry').publish('ModelAliasChanged', { alias: 'champion' });
 */
export class FileEventPublisher implements EventPublisher {
  constructor(
    private readonly dataDir: string,
    private readonly source: string,
  ) {}

  async publish(detailType: string, detail: Readonly<Record<string, unknown>>): Promise<void> {
    const file = localEventLog(this.dataDir);
    await mkdir(join(this.dataDir, 'events'), { recursive: true });
    const event: PublishedEvent = {
      source: this.source,
      detailType,
      detail: { ...detail },
      time: new Date().toISOString(),
    };
    await appendFile(file, `${JSON.stringify(event)}\n`);
  }
}
