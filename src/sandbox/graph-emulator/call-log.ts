/** Every request the emulator answered, for tests and the sandbox to inspect. */
import type { GraphCall, GraphMethod } from './types';

export class CallLog {
  readonly calls: GraphCall[] = [];

  record(call: GraphCall): void {
    this.calls.push(call);
  }

  reset(): void {
    this.calls.length = 0;
  }

  counts(filter: { mailbox?: string } = {}): Partial<Record<GraphMethod, number>> {
    const counts: Partial<Record<GraphMethod, number>> = {};
    for (const call of this.calls) {
      if (filter.mailbox !== undefined && call.mailbox !== filter.mailbox.toLowerCase()) continue;
      counts[call.method] = (counts[call.method] ?? 0) + 1;
    }
    return counts;
  }
}
