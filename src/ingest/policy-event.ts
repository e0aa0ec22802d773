import { z } from 'zod';

/**
 * The ingest contract. The same JSON travels through HTTP (`POST /v1/policy-events`) and the `policy-events`
 * BullMQ queue (job name = type), so other producers can enqueue directly; the worker validates it again.
 */

// A missing field says so, whichever schema it belongs to.
z.config({
  customError: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : undefined),
});

/** An error message for a present-but-wrong value; a missing one "is required". */
const says = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : message);

const id = z.number({ error: says('must be a number') }).int('must be a whole number').positive('must be positive');
const text = (max: number) => z.string({ error: says('must be a string') }).max(max, `must be at most ${max} characters`);
const isoInstant = z.iso.datetime({ offset: true, error: says('must be an ISO-8601 date-time with a time zone offset') });

export const policyEventSchema = z.strictObject(
  {
    type: z.enum(['policy_failing', 'policy_passing'], { error: says('must be "policy_failing" or "policy_passing"') }),
    host: z.strictObject({
      id,
      display_name: text(500).optional(),
      hostname: text(500).optional(),
      serial_number: text(200).optional(),
      /** Owner emails in order of preference. Absent: looked up in Fleet (if configured). */
      emails: z.array(z.email({ error: says('must be an email address') }), { error: says('must be an array of emails') }).max(20).optional(),
      team_id: id.nullable().optional(),
    }),
    policy: z.strictObject({
      id,
      name: text(500).min(1, 'must not be empty'),
      description: text(10_000).nullable().optional(),
      resolution: text(10_000).nullable().optional(),
    }),
    occurred_at: isoInstant,
    /** "fleet" when the event came through Fleet's webhook route (the actor of what it causes). */
    source: z.enum(['fleet'], { error: says('must be "fleet" when present') }).optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown field ${issue.keys.join(', ')}` : says('must be an object')(issue)) },
);


export type PolicyEvent = z.infer<typeof policyEventSchema>;

const policyEventArraySchema = z.array(policyEventSchema).min(1, 'must not be empty').max(1000, 'must hold at most 1000 events');

export type ParseResult<T> = { ok: true; value: T } | { ok: false; field: string; message: string };

/** One event or an array of up to 1000 (validated separately so the error names the exact field). */
export function parsePolicyEvents(body: unknown): ParseResult<PolicyEvent[]> {
  if (Array.isArray(body)) {
    const r = policyEventArraySchema.safeParse(body);
    return r.success ? { ok: true, value: r.data } : { ok: false, ...describeIssue(r.error) };
  }
  const r = policyEventSchema.safeParse(body);
  return r.success ? { ok: true, value: [r.data] } : { ok: false, ...describeIssue(r.error) };
}

export function parseFleetFailingPolicies(body: unknown): ParseResult<FleetFailingPolicies> {
  const r = fleetFailingPoliciesSchema.safeParse(body);
  return r.success ? { ok: true, value: r.data } : { ok: false, ...describeIssue(r.error) };
}

/** Fleet's failing-policies automation webhook, exactly as a Fleet server POSTs it (extra fields allowed). */
export const fleetFailingPoliciesSchema = z.looseObject({
  timestamp: isoInstant,
  policy: z.looseObject({
    id,
    name: text(500).min(1, 'must not be empty'),
    description: text(10_000).nullable().optional(),
    resolution: text(10_000).nullable().optional(),
  }),
  hosts: z
    .array(
      z.looseObject({
        id,
        hostname: text(500).optional(),
        display_name: text(500).optional(),
        url: z.string().optional(),
      }),
    )
    .max(10_000),
});

export type FleetFailingPolicies = z.infer<typeof fleetFailingPoliciesSchema>;

/** Each host of Fleet's webhook becomes one policy_failing event; owner emails come from the Fleet API later. */
export function fleetWebhookToEvents(body: FleetFailingPolicies): PolicyEvent[] {
  return body.hosts.map((h) => ({
    type: 'policy_failing' as const,
    host: { id: h.id, display_name: h.display_name || h.hostname, hostname: h.hostname },
    policy: {
      id: body.policy.id,
      name: body.policy.name,
      description: body.policy.description ?? null,
      resolution: body.policy.resolution ?? null,
    },
    occurred_at: body.timestamp,
    source: 'fleet' as const,
  }));
}

/** First problem of a failed validation as "field.path: message" — what a 400 says. */
export function describeIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0];
  const field = issue.path.reduce<string>(
    (acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
    '',
  );
  return { field: field || '(body)', message: issue.message };
}

/** Stable identity of an event: the same event delivered twice has the same key. */
export function eventKey(e: PolicyEvent): string {
  return `${e.type}:${e.host.id}:${e.policy.id}:${Date.parse(e.occurred_at)}`;
}
