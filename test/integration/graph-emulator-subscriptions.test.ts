/**
 * Subscriptions through real HTTP: the validation handshake against a tiny local receiver (and its failures),
 * change notifications with clientState for API and owner changes, renewal, reauthorization, lifecycle events.
 */
import { dt, NotificationReceiver, startFixture, type Fixture, type Notification } from './graph-emulator-fixture';

const inMinutes = (m: number) => new Date(Date.now() + m * 60_000).toISOString();

describe('Graph emulator: subscriptions and notifications', () => {
  let f: Fixture;
  let receiver: NotificationReceiver;
  let aliceId: string;

  beforeAll(async () => {
    f = await startFixture({ validationTimeoutMs: 500 });
    aliceId = f.emulator.addMailbox('alice@contoso.com', { timeZone: 'Pacific Standard Time' }).id;
    f.emulator.addMailbox('bob@contoso.com');
    receiver = await new NotificationReceiver().start();
  });
  afterAll(async () => {
    await f.close();
    await receiver.stop();
  });
  beforeEach(() => {
    receiver.handshake = 'echo';
  });

  const subscribe = (overrides: Record<string, unknown> = {}, headers: Record<string, string> = {}) =>
    f.graph('POST', 'subscriptions', {
      headers,
      body: {
        changeType: 'created,updated,deleted',
        notificationUrl: receiver.notifyUrl,
        lifecycleNotificationUrl: receiver.lifecycleUrl,
        resource: 'users/alice@contoso.com/events',
        expirationDateTime: inMinutes(60),
        clientState: 'secret-client-state',
        ...overrides,
      },
    });

  const changeFor = (subscriptionId: string, changeType: string, eventId: string) => (n: Notification) =>
    n.path === '/notify' && n.body.value.some((v) => v.subscriptionId === subscriptionId && v.changeType === changeType && v.resourceData.id === eventId);

  it('validates the endpoints with the decoded token before answering 201', async () => {
    const before = receiver.validations.length;
    const res = await subscribe();
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      resource: 'users/alice@contoso.com/events',
      changeType: 'created,updated,deleted',
      clientState: 'secret-client-state',
      notificationUrl: receiver.notifyUrl,
      lifecycleNotificationUrl: receiver.lifecycleUrl,
      applicationId: expect.any(String),
      expirationDateTime: expect.any(String),
    });
    const tokens = receiver.validations.slice(before);
    expect(tokens).toHaveLength(2);
    expect(tokens[0]).toMatch(/^Validation: Testing client application reachability for subscription Request-Id: /);
    expect(f.emulator.subscriptions().map((s) => s.id)).toContain(res.body.id);
  });

  it.each([
    ['echoes the token still URL-encoded', 'echo-encoded', /must exactly match validationToken/],
    ['answers 500', 'status-500', /must respond with 200 OK/],
    ['answers JSON instead of text/plain', 'json', /text\/plain/],
    ['never answers', 'hang', /timed out/],
  ] as const)('refuses the subscription with 400 InvalidRequest when the receiver %s', async (_what, mode, message) => {
    receiver.handshake = mode;
    const count = f.emulator.subscriptions().length;
    const res = await subscribe();
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('InvalidRequest');
    expect(res.body.error.message).toMatch(message);
    expect(f.emulator.subscriptions()).toHaveLength(count);
  });

  it('refuses lifetimes beyond the maximum, long clientStates and unknown mailboxes', async () => {
    const tooFar = await subscribe({ expirationDateTime: inMinutes(10_081) });
    expect(tooFar).toMatchObject({ status: 400, body: { error: { code: 'ExtensionError', message: 'Subscription expiration can only be 10080 minutes in the future.' } } });
    expect((await subscribe({ clientState: 'x'.repeat(129) })).status).toBe(400);
    expect((await subscribe({ resource: 'users/ghost@contoso.com/events' })).status).toBe(404);
    expect((await subscribe({ changeType: 'created,moved' })).status).toBe(400);
  });

  it('posts created / updated / deleted notifications with clientState, for API and owner changes', async () => {
    const sub = (await subscribe()).body;
    const created = await f.graph('POST', 'users/alice@contoso.com/events', {
      body: { subject: 'Scheduled maintenance', start: dt('2026-12-08T09:00:00', 'Pacific Standard Time'), end: dt('2026-12-08T09:30:00', 'Pacific Standard Time') },
    });
    const id: string = created.body.id;
    const onCreate = await receiver.next(changeFor(sub.id, 'created', id));
    expect(onCreate.body.value[0]).toEqual({
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: expect.stringMatching(/\+00:00$/),
      changeType: 'created',
      resource: `Users/${aliceId}/Events/${id}`,
      resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': `Users/${aliceId}/Events/${id}`, '@odata.etag': `W/"${created.body.changeKey}"`, id },
      clientState: 'secret-client-state',
      tenantId: f.emulator.tenantId,
    });
    f.emulator.updateEventAsOwner('alice@contoso.com', id, { start: dt('2026-12-08T11:00:00', 'Pacific Standard Time'), end: dt('2026-12-08T11:30:00', 'Pacific Standard Time') });
    await receiver.next(changeFor(sub.id, 'updated', id));
    f.emulator.deleteEventAsOwner('alice@contoso.com', id);
    await receiver.next(changeFor(sub.id, 'deleted', id));
    // Changes of another mailbox are not notified on this subscription.
    f.emulator.addBusy('bob@contoso.com', '2026-12-08T10:00:00Z', '2026-12-08T11:00:00Z');
    await f.emulator.notificationsSettled();
    expect(receiver.received.filter((n) => n.body.value.some((v) => v.subscriptionId === sub.id && !v.resource.startsWith(`Users/${aliceId}/`)))).toEqual([]);
  });

  it('renews with PATCH (200, new expiration), refuses adding a lifecycle URL later, and stops on DELETE', async () => {
    const sub = (await subscribe({ lifecycleNotificationUrl: undefined })).body;
    const renewedTo = inMinutes(2 * 24 * 60);
    const renewed = await f.graph('PATCH', `subscriptions/${sub.id}`, { body: { expirationDateTime: renewedTo } });
    expect(renewed.status).toBe(200);
    expect(Date.parse(renewed.body.expirationDateTime)).toBe(Date.parse(renewedTo));
    expect((await f.graph('GET', `subscriptions/${sub.id}`)).body.expirationDateTime).toBe(renewed.body.expirationDateTime);
    const addLifecycle = await f.graph('PATCH', `subscriptions/${sub.id}`, { body: { lifecycleNotificationUrl: receiver.lifecycleUrl } });
    expect(addLifecycle.status).toBe(400);
    expect((await f.graph('DELETE', `subscriptions/${sub.id}`)).status).toBe(204);
    expect((await f.graph('GET', `subscriptions/${sub.id}`)).status).toBe(404);
    expect((await f.graph('DELETE', `subscriptions/${sub.id}`)).status).toBe(404);
    const event = f.emulator.addBusy('alice@contoso.com', '2026-12-09T10:00:00Z', '2026-12-09T11:00:00Z');
    await f.emulator.notificationsSettled();
    expect(receiver.received.some((n) => n.body.value.some((v) => v.subscriptionId === sub.id && v.resourceData?.id === event.id))).toBe(false);
  });

  it('sends lifecycle notifications; reauthorizationRequired pauses delivery until the app reauthorizes', async () => {
    const sub = (await subscribe()).body;
    f.emulator.sendLifecycleNotification(sub.id, 'reauthorizationRequired');
    const lifecycle = await receiver.next((n) => n.path === '/lifecycle' && n.body.value[0].subscriptionId === sub.id && n.body.value[0].lifecycleEvent === 'reauthorizationRequired');
    expect(lifecycle.body.value[0]).toEqual({
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: expect.any(String),
      tenantId: f.emulator.tenantId,
      clientState: 'secret-client-state',
      lifecycleEvent: 'reauthorizationRequired',
    });
    const whilePaused = f.emulator.addBusy('alice@contoso.com', '2026-12-10T10:00:00Z', '2026-12-10T11:00:00Z');
    await f.emulator.notificationsSettled();
    expect(receiver.received.some(changeFor(sub.id, 'created', whilePaused.id))).toBe(false);
    expect((await f.graph('POST', `subscriptions/${sub.id}/reauthorize`)).status).toBe(204);
    const after = f.emulator.addBusy('alice@contoso.com', '2026-12-10T12:00:00Z', '2026-12-10T13:00:00Z');
    await receiver.next(changeFor(sub.id, 'created', after.id));

    f.emulator.sendLifecycleNotification(sub.id, 'missed');
    await receiver.next((n) => n.path === '/lifecycle' && n.body.value[0].subscriptionId === sub.id && n.body.value[0].lifecycleEvent === 'missed');
    f.emulator.sendLifecycleNotification(sub.id, 'subscriptionRemoved');
    await receiver.next((n) => n.path === '/lifecycle' && n.body.value[0].subscriptionId === sub.id && n.body.value[0].lifecycleEvent === 'subscriptionRemoved');
    expect((await f.graph('GET', `subscriptions/${sub.id}`)).status).toBe(404);
  });

  it('uses immutable ids in notifications of a subscription created with Prefer: IdType="ImmutableId"', async () => {
    const sub = (await subscribe({}, { prefer: 'IdType="ImmutableId"' })).body;
    const event = f.emulator.addBusy('alice@contoso.com', '2026-12-11T10:00:00Z', '2026-12-11T11:00:00Z');
    const immutableId = f.emulator.eventIds('alice@contoso.com', event.id).immutableId;
    const n = await receiver.next(changeFor(sub.id, 'created', immutableId));
    expect(n.body.value[0].resource).toBe(`Users/${aliceId}/Events/${immutableId}`);
  });
});

describe('Graph emulator: notification URLs must be HTTPS by default', () => {
  it('refuses an http notificationUrl unless the emulator allows it', async () => {
    const f = await startFixture({ allowHttpNotificationUrls: false });
    try {
      f.emulator.addMailbox('alice@contoso.com');
      const res = await f.graph('POST', 'subscriptions', {
        body: { changeType: 'created', notificationUrl: 'http://127.0.0.1:9/notify', resource: 'users/alice@contoso.com/events', expirationDateTime: inMinutes(60), clientState: 'x' },
      });
      expect(res).toMatchObject({ status: 400, body: { error: { message: expect.stringMatching(/HTTPS/) } } });
    } finally {
      await f.close();
    }
  });
});
