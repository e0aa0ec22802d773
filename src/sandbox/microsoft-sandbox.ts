import { randomBytes, randomUUID } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Logger } from '../lib/logger';
import { GraphEmulator, seedDemoTenant } from './graph-emulator';
import type { SandboxCalendarView } from './sandbox';

/**
 * The Microsoft 365 sandbox (`CALENDAR_PROVIDER=microsoft` without MICROSOFT_* credentials): the project's Graph and
 * Entra emulator in this process (HTTPS with its own certificate authority, the real MSAL client-credentials flow),
 * an app registration made up for this run, and demo mailboxes (Windows zone names, one custom zone). Any other
 * address gets an empty mailbox on first use.
 */
export interface MicrosoftSandbox {
  emulator: GraphEmulator;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** MICROSOFT_GRAPH_URL's equivalent (Graph is under `v1.0/` of it) and MICROSOFT_LOGIN_URL's: the same server. */
  graphUrl: string;
  loginUrl: string;
  /** Trusts the emulator's certificate authority (and only it). */
  dispatcher: Dispatcher;
  mailboxes: string[];
  close(): Promise<void>;
}

export async function startMicrosoftSandbox(logger: Logger, now: () => number): Promise<MicrosoftSandbox> {
  // The daemon's notification URL is plain http on this machine: the emulator accepts that (Graph itself would not).
  const emulator = new GraphEmulator({ now, autoCreateMailboxes: true, allowHttpNotificationUrls: true, logger: logger.child({ component: 'sandbox-graph' }) });
  await emulator.listen();
  const clientId = randomUUID();
  const clientSecret = randomBytes(24).toString('base64url');
  emulator.registerApp({ clientId, secret: clientSecret });
  const mailboxes = seedDemoTenant(emulator, now());
  logger.info({ graphUrl: emulator.graphUrl, mailboxes }, 'sandbox Microsoft Graph emulator running');
  logger.warn(
    { microsoft: 'sandbox', calendars: 'in memory' },
    'SANDBOX: CALENDAR_PROVIDER=microsoft without MICROSOFT_TENANT_ID/MICROSOFT_CLIENT_ID, so the mailboxes are in memory (a Graph emulator in this process): no real calendar is booked and everything is lost at restart. Set the MICROSOFT_* variables for Microsoft 365 (NODE_ENV=production refuses to start without them)',
  );
  return {
    emulator,
    tenantId: emulator.tenantId,
    clientId,
    clientSecret,
    graphUrl: emulator.baseUrl,
    loginUrl: emulator.baseUrl,
    dispatcher: emulator.dispatcher,
    mailboxes,
    close: () => emulator.close(),
  };
}

/** The Microsoft 365 sandbox's view of a mailbox's calendar (times in UTC, as Graph answers without a zone preference). */
export function microsoftSandboxView(sandbox: MicrosoftSandbox): SandboxCalendarView {
  return (email) => {
    try {
      return sandbox.emulator.events(email, { immutableIds: true }).map((e) => ({
        id: e.id,
        status: e.isCancelled ? 'cancelled' : 'confirmed',
        summary: e.subject,
        start: e.start,
        end: e.end,
        description: e.body?.content,
      }));
    } catch {
      return []; // no such mailbox yet
    }
  };
}
