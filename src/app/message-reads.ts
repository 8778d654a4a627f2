import { DomainError } from '../core/errors.ts';

export interface StoredMessage {
  id: string;
  instanceId: number;
  mailFrom: string;
  size: number;
  headerMessageId: string | null;
  createdAt: number;
}

export interface StoredDelivery {
  id: number;
  recipient: string;
  state: string;
  attempts: number;
  lastReply: string | null;
  lastCategory: string | null;
  dueAt: number;
}

export interface MessageEvent {
  id: number;
  instanceId: number;
  messageId: string | null;
  deliveryId: number | null;
  type: string;
  recipient: string | null;
  at: number;
  detail: Record<string, unknown>;
}

/** A message with its deliveries and events. */
export interface MessageDetail {
  message: StoredMessage;
  deliveries: StoredDelivery[];
  events: MessageEvent[];
}

/** The reads of the spool this needs. */
export interface MessageStore {
  findMessage(id: string): Promise<StoredMessage | undefined>;
  deliveriesOf(messageId: string): Promise<StoredDelivery[]>;
}

/** The reads of the event log this needs. */
export interface MessageEvents {
  eventsForMessage(messageId: string): Promise<MessageEvent[]>;
}

/** One message as the instance API and the operators see it. */
export class MessageReads {
  constructor(
    private readonly store: MessageStore,
    private readonly events: MessageEvents,
  ) {}

  /**
   * The message `id`; with `instanceId`, only if it is that instance's: another instance's
   * message does not exist as far as its key can tell (the same `not-found`).
   */
  async get(id: string, instanceId?: number): Promise<MessageDetail> {
    const message = await this.store.findMessage(id);
    if (!message || (instanceId !== undefined && message.instanceId !== instanceId)) throw new DomainError('not-found', `no message ${id}`);
    const [deliveries, events] = await Promise.all([this.store.deliveriesOf(id), this.events.eventsForMessage(id)]);
    return { message, deliveries, events };
  }
}
