/** Every request the emulator served, for tests and the sandbox to inspect. */
import type { EmulatorCall, EmulatorMethod } from './types';

export class CallLog {
  readonly calls: EmulatorCall[] = [];

  record(call: EmulatorCall): void {
    this.calls.push(call);
  }

  reset(): void {
    this.calls.length = 0;
  }

  counts(filter: { owner?: string } = {}): Partial<Record<EmulatorMethod, number>> {
    const counts: Partial<Record<EmulatorMethod, number>> = {};
    for (const call of this.calls) {
      if (filter.owner !== undefined && call.owner !== filter.owner.toLowerCase()) continue;
      counts[call.method] = (counts[call.method] ?? 0) + 1;
    }
    return counts;
  }
}
