/** The emulator's public types: Graph's resource shapes it answers and the test-control vocabulary. */

export type GraphMethod =
  | 'token'
  | 'openid-configuration'
  | 'instance-discovery'
  | 'jwks'
  | 'mailboxSettings.get'
  | 'calendar.getSchedule'
  | 'events.list'
  | 'events.create'
  | 'events.get'
  | 'events.update'
  | 'events.delete'
  | 'calendarView.list'
  | 'calendarView.delta'
  | 'subscriptions.create'
  | 'subscriptions.get'
  | 'subscriptions.update'
  | 'subscriptions.reauthorize'
  | 'subscriptions.delete';

/** One request the emulator answered (or gave up on when it closed). */
export interface GraphCall {
  method: GraphMethod;
  /** The mailbox's primary SMTP address (lower case), when the request names one that exists. */
  mailbox?: string;
  status: number;
  at: number;
  /** The request carried `Prefer: IdType="ImmutableId"`. */
  immutableIds: boolean;
  /** The zone of `Prefer: outlook.timezone`, when sent. */
  preferTimeZone?: string;
  clientRequestId?: string;
}

/**
 * A failure to inject. Matches by method (none = every method, token endpoint included) and mailbox.
 * `status` >= 400 answers Graph's error (Entra's at the token endpoint) after `delayMs`; a status below 400 only
 * delays the request, which is then served. `hang` never answers (until the client gives up or the emulator closes).
 */
export interface GraphFault {
  method?: GraphMethod;
  mailbox?: string;
  status?: number;
  code?: string;
  message?: string;
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
  delayMs?: number;
  hang?: boolean;
  /** How many matching requests fail; unlimited until clearFaults() when absent. */
  times?: number;
}

export interface DateTimeTimeZone {
  dateTime: string;
  timeZone: string;
}

export type FreeBusyStatus = 'free' | 'tentative' | 'busy' | 'oof' | 'workingElsewhere' | 'unknown';

export interface CustomTimeZone {
  '@odata.type': '#microsoft.graph.customTimeZone';
  name: string;
  bias: number;
  standardOffset?: Record<string, unknown>;
  daylightOffset?: Record<string, unknown>;
}

export interface WorkingHours {
  daysOfWeek: string[];
  startTime: string;
  endTime: string;
  timeZone: { name: string } | CustomTimeZone;
}

/** An event as Graph answers it (the properties the emulator keeps; others are Graph's defaults). */
export interface GraphEvent {
  '@odata.etag': string;
  id: string;
  createdDateTime: string;
  lastModifiedDateTime: string;
  changeKey: string;
  categories: string[];
  transactionId: string | null;
  originalStartTimeZone: string;
  originalEndTimeZone: string;
  iCalUId: string;
  reminderMinutesBeforeStart: number;
  isReminderOn: boolean;
  hasAttachments: boolean;
  subject: string;
  bodyPreview: string;
  importance: 'low' | 'normal' | 'high';
  sensitivity: 'normal' | 'personal' | 'private' | 'confidential';
  isAllDay: boolean;
  isCancelled: boolean;
  isOrganizer: boolean;
  responseRequested: boolean;
  seriesMasterId: null;
  showAs: FreeBusyStatus;
  type: 'singleInstance';
  webLink: string;
  onlineMeetingUrl: null;
  isOnlineMeeting: boolean;
  onlineMeetingProvider: 'unknown';
  allowNewTimeProposals: boolean;
  isDraft: boolean;
  hideAttendees: boolean;
  responseStatus: { response: string; time: string };
  body: { contentType: 'text' | 'html'; content: string };
  start: DateTimeTimeZone;
  end: DateTimeTimeZone;
  location: { displayName: string; locationType: 'default'; uniqueIdType: 'unknown'; address: Record<string, never>; coordinates: Record<string, never> };
  locations: unknown[];
  recurrence: null;
  attendees: unknown[];
  organizer: { emailAddress: { name: string; address: string } };
  onlineMeeting: null;
  singleValueExtendedProperties?: Array<{ id: string; value: string }>;
}

/** What a test (or the sandbox) gives to create an event as the owner would in Outlook. */
export interface OwnerEventInput {
  subject?: string;
  start: DateTimeTimeZone;
  end: DateTimeTimeZone;
  showAs?: FreeBusyStatus;
  isAllDay?: boolean;
  isCancelled?: boolean;
  body?: { contentType: 'text' | 'html'; content: string };
  singleValueExtendedProperties?: Array<{ id: string; value: string }>;
}

export interface EmulatorLogger {
  info(o: object, msg?: string): void;
  warn(o: object, msg?: string): void;
  debug?(o: object, msg?: string): void;
}

export interface GraphEmulatorOptions {
  /** The world's time (epoch ms): event stamps, subscription expirations. Default Date.now. */
  now?: () => number;
  /** Clock of token lifetimes and assertion checks (MSAL signs on the real clock). Default Date.now. */
  authNow?: () => number;
  /** The tenant (directory) id; default a fixed GUID. */
  tenantId?: string;
  /** The tenant's initial domain, also accepted in token URLs; default "contoso.onmicrosoft.com". */
  tenantDomain?: string;
  /** Concurrent requests per mailbox before 429 MailboxConcurrency (Outlook: 4). */
  mailboxConcurrencyLimit?: number;
  /** getSchedule's documented limit is 20 (users have seen a server allowing 100). */
  maxSchedules?: number;
  /** Longest subscription on events, in minutes. CONFLICT in the docs: 4230 (older) or 10080 (current); default 10080. */
  maxSubscriptionMinutes?: number;
  /** The sandbox: an unknown SMTP address is a new, empty mailbox in UTC on first use (a removed one stays gone). Default false. */
  autoCreateMailboxes?: boolean;
  /** Graph requires https notification URLs; tests with a plain-HTTP receiver set this. Default false. */
  allowHttpNotificationUrls?: boolean;
  /** Time a receiver has to answer the validation handshake (Graph: 10 s). */
  validationTimeoutMs?: number;
  /** Extra CA certificates (PEM) to trust for https notification URLs (a test receiver's self-signed one). */
  notificationCa?: string[];
  logger?: EmulatorLogger;
}

export interface SubscriptionInfo {
  id: string;
  resource: string;
  mailbox: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  expirationDateTime: string;
  /** Notifications are held back until the subscription is reauthorized (after reauthorizationRequired). */
  paused: boolean;
  immutableIds: boolean;
}

/** A notification POST the emulator made (change or lifecycle), with the receiver's answer. */
export interface NotificationRecord {
  url: string;
  body: { value: Array<Record<string, unknown>> };
  status: number | 'error';
  at: number;
}
