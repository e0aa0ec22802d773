import { z } from 'zod';
import { invalidInput } from './errors';

/** Query-string and body pieces shared by the routes. */

export const positiveIntParam = z.coerce.number({ error: 'must be a number' }).int('must be a whole number').positive('must be positive');

export const limitParam = (max: number) =>
  z.coerce.number({ error: 'must be a number' }).int('must be a whole number').min(1, 'must be at least 1').max(max, `must be at most ${max}`);

export const isoInstantParam = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time with a time zone offset' });

export const remediationIdParam = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a remediation id like h42-1');

export const strictQuery = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `unknown parameter ${issue.keys.join(', ')}` : 'must be an object'),
  });

/** Parses or throws a 400 naming the field (`where` names the whole input when no field is at fault). */
export function parseOr400<T>(schema: z.ZodType<T>, input: unknown, where: string): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.length ? issue.path.map(String).join('.') : where;
  throw invalidInput(field, issue.message);
}
