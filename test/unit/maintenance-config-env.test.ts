import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';

describe('MAINTENANCE_CONFIG_FILE in loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mw-config-env-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('unset: no file, today’s rules', () => {
    expect(loadConfig({}).maintenanceConfigFile).toBeUndefined();
    expect(loadConfig({ MAINTENANCE_CONFIG_FILE: '  ' }).maintenanceConfigFile).toBeUndefined();
  });

  it('a valid file is kept by name', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'teams:\n  "5": { window: { rrule: "FREQ=WEEKLY;BYDAY=TH" } }\n');
    expect(loadConfig({ MAINTENANCE_CONFIG_FILE: file }).maintenanceConfigFile).toBe(file);
  });

  it('a bad file is a configuration error naming the file and the path inside it, with the other problems', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'teams:\n  "5": { window: { rrule: "FREQ=SOMETIMES" } }\n');
    let error: unknown;
    try {
      loadConfig({ MAINTENANCE_CONFIG_FILE: file, PORT: 'x' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.problems.map((p) => p.variable).sort()).toEqual(['MAINTENANCE_CONFIG_FILE', 'PORT']);
    expect(e.message).toContain(`MAINTENANCE_CONFIG_FILE ${file}: teams.5.window.rrule:`);
    expect(e.message.split('\n')).toHaveLength(1);
  });
});
