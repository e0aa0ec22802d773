/**
 * Change-notification subscriptions on a mailbox's events (resource `users/{id}/events`): create after the real
 * validation handshake (of notificationUrl and lifecycleNotificationUrl), renew with PATCH, DELETE, reauthorize;
 * change notifications when events change (through the API or the owner's own edits), and lifecycle notifications
 * (reauthorizationRequired pauses delivery until renewed or reauthorized; subscriptionRemoved ends the subscription;
 * missed) on demand.
 */
import { randomUUID } from 'node:crypto';
import { eventId } from './event-resource';
import type { ChangeType, StoredEvent } from './event-store';
import { expirationTooFar, invalidUser, mailboxNotEnabled, requestBodyRead, subscriptionInvalid, subscriptionNotFound } from './graph-errors';
import { utcStamp } from './graph-time';
import type { Mailbox, MailboxDirectory } from './mailbox-directory';
import type { NotificationDelivery } from './notification-delivery';
import type { SubscriptionInfo } from './types';
import { validateEndpoint } from './validation-handshake';

const CHANGE_TYPES = new Set(['created', 'updated', 'deleted']);
const RESOURCE = /^\/?(?:users\/([^/]+)\/(?:calendar\/)?events|me\/events)$/i;

export type LifecycleEvent = 'reauthorizationRequired' | 'missed' | 'subscriptionRemoved';

interface Subscription extends SubscriptionInfo {
  applicationId: string;
  creatorId: string;
  expiresMs: number;
  mailboxId: string;
}

export interface SubscriptionOptions {
  now: () => number;
  tenantId: string;
  maxMinutes: number;
  allowHttp: boolean;
  validationTimeoutMs: number;
}

export interface CallerInfo {
  clientId: string;
  servicePrincipalId: string;
}

export class Subscriptions {
  private readonly subs = new Map<string, Subscription>();

  constructor(
    private readonly directory: MailboxDirectory,
    private readonly delivery: NotificationDelivery,
    private readonly opts: SubscriptionOptions,
  ) {}

  async create(body: unknown, caller: CallerInfo, immutableIds: boolean): Promise<object> {
    if (typeof body !== 'object' || body === null) throw requestBodyRead('Empty Payload. JSON content expected.');
    const req = body as Record<string, unknown>;
    const changeType = String(req.changeType ?? '');
    const types = changeType.split(',').map((t) => t.trim());
    if (!changeType || !types.every((t) => CHANGE_TYPES.has(t))) throw subscriptionInvalid(`Invalid 'changeType' attribute: '${changeType}'.`);
    const resource = String(req.resource ?? '');
    const match = RESOURCE.exec(resource);
    if (!match) throw subscriptionInvalid(`Resource '${resource}' is not supported.`);
    if (match[1] === undefined) throw subscriptionInvalid("The 'me' segment is not supported with app-only authentication.");
    const mailbox = this.directory.get(match[1]);
    if (!mailbox) throw invalidUser(decodeURIComponent(match[1]));
    if (!mailbox.mailboxEnabled) throw mailboxNotEnabled();
    const notificationUrl = this.url(req.notificationUrl, 'notificationUrl');
    const lifecycleNotificationUrl = req.lifecycleNotificationUrl === undefined || req.lifecycleNotificationUrl === null ? null : this.url(req.lifecycleNotificationUrl, 'lifecycleNotificationUrl');
    const clientState = req.clientState === undefined || req.clientState === null ? null : String(req.clientState);
    if (clientState !== null && clientState.length > 128) throw subscriptionInvalid('clientState must be at most 128 characters long.');
    const expiresMs = this.expiration(req.expirationDateTime);
    for (const url of [notificationUrl, lifecycleNotificationUrl]) {
      if (url) await validateEndpoint(url, { timeoutMs: this.opts.validationTimeoutMs, dispatcher: this.delivery.dispatcher, signal: this.delivery.signal });
    }
    const sub: Subscription = {
      id: randomUUID(),
      resource,
      mailbox: mailbox.address,
      mailboxId: mailbox.id,
      changeType: types.join(','),
      notificationUrl,
      lifecycleNotificationUrl,
      clientState,
      expirationDateTime: new Date(expiresMs).toISOString(),
      expiresMs,
      paused: false,
      immutableIds,
      applicationId: caller.clientId,
      creatorId: caller.servicePrincipalId,
    };
    this.subs.set(sub.id, sub);
    return this.render(sub);
  }

  get(id: string): object {
    return this.render(this.find(id));
  }

