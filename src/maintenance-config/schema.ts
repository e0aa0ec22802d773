import { IANAZone } from 'luxon';
import { z } from 'zod';
import { unknownPlaceholders, TEMPLATE_PLACEHOLDERS } from '../domain/event-template';
import { applyOverride, DEFAULT_MAINTENANCE_RULES, type MaintenanceConfig, type MaintenanceRules, type MaintenanceRulesOverride } from '../domain/maintenance-rules';
import { rruleProblem } from '../domain/rrule-days';

const rrule = z.string().superRefine((value, ctx) => {
  const problem = rruleProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const hhmm = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'must be "HH:mm" (00:00–24:00)');

const ianaZone = z.string().refine((zone) => IANAZone.isValidZone(zone), { message: 'must be an IANA time zone (e.g. "Europe/Zurich")' });

const localDate = z.string().refine((d) => /^\d{4}-\d{2}-\d{2}$/.test(d) && new Date(`${d}T00:00:00Z`).toISOString().slice(0, 10) === d, {
  message: 'must be a real date "yyyy-MM-dd"',
});

const httpUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL' },
);

const description = z
  .string()
  .max(8000)
  .superRefine((template, ctx) => {
    const unknown = unknownPlaceholders(template);
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown placeholder ${unknown.map((u) => `{{${u}}}`).join(', ')} (known: ${TEMPLATE_PLACEHOLDERS.map((p) => `{{${p}}}`).join(' ')})`,
      });
    }
  });

const override = z
  .object({
    window: z
      .object({ rrule, start: hhmm, end: hhmm, slot_minutes: z.number().int().min(1).max(1440) })
      .partial()
      .strict(),
    rebook_rrule: rrule,
    time_zone: z.string().refine((zone) => zone === 'owner' || IANAZone.isValidZone(zone), { message: 'must be "owner" or an IANA time zone' }),
    fallback_time_zone: ianaZone,
    blackout_dates: z.array(localDate),
    deadline_days: z.number().int().min(0).max(3650).nullable(),
    max_deferrals: z.number().int().min(0).max(1000).nullable(),
    resolution_webhook_url: httpUrl.nullable(),
    event: z
      .object({ title: z.string().trim().min(1).max(1024), description: description.nullable() })
      .partial()
      .strict(),
  })
  .partial()
  .strict();

const scopes = z.record(z.string(), override.nullable().transform((o) => o ?? {})).superRefine((record, ctx) => {
  for (const key of Object.keys(record)) {
    if (!/^\d+$/.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'must be a numeric id' });
  }
});

export const maintenanceFileSchema = z
  .object({ defaults: override.nullable(), teams: scopes.nullable(), policies: scopes.nullable() })
  .partial()
  .strict();

export type MaintenanceFile = z.infer<typeof maintenanceFileSchema>;

/** Problems of a resolved scope that no single field shows: start < end and at least one slot fitting. */
function windowProblem(rules: MaintenanceRules): string | null {
  const minutes = (t: string) => Number(t.slice(0, 2)) * 60 + Number(t.slice(3));
  const { start, end, slot_minutes } = rules.window;
  if (minutes(start) >= minutes(end)) return `start ${start} must be before end ${end}`;
  if (minutes(start) + slot_minutes > minutes(end)) return `no ${slot_minutes}-minute slot fits between ${start} and ${end}`;
  return null;
}

export interface Issue {
  path: string;
  message: string;
}

/** The file's parsed content, defaults filled in, or its issues (paths like "teams.5.window.rrule"). */
export function toMaintenanceConfig(data: unknown): { ok: true; config: MaintenanceConfig } | { ok: false; issues: Issue[] } {
  const parsed = maintenanceFileSchema.safeParse(data ?? {});
  if (!parsed.success) {
    return { ok: false, issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(file)', message: i.message })) };
  }
  const file = parsed.data;
  const defaults = applyOverride(DEFAULT_MAINTENANCE_RULES, (file.defaults ?? undefined) as MaintenanceRulesOverride | undefined);
  const teams = (file.teams ?? {}) as Record<string, MaintenanceRulesOverride>;
  const policies = (file.policies ?? {}) as Record<string, MaintenanceRulesOverride>;
  const issues: Issue[] = [];
  const check = (path: string, rules: MaintenanceRules) => {
    const problem = windowProblem(rules);
    if (problem && !issues.some((i) => i.path === path)) issues.push({ path, message: problem });
  };
  check('defaults.window', defaults);
  for (const [id, team] of Object.entries(teams)) check(`teams.${id}.window`, applyOverride(defaults, team));
  for (const [id, policy] of Object.entries(policies)) {
    check(`policies.${id}.window`, applyOverride(defaults, policy));
    for (const [teamId, team] of Object.entries(teams)) {
      const problem = windowProblem(applyOverride(applyOverride(defaults, team), policy));
      if (problem) issues.push({ path: `policies.${id}.window`, message: `with team ${teamId}: ${problem}` });
    }
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: { defaults, teams, policies } };
}
