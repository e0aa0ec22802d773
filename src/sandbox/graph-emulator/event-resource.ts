/** An event as Graph answers it: every property in Graph's order, times in UTC or the `Prefer` zone, ids by kind. */
import type { StoredEvent } from './event-store';
import { toDateTimeTimeZone, utcStamp } from './graph-time';
import type { GraphEvent } from './types';

export interface RenderOptions {
  immutableIds: boolean;
  /** `Prefer: outlook.timezone` (default UTC). */
  timeZone?: string;
  /** `Prefer: outlook.body-content-type` (default html, as Graph). */
  bodyContentType?: 'text' | 'html';
  /** Lower-cased extended property ids to include (from $expand). */
  expand?: string[];
}

export interface Organizer {
  address: string;
  displayName: string;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Exchange stores text bodies as HTML and answers HTML unless the client prefers text. */
function renderBody(body: StoredEvent['body'], wanted: 'text' | 'html'): GraphEvent['body'] {
  if (wanted === body.contentType) {
    if (wanted === 'text') return { contentType: 'text', content: body.content };
    return { contentType: 'html', content: body.content };
  }
  if (wanted === 'html') {
    const html = escapeHtml(body.content).replace(/\r?\n/g, '<br>\r\n');
    return {
      contentType: 'html',
      content: `<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n</head>\r\n<body>\r\n<div>${html}</div>\r\n</body>\r\n</html>\r\n`,
    };
  }
  return { contentType: 'text', content: htmlToText(body.content) };
}

export function htmlToText(html: string): string {
  return html
    .replace(/<head>[\s\S]*?<\/head>/gi, '')
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/<[^>]+>/g, '')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\r\n/g, '\n')
    .trim();
}

export function eventId(e: StoredEvent, immutableIds: boolean): string {
  return immutableIds ? e.immutableId : e.restId;
}

export function renderEvent(e: StoredEvent, organizer: Organizer, opts: RenderOptions): GraphEvent {
  const zone = opts.timeZone ?? 'UTC';
  const id = eventId(e, opts.immutableIds);
  const text = htmlToText(e.body.contentType === 'html' ? e.body.content : escapeHtml(e.body.content));
  const event: GraphEvent = {
    '@odata.etag': `W/"${e.changeKey}"`,
    id,
    createdDateTime: utcStamp(e.createdMs),
    lastModifiedDateTime: utcStamp(e.modifiedMs),
    changeKey: e.changeKey,
    categories: [...e.categories],
    transactionId: e.transactionId,
    originalStartTimeZone: e.startZone,
    originalEndTimeZone: e.endZone,
    iCalUId: e.iCalUId,
    reminderMinutesBeforeStart: e.reminderMinutesBeforeStart,
    isReminderOn: e.isReminderOn,
    hasAttachments: false,
    subject: e.subject,
    bodyPreview: text.slice(0, 255),
    importance: e.importance,
    sensitivity: e.sensitivity,
    isAllDay: e.isAllDay,
    isCancelled: e.isCancelled,
    isOrganizer: true,
    responseRequested: true,
    seriesMasterId: null,
    showAs: e.showAs,
    type: 'singleInstance',
    webLink: `https://outlook.office365.com/owa/?itemid=${encodeURIComponent(e.restId)}&exvsurl=1&path=/calendar/item`,
    onlineMeetingUrl: null,
    isOnlineMeeting: false,
    onlineMeetingProvider: 'unknown',
    allowNewTimeProposals: true,
    isDraft: false,
    hideAttendees: false,
    responseStatus: { response: 'organizer', time: '0001-01-01T00:00:00Z' },
    body: renderBody(e.body, opts.bodyContentType ?? 'html'),
    start: toDateTimeTimeZone(e.startMs, zone),
    end: toDateTimeTimeZone(e.endMs, zone),
    location: { displayName: '', locationType: 'default', uniqueIdType: 'unknown', address: {}, coordinates: {} },
    locations: [],
    recurrence: null,
    attendees: [],
    organizer: { emailAddress: { name: organizer.displayName, address: organizer.address } },
    onlineMeeting: null,
  };
  if (opts.expand) {
    const props = opts.expand.map((id) => e.extended.get(id)).filter((p): p is { id: string; value: string } => p !== undefined);
    // Graph leaves the property out when none of the expanded ids is set on the event.
    if (props.length > 0) event.singleValueExtendedProperties = props.map((p) => ({ ...p }));
  }
  return event;
}