  /** PATCH: renew (expirationDateTime) or change notificationUrl; lifecycleNotificationUrl cannot be added later. */
  async update(id: string, body: unknown): Promise<object> {
    const sub = this.find(id);
    if (typeof body !== 'object' || body === null) throw requestBodyRead('Empty Payload. JSON content expected.');
    const req = body as Record<string, unknown>;
    if (req.lifecycleNotificationUrl !== undefined && req.lifecycleNotificationUrl !== sub.lifecycleNotificationUrl) {
      throw subscriptionInvalid('lifecycleNotificationUrl can only be set when the subscription is created.');
    }
    if (req.notificationUrl !== undefined) {
      const url = this.url(req.notificationUrl, 'notificationUrl');
      await validateEndpoint(url, { timeoutMs: this.opts.validationTimeoutMs, dispatcher: this.delivery.dispatcher, signal: this.delivery.signal });
      sub.notificationUrl = url;
    }
    if (req.expirationDateTime !== undefined) {
      sub.expiresMs = this.expiration(req.expirationDateTime);
      sub.expirationDateTime = new Date(sub.expiresMs).toISOString();
      sub.paused = false;
    }
    return this.render(sub);
  }

  reauthorize(id: string): void {
    this.find(id).paused = false;
  }

  delete(id: string): void {
    this.find(id);
    this.subs.delete(id);
  }

  /** An event changed: every active, unpaused subscription on its mailbox that asked for this change type is told. */
  changed(mailbox: Mailbox, event: StoredEvent, change: ChangeType): void {
    for (const sub of this.active()) {
      if (sub.mailbox !== mailbox.address || sub.paused || !sub.changeType.split(',').includes(change)) continue;
      const id = eventId(event, sub.immutableIds);
      const path = `Users/${mailbox.id}/Events/${id}`;
      this.delivery.send(sub.notificationUrl, {
        value: [
          {
            subscriptionId: sub.id,
            subscriptionExpirationDateTime: this.stamp(sub.expiresMs),
            changeType: change,
            resource: path,
            resourceData: { '@odata.type': '#Microsoft.Graph.Event', '@odata.id': path, '@odata.etag': `W/"${event.changeKey}"`, id },
            clientState: sub.clientState,
            tenantId: this.opts.tenantId,
          },
        ],
      });
    }
  }

  /** Sends a lifecycle notification to the subscription's lifecycleNotificationUrl (test helper). */
  lifecycle(id: string, lifecycleEvent: LifecycleEvent): void {
    const sub = this.find(id);
    if (!sub.lifecycleNotificationUrl) throw new Error(`graph emulator: subscription ${id} has no lifecycleNotificationUrl`);
    if (lifecycleEvent === 'reauthorizationRequired') sub.paused = true;
    if (lifecycleEvent === 'subscriptionRemoved') this.subs.delete(id);
    this.delivery.send(sub.lifecycleNotificationUrl, {
      value: [
        {
          subscriptionId: sub.id,
          subscriptionExpirationDateTime: this.stamp(sub.expiresMs),
          tenantId: this.opts.tenantId,
          clientState: sub.clientState,
          lifecycleEvent,
        },
      ],
    });
  }

  list(): SubscriptionInfo[] {
    return this.active().map(({ id, resource, mailbox, changeType, notificationUrl, lifecycleNotificationUrl, clientState, expirationDateTime, paused, immutableIds }) => ({
      id, resource, mailbox, changeType, notificationUrl, lifecycleNotificationUrl, clientState, expirationDateTime, paused, immutableIds,
    }));
  }

  private active(): Subscription[] {
    const now = this.opts.now();
    for (const [id, sub] of this.subs) if (sub.expiresMs <= now) this.subs.delete(id);
    return [...this.subs.values()];
  }

  private find(id: string): Subscription {
    const sub = this.active().find((s) => s.id === id);
    if (!sub) throw subscriptionNotFound();
    return sub;
  }

  private url(value: unknown, field: string): string {
    let url: URL;
    try {
      url = new URL(String(value));
    } catch {
      throw subscriptionInvalid(`The value of '${field}' is not a valid URL.`);
    }
    if (url.protocol !== 'https:' && !(this.opts.allowHttp && url.protocol === 'http:')) {
      throw subscriptionInvalid(`The Notification Url must be HTTPS: '${field}'.`);
    }
    return url.toString();
  }

  private expiration(value: unknown): number {
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isNaN(ms)) throw subscriptionInvalid("'expirationDateTime' is required and must be a valid date-time.");
    const now = this.opts.now();
    if (ms <= now) throw subscriptionInvalid('Subscription expiration must be in the future.');
    if (ms > now + this.opts.maxMinutes * 60_000) {
      throw expirationTooFar(this.opts.maxMinutes);
    }
    return ms;
  }

  private stamp(ms: number): string {
    return utcStamp(ms).replace(/Z$/, '+00:00');
  }

  private render(sub: Subscription): object {
    return {
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity',
      id: sub.id,
      resource: sub.resource,
      applicationId: sub.applicationId,
      changeType: sub.changeType,
      clientState: sub.clientState,
      notificationUrl: sub.notificationUrl,
      notificationQueryOptions: null,
      lifecycleNotificationUrl: sub.lifecycleNotificationUrl,
      expirationDateTime: sub.expirationDateTime,
      creatorId: sub.creatorId,
      includeResourceData: null,
      latestSupportedTlsVersion: 'v1_2',
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
    };
  }
}
