import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { applyOverride, DEFAULT_MAINTENANCE_CONFIG, type MaintenanceConfig, type MaintenanceRules } from '../domain/maintenance-rules';
import { toMaintenanceConfig } from './schema';

/** A bad MAINTENANCE_CONFIG_FILE: `message` is one line naming the file and the path inside it. */
export class MaintenanceConfigError extends Error {
  override name = 'MaintenanceConfigError';
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/**
 * Parses the file's text (YAML; JSON is YAML too) into the configuration, defaults filled in. An empty file = the
 * defaults. Throws MaintenanceConfigError: "<file>: teams.5.window.rrule: must have FREQ …; <other path>: …".
 */
export function parseMaintenanceConfig(text: string, fileName: string): MaintenanceConfig {
  let data: unknown;
  try {
    data = parseYaml(text, { uniqueKeys: true, prettyErrors: true });
  } catch (error) {
    throw new MaintenanceConfigError(`${fileName}: not valid YAML/JSON: ${oneLine((error as Error).message)}`);
  }
  if (data !== null && data !== undefined && (typeof data !== 'object' || Array.isArray(data))) {
    throw new MaintenanceConfigError(`${fileName}: must be a mapping with defaults, teams and policies`);
  }
  const result = toMaintenanceConfig(data);
  if (!result.ok) throw new MaintenanceConfigError(`${fileName}: ${result.issues.map((i) => `${i.path}: ${oneLine(i.message)}`).join('; ')}`);
  return result.config;
}

/** The configuration from MAINTENANCE_CONFIG_FILE; unset or empty path → today's behaviour exactly. */
export function loadMaintenanceConfig(file: string | undefined, read: (path: string) => string = (p) => readFileSync(p, 'utf8')): MaintenanceConfig {
  if (file === undefined || file.trim() === '') return DEFAULT_MAINTENANCE_CONFIG;
  let text: string;
  try {
    text = read(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new MaintenanceConfigError(`${file}: cannot read the file${code ? ` (${code})` : ''}`);
  }
  return parseMaintenanceConfig(text, file);
}

export interface MaintenanceConfigView {
  file: string | null;
  defaults: MaintenanceRules;
  /** Each team's rules in force (defaults ← team), every field filled in. */
  teams: Record<string, MaintenanceRules>;
  /** Each policy's rules in force without a team (defaults ← policy); with a team, team fields apply under it. */
  policies: Record<string, MaintenanceRules>;
}

/** The configuration in force with defaults filled in, for GET /v1/maintenance-config. */
export function configInForce(config: MaintenanceConfig, file: string | null): MaintenanceConfigView {
  const fill = (scopes: MaintenanceConfig['teams']) =>
    Object.fromEntries(Object.entries(scopes).sort(([a], [b]) => Number(a) - Number(b)).map(([id, o]) => [id, applyOverride(config.defaults, o)]));
  return { file, defaults: config.defaults, teams: fill(config.teams), policies: fill(config.policies) };
}

/**
 * The configuration in force, re-read on demand (SIGHUP). An invalid reload keeps the old configuration and returns
 * the error; the caller logs it.
 */
export class MaintenanceConfigHolder {
  private config: MaintenanceConfig;

  constructor(
    readonly file: string | undefined,
    private readonly load: (file: string | undefined) => MaintenanceConfig = loadMaintenanceConfig,
  ) {
    this.config = load(file);
  }

  current(): MaintenanceConfig {
    return this.config;
  }

  reload(): { ok: true; config: MaintenanceConfig } | { ok: false; error: string } {
    try {
      this.config = this.load(this.file);
      return { ok: true, config: this.config };
    } catch (error) {
      return { ok: false, error: error instanceof MaintenanceConfigError ? error.message : `${this.file}: ${(error as Error).message}` };
    }
  }

  view(): MaintenanceConfigView {
    return configInForce(this.config, this.file ?? null);
  }
}
