import fc from 'fast-check';

/**
 * fast-check generators of hostile and broken input for the HTTP endpoints: valid ingest bodies, the same with one
 * field broken (and whether that is surely invalid, and which field a 400 must name), raw bodies with assorted
 * content types, Authorization headers.
 */

type Json = unknown;
export type Path = Array<string | number>;

/** Marks a mutation that deletes the field. */
export const REMOVE = Symbol('remove');

export interface Mutation {
  path: Path;
  value: Json | typeof REMOVE;
  /** True when no schema may accept this: the answer must be 400 naming `field`. */
  invalid: boolean;
  /** The field a 400 names (for an unknown key: the object that holds it). */
  field: Path;
}

/** "host.emails[0]": how a 400 names a path; the body itself is "(body)". */
export function fieldName(path: Path): string {
  const name = path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
  return name || '(body)';
}

/** A copy of `value` with the mutation applied (objects are cloned along the path). */
export function applyMutation(value: Json, path: Path, replacement: Json | typeof REMOVE): Json {
  if (path.length === 0) return replacement === REMOVE ? undefined : replacement;
  const [head, ...rest] = path;
  const base = value ?? (typeof head === 'number' ? [] : {});
  const copy = (Array.isArray(base) ? [...base] : { ...(base as object) }) as Record<string | number, Json>;
  const child = applyMutation(copy[head], rest, replacement);
  if (rest.length === 0 && replacement === REMOVE) delete copy[head];
  else defineOwn(copy, head, child);
  return copy;
}

/** Sets an own property even for "__proto__" (plain assignment would change the prototype instead). */
function defineOwn(target: object, key: string | number, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** JSON-parsed, so "__proto__" and "constructor" are own keys, exactly as a client's bytes arrive. */
export const POLLUTION: Json[] = [
  JSON.parse('{"__proto__":{"polluted":"yes"}}'),
  JSON.parse('{"constructor":{"prototype":{"polluted":"yes"}}}'),
  JSON.parse('{"a":{"__proto__":{"polluted":"yes"}}}'),
  JSON.parse('[{"__proto__":{"polluted":"yes"}}]'),
  JSON.parse('{"__proto__":{"display_name":"polluted","hostname":"polluted","emails":["polluted@acme.com"],"description":"polluted"}}'),
];

/** A value nested `depth` levels deep in arrays or objects. */
export function nested(depth: number, inObjects: boolean): Json {
  let value: Json = 'bottom';
  for (let i = 0; i < depth; i++) value = inObjects ? { x: value } : [value];
  return value;
}

const ownerEmail = fc.stringMatching(/^[a-z][a-z0-9]{0,9}$/).map((local) => `${local}@acme.com`);
const instant = fc
  .date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const positiveId = fc.integer({ min: 1, max: 1_000_000 });
const shortText = fc.string({ maxLength: 30 });

export const validPolicyEvent = fc.record({
  type: fc.constantFrom('policy_failing', 'policy_passing'),
  host: fc.record(
    {
      id: positiveId,
      display_name: shortText,
      serial_number: shortText,
      emails: fc.array(ownerEmail, { maxLength: 3 }),
      team_id: fc.option(positiveId, { nil: null }),
    },
    { requiredKeys: ['id'] },
  ),
  policy: fc.record(
    {
      id: positiveId,
      name: fc.string({ minLength: 1, maxLength: 30 }),
      description: fc.option(shortText, { nil: null }),
      resolution: fc.option(shortText, { nil: null }),
    },
    { requiredKeys: ['id', 'name'] },
  ),
  occurred_at: instant,
});

export const validFleetWebhook = fc.record({
  timestamp: instant,
  policy: fc.record({ id: positiveId, name: fc.string({ minLength: 1, maxLength: 30 }), query: shortText, critical: fc.boolean() }),
  hosts: fc.array(fc.record({ id: positiveId, hostname: shortText, display_name: shortText, url: shortText }), { minLength: 1, maxLength: 8 }),
});

/** Values no field of ours accepts in place of a number id. */
const notAnId = fc.oneof(
  fc.constantFrom(0, -1, -42, 1.5, -0.25, 1e-9, '42', '', true, null, [], {}, [1]),
  fc.integer({ max: 0 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)),
  fc.string(),
);
/** Values no text field accepts. */
const notText = fc.oneof(fc.constantFrom(0, -1, 1.5, true, [], {}, ['a']), fc.integer(), fc.array(fc.string(), { minLength: 1, maxLength: 3 }));
/** Anything at all, for fields where some values are fine (the schema decides; no 5xx either way). */
const anyValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.string({ unit: 'binary', maxLength: 50 }),
  fc.constantFrom(...POLLUTION),
  fc.integer({ min: 25, max: 3000 }).map((depth) => nested(depth, depth % 2 === 0)),
  fc.integer({ min: 1, max: 30_000 }).map((n) => 'é'.repeat(n)),
);
const badInstant = fc.oneof(
  fc.constantFrom('2026-13-45T00:00:00Z', '2026-11-22T10:00:00', '2026-11-22', 'yesterday', '', 'NaN', '2026-11-22T25:61:00Z', '+275760-09-13T00:00:00Z'),
  // Days that do not exist (Date.parse would roll them over into March or May).
  fc.constantFrom('2026-02-29T10:00:00Z', '2026-02-30T10:00:00Z', '2026-04-31T00:00:00Z'),
  fc.integer(),
);
/** Unusual but real instants: either answer is fine, never a 5xx. */
const oddInstant = fc.constantFrom('2024-02-29T10:00:00Z', '1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999999+14:00', '2026-11-22T10:00:00.1234567-00:30');

