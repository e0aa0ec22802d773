import type { DestinationStream } from 'pino';

/** A pino destination that keeps every line written to it, so a test can read what the daemon logged. */
export class LogCapture implements DestinationStream {
  private readonly lines: string[] = [];

  write(line: string): void {
    this.lines.push(line);
  }

  /** Everything logged so far, exactly as it would have reached stdout. */
  text(): string {
    return this.lines.join('');
  }

  records(): Array<Record<string, unknown>> {
    return this.lines.flatMap((chunk) => chunk.split('\n').filter((l) => l.trim() !== '')).map((l) => JSON.parse(l));
  }

  /** Log records at or above pino's level number (40 warn, 50 error). */
  atLeast(level: number): Array<Record<string, unknown>> {
    return this.records().filter((r) => typeof r.level === 'number' && r.level >= level);
  }
}
