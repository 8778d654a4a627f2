import { checkMessage, headerValue } from '../core/spool/message-check.ts';

/** A message as the capture server stored it. */
/** A listing holds at most this many messages, whatever was asked. */
const maxListed = 1000;

export interface StoredCapture {
  id: number;
  mailFrom: string;
  recipients: string[];
  raw: Buffer;
  receivedAt: number;
}

/** What the service needs of the capture store. */
export interface CaptureStore {
  list(limit: number): Promise<StoredCapture[]>;
  clear(): Promise<void>;
}

/** A captured message with the headers an operator looks for; the source only when asked. */
export interface CaptureSummary {
  id: number;
  mailFrom: string;
  recipients: string[];
  subject: string | null;
  messageId: string | null;
  size: number;
  receivedAt: number;
  raw?: string;
}

/** Mail caught by the built-in capture server (infrastructure `local`), for trying mailshift out. */
export class CaptureService {
  constructor(private readonly store: CaptureStore) {}

  /** The newest `limit` messages, newest first. A message whose headers do not parse still lists, without subject. */
  async list(limit: number, withRaw = false): Promise<CaptureSummary[]> {
    const messages = await this.store.list(Math.min(limit, maxListed));
    return messages.map((m) => {
      const checked = checkMessage(m.raw);
      const headers = checked.ok ? checked.value.headers : [];
      return {
        id: m.id,
        mailFrom: m.mailFrom,
        recipients: m.recipients,
        subject: headerValue(headers, 'subject') ?? null,
        messageId: headerValue(headers, 'message-id') ?? null,
        size: m.raw.length,
        receivedAt: m.receivedAt,
        ...(withRaw ? { raw: m.raw.toString('utf8') } : {}),
      };
    });
  }

  /** Forgets every captured message. */
  clear(): Promise<void> {
    return this.store.clear();
  }
}