const oneOf = <T>(...items: Array<fc.Arbitrary<T>>) => fc.oneof(...items);
const invalid = (path: Path, value: fc.Arbitrary<Json | typeof REMOVE>, field: Path = path) =>
  value.map((v): Mutation => ({ path, value: v, invalid: true, field }));
const either = (path: Path, value: fc.Arbitrary<Json>) => value.map((v): Mutation => ({ path, value: v, invalid: false, field: path }));
const huge = (max: number) => fc.integer({ min: max + 1, max: max + 5000 }).map((n) => 'x'.repeat(n));
const unknownKey = (at: Path) =>
  fc
    .tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'extra', 'ID', 'hostId'), anyValue)
    .map(([key, value]): Mutation => ({ path: [...at, key], value, invalid: true, field: at }));

/** One broken field of a policy event (strict schema: unknown keys are rejected). */
export const policyEventMutation: fc.Arbitrary<Mutation> = oneOf(
  invalid(['type'], fc.oneof(fc.string().filter((s) => s !== 'policy_failing' && s !== 'policy_passing'), notText, fc.constant(REMOVE))),
  invalid(['host'], fc.oneof(fc.constantFrom(REMOVE, null, 42, 'host', [] as Json)), ['host']),
  invalid(['host', 'id'], fc.oneof(notAnId, fc.constant(REMOVE))),
  either(['host', 'id'], fc.constantFrom(2 ** 53, 2 ** 53 + 2, 1e21, Number.MAX_SAFE_INTEGER)),
  invalid(['host', 'display_name'], fc.oneof(notText, huge(500))),
  invalid(['host', 'serial_number'], fc.oneof(notText, huge(200))),
  invalid(['host', 'emails'], fc.oneof(fc.constantFrom('a@acme.com', 42, {}), fc.constant(Array.from({ length: 21 }, (_, i) => `u${i}@acme.com`)))),
  invalid(['host', 'emails', 0], fc.constantFrom('not-an-email', 'x@', '@acme.com', 42, null, 'a b@acme.com')),
  invalid(['host', 'team_id'], notAnId.filter((v) => v !== null)),
  invalid(['policy'], fc.constantFrom(REMOVE, null, 7, 'policy', [] as Json)),
  invalid(['policy', 'id'], fc.oneof(notAnId, fc.constant(REMOVE))),
  invalid(['policy', 'name'], fc.oneof(notText, huge(500), fc.constant(''), fc.constant(REMOVE))),
  invalid(['policy', 'description'], fc.oneof(notText, huge(10_000))),
  invalid(['policy', 'resolution'], fc.oneof(notText, huge(10_000))),
  invalid(['occurred_at'], fc.oneof(badInstant, fc.constant(REMOVE))),
  either(['occurred_at'], oddInstant),
  either(['host', 'display_name'], anyValue),
  either(['policy', 'description'], anyValue),
  either(['host', 'emails'], anyValue),
  unknownKey([]),
  unknownKey(['host']),
  unknownKey(['policy']),
);

