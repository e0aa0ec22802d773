/** GET /users/{id}/mailboxSettings (and its timeZone / workingHours segments), shaped as Graph answers them. */
import type { Mailbox } from './mailbox-directory';
import { unknownSegment } from './graph-errors';

const CONTEXT = 'https://graph.microsoft.com/v1.0/$metadata';

export function mailboxSettings(mailbox: Mailbox, segment?: string): object {
  const context = `${CONTEXT}#users('${encodeURIComponent(mailbox.address)}')/mailboxSettings`;
  if (segment === 'timeZone') return { '@odata.context': `${context}/timeZone`, value: mailbox.timeZoneName };
  if (segment === 'workingHours') return { '@odata.context': `${context}/workingHours`, ...structuredClone(mailbox.workingHours) };
  if (segment !== undefined) throw unknownSegment(segment);
  return {
    '@odata.context': context,
    archiveFolder: 'AQMkADAwATM0MDAAMS1iNTcwLWI2NTEtMDACLTAwCgAuAAADxvYR4AAAAA==',
    timeZone: mailbox.timeZoneName,
    delegateMeetingMessageDeliveryOptions: 'sendToDelegateOnly',
    dateFormat: 'M/d/yyyy',
    timeFormat: 'h:mm tt',
    userPurpose: 'user',
    automaticRepliesSetting: {
      status: 'disabled',
      externalAudience: 'all',
      internalReplyMessage: '',
      externalReplyMessage: '',
      scheduledStartDateTime: { dateTime: '2026-01-01T00:00:00.0000000', timeZone: 'UTC' },
      scheduledEndDateTime: { dateTime: '2026-01-02T00:00:00.0000000', timeZone: 'UTC' },
    },
    language: { locale: 'en-US', displayName: 'English (United States)' },
    workingHours: structuredClone(mailbox.workingHours),
  };
}
