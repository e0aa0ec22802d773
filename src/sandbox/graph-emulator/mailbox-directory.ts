/**
 * The tenant's mailboxes: object id and SMTP address (either names the user in /users/{id}), display name, the
 * mailbox time zone as Exchange stores it (a Windows name by default, an IANA name, or a custom zone), working
 * hours, and the calendar's events.
 */
import { randomUUID } from 'node:crypto';
import { EventStore, type ChangeType, type StoredEvent } from './event-store';
import type { CustomTimeZone, WorkingHours } from './types';

export interface MailboxOptions {
  displayName?: string;
  /** Windows name ("Pacific Standard Time", the default format), IANA name, or a custom zone. Default "UTC". */
  timeZone?: string | CustomTimeZone;
  workingHours?: Partial<WorkingHours>;
  /** Object id (GUID); default random. */
  id?: string;
  /** false: a directory user without an Exchange Online mailbox (unlicensed, soft-deleted, on-premises). */
  mailboxEnabled?: boolean;
}

export class Mailbox {
  readonly id: string;
  readonly address: string;
  displayName: string;
  timeZone: string | CustomTimeZone;
  workingHours: WorkingHours;
  mailboxEnabled: boolean;
  readonly events: EventStore;

  constructor(address: string, opts: MailboxOptions, now: () => number, onChange: (mailbox: Mailbox, event: StoredEvent, change: ChangeType) => void) {
    this.id = opts.id ?? randomUUID();
    this.address = address;
    this.displayName = opts.displayName ?? address.split('@')[0];
    this.timeZone = opts.timeZone ?? 'UTC';
    this.mailboxEnabled = opts.mailboxEnabled ?? true;
    const zoneName = typeof this.timeZone === 'string' ? { name: this.timeZone } : this.timeZone;
    this.workingHours = {
      daysOfWeek: ['monday', 'tuesday', 'wednesday', 'thursday', 'friday'],
      startTime: '08:00:00.0000000',
      endTime: '17:00:00.0000000',
      timeZone: zoneName,
      ...opts.workingHours,
    };
    this.events = new EventStore(now, (event, change) => onChange(this, event, change));
  }

  /** The zone name mailboxSettings.timeZone answers ("Customized Time Zone" for a custom zone). */
  get timeZoneName(): string {
    return typeof this.timeZone === 'string' ? this.timeZone : this.timeZone.name;
  }
}

export class MailboxDirectory {
  private readonly byAddress = new Map<string, Mailbox>();
  /** Addresses removed on purpose: never created again on first use. */
  private readonly removed = new Set<string>();

  constructor(
    private readonly now: () => number,
    private readonly onChange: (mailbox: Mailbox, event: StoredEvent, change: ChangeType) => void,
    /** The sandbox's directory: an unknown SMTP address is a new mailbox (in UTC) on first use. */
    private readonly autoCreate = false,
  ) {}

  add(address: string, opts: MailboxOptions = {}): Mailbox {
    const key = address.trim().toLowerCase();
    if (this.byAddress.has(key)) throw new Error(`graph emulator: mailbox ${address} exists`);
    const mailbox = new Mailbox(key, opts, this.now, this.onChange);
    this.byAddress.set(key, mailbox);
    return mailbox;
  }

  /** By SMTP address (case-insensitive) or object id, as /users/{id} accepts either. */
  get(idOrAddress: string): Mailbox | undefined {
    let key = idOrAddress.trim().toLowerCase();
    try {
      key = decodeURIComponent(key); // a resource path may carry "alice%40contoso.com"
    } catch {
      // not URL-encoded
    }
    const byAddress = this.byAddress.get(key);
    if (byAddress) return byAddress;
    for (const mailbox of this.byAddress.values()) if (mailbox.id === key) return mailbox;
    if (this.autoCreate && /^[^@\s/]+@[^@\s/]+$/.test(key) && !this.removed.has(key)) return this.add(key);
    return undefined;
  }

  /** The user leaves the tenant: their address and object id are unknown from now on. */
  remove(idOrAddress: string): boolean {
    const mailbox = this.get(idOrAddress);
    if (mailbox) this.removed.add(mailbox.address);
    return mailbox !== undefined && this.byAddress.delete(mailbox.address);
  }

  all(): Mailbox[] {
    return [...this.byAddress.values()];
  }
}
