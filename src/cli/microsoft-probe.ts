import type { Config } from '../config';
import { proxyDispatcher } from '../lib/outbound-proxy';
import { createMicrosoftCalendar, readClientCertificate, type MicrosoftCalendar } from '../microsoft/microsoft-calendar';
import { CliError } from './io';

/**
 * The Microsoft 365 side of a live configuration (CALENDAR_PROVIDER=microsoft with MICROSOFT_* credentials), as the
 * daemon would build it: the certificate read and checked, Graph and Entra through the outbound proxy. The
 * sandbox has no real mailboxes to ask.
 */
export function liveMicrosoft(config: Config): MicrosoftCalendar {
  const ms = config.microsoft;
  if (config.calendarProvider !== 'microsoft' || ms.mode !== 'live') {
    throw new CliError('MICROSOFT_TENANT_ID and MICROSOFT_CLIENT_ID are not set: there are no real mailboxes to ask (the daemon would run its Microsoft 365 sandbox)');
  }
  let credential: Parameters<typeof createMicrosoftCalendar>[0]['credential'];
  try {
    credential = ms.credential.kind === 'secret' ? ms.credential : { kind: 'certificate', ...readClientCertificate(ms.credential.file) };
  } catch (err) {
    throw new CliError((err as Error).message.replace(/^invalid configuration: /, ''));
  }
  return createMicrosoftCalendar({
    tenantId: ms.tenantId,
    clientId: ms.clientId,
    credential,
    graphUrl: ms.graphUrl,
    loginUrl: ms.loginUrl,
    dispatcher: proxyDispatcher(config.outboundProxy),
    timeoutMs: 15_000,
    retry: { attempts: 2 },
  });
}
