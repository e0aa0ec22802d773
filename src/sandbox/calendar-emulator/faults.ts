/** Injected failures: which requests fail, how often, and with what. */
import type { EmulatorFault, EmulatorMethod } from './types';

interface ActiveFault {
  fault: EmulatorFault;
  remaining: number;
}

export class FaultInjector {
  private faults: ActiveFault[] = [];

  add(fault: EmulatorFault): void {
    this.faults.push({ fault: { ...fault }, remaining: fault.times ?? Number.POSITIVE_INFINITY });
  }

  clear(): void {
    this.faults = [];
  }

  /** The first fault that applies to this request (consuming one of its `times`), or undefined. */
  take(method: EmulatorMethod, owner: string | undefined, random: () => number = Math.random): EmulatorFault | undefined {
    for (const active of this.faults) {
      const { fault } = active;
      if (active.remaining <= 0) continue;
      if (fault.method !== undefined && fault.method !== method) continue;
      if (fault.owner !== undefined && fault.owner.toLowerCase() !== owner?.toLowerCase()) continue;
      if (fault.probability !== undefined && random() >= fault.probability) continue;
      active.remaining -= 1;
      this.faults = this.faults.filter((f) => f.remaining > 0);
      return fault;
    }
    return undefined;
  }
}