/** One broken field of Fleet's webhook (loose schema: extra keys are allowed, so those are "either"). */
export const fleetWebhookMutation: fc.Arbitrary<Mutation> = oneOf(
  invalid(['timestamp'], fc.oneof(badInstant, fc.constant(REMOVE))),
  invalid(['policy'], fc.constantFrom(REMOVE, null, 7, 'policy', [] as Json)),
  invalid(['policy', 'id'], fc.oneof(notAnId, fc.constant(REMOVE))),
  invalid(['policy', 'name'], fc.oneof(notText, huge(500), fc.constant(''), fc.constant(REMOVE))),
  invalid(['hosts'], fc.constantFrom(REMOVE, null, {}, 'hosts', 1)),
  invalid(['hosts', 0], fc.constantFrom(null, 1, 'host', [] as Json)),
  invalid(['hosts', 0, 'id'], fc.oneof(notAnId, fc.constant(REMOVE))),
  invalid(['hosts', 0, 'hostname'], fc.oneof(notText, huge(500))),
  either(['timestamp'], oddInstant),
  either(['hosts', 0, 'url'], anyValue),
  either(['policy', 'critical'], anyValue),
  either(['__proto__'], anyValue),
  either(['constructor'], anyValue),
  either(['hosts', 0, '__proto__'], anyValue),
  either(['extra'], fc.integer({ min: 100, max: 3000 }).map((d) => nested(d, true))),
);

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; utf-8',
  'APPLICATION/JSON',
  'text/plain',
  'text/plain; charset=latin1',
  'multipart/form-data; boundary=XyZ',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'application/jsonx',
  'json',
  ';;;',
];

export interface RawRequest {
  contentType?: string;
  body: string | Buffer;
}

/** Raw bytes with assorted (or no) content types: truncated JSON, binary, multipart, plain text. */
export const rawRequest: fc.Arbitrary<RawRequest> = fc.record(
  {
    contentType: fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 })),
    body: fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      validPolicyEvent.chain((e) => {
        const text = JSON.stringify(e);
        return fc.integer({ min: 0, max: text.length - 1 }).map((cut) => text.slice(0, cut));
      }),
      fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
      fc.constant('--XyZ\r\nContent-Disposition: form-data; name="event"\r\n\r\n{"type":"policy_failing"}\r\n--XyZ--\r\n'),
      fc.constantFrom('{"a":1}{"b":2}', '\uFEFF{}', '[]', 'null', '   ', '\u0000', '{"__proto__":{"polluted":"yes"}}', 'a=1&b=2'),
    ),
  },
  { requiredKeys: ['body'] },
);

/** Authorization headers: absent, near misses of the token, other schemes, garbage, huge. */
export function authorizationHeader(token: string): fc.Arbitrary<string | undefined> {
  const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });
  return fc.oneof(
    fc.constant(undefined),
    fc.constantFrom(`Bearer ${token}`, `bearer ${token}`, `BEARER ${token}`),
    fc.constantFrom(`Bearer ${token} `, `Bearer  ${token}`, `Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, `Bearer ${token.toUpperCase()}`, token, `Basic ${token}`, 'Bearer', 'Bearer ', ''),
    fc.integer({ min: 0, max: token.length - 1 }).map((i) => `Bearer ${token.slice(0, i)}${token[i] === 'a' ? 'b' : 'a'}${token.slice(i + 1)}`),
    printable.map((s) => `Bearer ${s}`),
    printable,
    fc.integer({ min: 1000, max: 20_000 }).map((n) => `Bearer ${'t'.repeat(n)}`),
  );
}

/** Whether an Authorization header carries the ingest token (the scheme is case-insensitive, nothing else is). */
export function carriesToken(header: string | undefined, token: string): boolean {
  return header !== undefined && /^bearer $/i.test(header.slice(0, 7)) && header.slice(7) === token;
}
