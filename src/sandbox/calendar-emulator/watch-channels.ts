/**
 * Push channels on events collections: events.watch, channels.stop, and the notifications every change triggers
 * (`sync` once when a channel opens, then `exists` for each change of the watched calendar).
 */
import { apiError, invalid, notFound, required } from './google-errors';
import type { PushDelivery } from './push-delivery';
import type { ChannelInfo } from './types';
import type { UserCalendar } from './user-directory';

export interface ChannelResource {
  kind: 'api#channel';
  id: string;
  resourceId: string;
  resourceUri: string;
  token?: string;
  expiration: string;
}

interface Channel extends ChannelInfo {
  resourceUri: string;
  messages: number;
}

const MAX_TTL_S = 604_800;
const CHANNEL_ID = /^[A-Za-z0-9\-_+/=]{1,64}$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function ttlSeconds(params: unknown): number {
  const ttl = isObject(params) ? params.ttl : undefined;
  if (ttl === undefined) return MAX_TTL_S;
  const seconds = Number(ttl);
  if ((typeof ttl !== 'string' && typeof ttl !== 'number') || !Number.isInteger(seconds) || seconds < 0) throw invalid('Invalid value for: params.ttl');
  return Math.min(seconds, MAX_TTL_S);
}

function isWebAddress(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

export class WatchChannels {
  private readonly channels = new Map<string, Channel>();

  constructor(
    private readonly delivery: PushDelivery,
    private readonly now: () => number,
  ) {}

  /** events.watch on a calendar (`calendarId` as the request named it, for the resource URI). */
  watch(calendar: UserCalendar, calendarId: string, body: unknown): ChannelResource {
    const req = isObject(body) ? body : {};
    const { id, type, address, token } = req;
    if (id === undefined || id === '') throw required('Required parameter: id');
    if (typeof id !== 'string' || !CHANNEL_ID.test(id)) throw invalid('Invalid value for: id');
    if (type !== 'web_hook' && type !== 'webhook') throw invalid(`Unknown channel type: ${String(type)}`);
    if (address === undefined || address === '') throw required('Required parameter: address');
    if (typeof address !== 'string' || !isWebAddress(address)) throw invalid(`Invalid value for: address`);
    if (token !== undefined && (typeof token !== 'string' || token.length > 256)) throw invalid('Invalid value for: token');
    const now = this.now();
    const existing = this.channels.get(id);
    if (existing && this.isActive(existing, now)) throw apiError(400, 'channelIdNotUnique', 'Channel id not unique');
    let expiration = now + ttlSeconds(req.params) * 1000;
    const requested = req.expiration === undefined ? undefined : Number(req.expiration);
    if (requested !== undefined && Number.isFinite(requested) && requested > now) expiration = Math.min(expiration, requested);

    const channel: Channel = {
      id,
      resourceId: calendar.resourceId,
      owner: calendar.email,
      address,
      expiration,
      resourceUri: `https://www.googleapis.com/calendar/v3/calendars/${encodeURIComponent(calendarId)}/events?alt=json`,
      messages: 0,
      ...(typeof token === 'string' && { token }),
    };
    this.channels.set(id, channel);
    this.notifyChannel(channel, 'sync');
    return {
      kind: 'api#channel',
      id,
      resourceId: channel.resourceId,
      resourceUri: channel.resourceUri,
      ...(channel.token !== undefined && { token: channel.token }),
      expiration: String(expiration),
    };
  }

  /** channels.stop: 404 notFound unless an active channel has this id and resourceId. */
  stop(body: unknown): void {
    const req = isObject(body) ? body : {};
    if (typeof req.id !== 'string' || !req.id) throw required('Required parameter: id');
    const channel = this.channels.get(req.id);
    if (!channel || !this.isActive(channel, this.now()) || (req.resourceId !== undefined && req.resourceId !== channel.resourceId)) throw notFound();
    this.channels.delete(req.id);
  }

  /** A change of this calendar: every active channel on it gets an `exists` notification. */
  changed(calendar: UserCalendar): void {
    const now = this.now();
    for (const channel of this.channels.values()) {
      if (channel.owner === calendar.email && this.isActive(channel, now)) this.notifyChannel(channel, 'exists');
    }
  }

  active(): ChannelInfo[] {
    const now = this.now();
    return [...this.channels.values()]
      .filter((c) => this.isActive(c, now))
      .map(({ id, resourceId, owner, address, token, expiration }) => ({ id, resourceId, owner, address, expiration, ...(token !== undefined && { token }) }));
  }

  private isActive(channel: Channel, now: number): boolean {
    return channel.expiration > now;
  }

  private notifyChannel(channel: Channel, state: 'sync' | 'exists'): void {
    channel.messages += 1;
    this.delivery.send({
      channelId: channel.id,
      token: channel.token,
      expiration: channel.expiration,
      messageNumber: channel.messages,
      resourceId: channel.resourceId,
      resourceUri: channel.resourceUri,
      state,
      address: channel.address,
    });
  }
}
