/**
 * A Microsoft Graph (v1.0, calendar subset) and Entra ID emulator for tests and a future sandbox, modelled on
 * the Google Calendar emulator next door and driven through real clients (@azure/msal-node, undici fetch).
 * Facts it follows are in /work/shared/reference/microsoft-graph-calendar.md; guesses are marked VERIFY in code.
 *
 * Covers:
 * - HTTPS on a random port with a self-signed certificate (MSAL accepts only https authorities): trust
 *   `caCertificate`, or use `dispatcher` (undici) and `createMsalNetworkClient` from src/microsoft.
 * - Entra: POST /{tenant}/oauth2/v2.0/token, client credentials with a client secret or a certificate assertion
 *   (RS256 + x5t, PS256 + x5t#S256; aud = token URL, iss = sub = client id, exp), scope
 *   https://graph.microsoft.com/.default, Entra's error bodies (invalid_client, AADSTS codes); the OpenID
 *   configuration, JWKS and instance-discovery documents MSAL reads. Tokens are RS256 JWTs with roles.
 * - Graph: bearer token on every call (401 InvalidAuthenticationToken), application permissions (403),
 *   mailboxSettings (Windows, IANA or custom zones; workingHours), calendar/getSchedule (≤ 20 schedules,
 *   availabilityView, scheduleItems, per-mailbox errors, Prefer outlook.timezone), events create (transactionId
 *   de-duplication) / get / patch / delete (then 404 ErrorItemNotFound), calendarView with $skip paging,
 *   single-value extended properties ($expand, $filter … /Any(…)), showAs, isAllDay, isCancelled, body as HTML
 *   unless `Prefer: outlook.body-content-type="text"`, REST and immutable ids (`Prefer: IdType="ImmutableId"`,
 *   recorded per call; `moveEventAsExchange` changes an event's REST id, never its immutable id), calendarView/delta (skip/delta tokens, @removed, 410 SyncStateNotFound), subscriptions
 *   (real validation handshake, renew, delete, reauthorize, change and lifecycle notifications), faults (status,
 *   Retry-After, delay, hang) and the 4-requests-per-mailbox concurrency limit (429 ApplicationThrottled).
 *
 * Does not cover: recurring events and instances, attendees and invitations, other calendars than the default,
 * $batch, $select/$orderby, open extensions, translateExchangeIds, rich notifications (resource data), throttling
 * by request rate, the 3-day or 7-day caps per resource beyond one configurable maximum, deleted items kept in Deleted Items (a
 * deleted event is gone for both id kinds here), and ADFS / national clouds. Time zones are resolved with src/microsoft/windows-zones
 * (the same table the adapter uses, so a wrong mapping there would not be caught here).
 */
export { GraphEmulator } from './graph-emulator';
export { DEMO_MAILBOXES, seedDemoTenant } from './demo-tenant';
export { createSelfSignedCertificate, type SelfSignedCertificate } from './self-signed-certificate';
export { GRAPH_SCOPE, JWT_BEARER_ASSERTION } from './token-endpoint';
export type { AppOptions, GraphRole } from './app-registrations';
export type { MailboxOptions } from './mailbox-directory';
export type { LifecycleEvent } from './subscriptions';
export type {
  CustomTimeZone,
  DateTimeTimeZone,
  EmulatorLogger,
  FreeBusyStatus,
  GraphCall,
  GraphEmulatorOptions,
  GraphEvent,
  GraphFault,
  GraphMethod,
  NotificationRecord,
  OwnerEventInput,
  SubscriptionInfo,
  WorkingHours,
} from './types';
