import { Redis } from 'ioredis';
import type { Remediation, RemediationStatus } from '../../src/domain/remediation';
import type { RemediationRepository, StateWrite } from '../../src/services/ports';
import { RemediationStore } from '../../src/store/remediation-store';
import { InMemoryRemediationStore } from '../support/in-memory-remediation-store';
import { deletePrefix, TEST_REDIS_URL, uniquePrefix } from '../support/redis';

/** The Fleet sync's work lists (open remediations; fired windows to follow up) answer alike on both stores. */
const T0 = Date.parse('2026-11-23T10:00:00Z');
const END = '2026-11-24T09:30:00.000Z';

function rem(id: string, hostId: number, patch: Partial<Remediation> & { status: RemediationStatus }, createdOffsetMs = 0): Remediation {
  const at = new Date(T0 + createdOffsetMs).toISOString();
  return {
    id,
    host: { id: hostId, displayName: `Laptop ${hostId}`, serialNumber: `SN${hostId}`, teamId: 1 },
    email: 'dana@acme.com',
    policies: [{ id: 7, name: 'P' }],
    bookingNumber: 0,
    rebookCount: 0,
    createdAt: at,
    updatedAt: at,
    ...patch,
  };
}

const write = (r: Remediation, previousStatus: RemediationStatus | null = null): StateWrite => ({ remediation: r, previousStatus, events: [] });

const factories = [
  { name: 'InMemoryRemediationStore', make: async () => ({ store: new InMemoryRemediationStore() as RemediationRepository, close: async () => undefined }) },
  {
    name: 'RemediationStore (Redis, with Fleet)',
    make: async () => {
      const redis = new Redis(TEST_REDIS_URL);
      const prefix = uniquePrefix('fleet-index');
      return {
        store: new RemediationStore(redis, prefix, undefined, true) as RemediationRepository,
        close: async () => {
          redis.disconnect();
          await deletePrefix(prefix);
        },
      };
    },
  },
];

describe.each(factories)('Fleet sync indexes: $name', ({ make }) => {
  let store: RemediationRepository;
  let close: () => Promise<void>;
  beforeEach(async () => ({ store, close } = await make()));
  afterEach(async () => close());

  it('openIds: every open status, oldest first; a closed one leaves', async () => {
    await store.commit([write(rem('h2-1', 2, { status: 'booked' }, 2000)), write(rem('h1-1', 1, { status: 'unassigned' }, 1000)), write(rem('h3-1', 3, { status: 'fired', firedAt: END, end: END }))], T0);
    expect(await store.openIds()).toEqual(['h1-1', 'h2-1']);
    await store.commit([write(rem('h2-1', 2, { status: 'resolved' }, 2000), 'booked')], T0);
    expect(await store.openIds()).toEqual(['h1-1']);
  });

  it('firedUnchecked: windows that fired, by end, until followed up', async () => {
    const fired = rem('h4-1', 4, { status: 'fired', firedAt: '2026-11-24T09:00:00.000Z', start: '2026-11-24T09:00:00.000Z', end: END });
    await store.commit([write(fired, 'firing'), write(rem('h5-1', 5, { status: 'booked', end: END }))], T0);
    expect(await store.firedUnchecked(Date.parse(END) - 1, 10)).toEqual([]);
    expect((await store.firedUnchecked(Date.parse(END), 10)).map((r) => r.id)).toEqual(['h4-1']);
    await store.commit([write({ ...fired, fleetFollowedUpAt: END }, 'fired')], T0);
    expect(await store.firedUnchecked(Date.parse(END) + 3_600_000, 10)).toEqual([]);
  });
});
