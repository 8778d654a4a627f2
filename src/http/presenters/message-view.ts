import { iso } from './timestamp.ts';
import type { MessageDetail, MessageEvent } from '../../app/message-reads.ts';
import type { EventRow } from '../schemas/fleet.ts';
import type { MessageView } from '../schemas/messages.ts';

export { MessageView } from '../schemas/messages.ts';

/** A message with its deliveries and events, as the instance API and the admin API show it (schema: MessageView). */
export function messageView({ message, deliveries, events }: MessageDetail): MessageView {
  return {
    message: {
      id: message.id,
      instanceId: message.instanceId,
      mailFrom: message.mailFrom,
      size: message.size,
      headerMessageId: message.headerMessageId,
      createdAt: iso(message.createdAt),
    },
    deliveries: deliveries.map((d) => ({
      id: d.id,
      recipient: d.recipient,
      state: d.state,
      attempts: d.attempts,
      lastReply: d.lastReply,
      lastCategory: d.lastCategory,
      dueAt: iso(d.dueAt),
    })),
    events: events.map(eventView),
  };
}

/** One event of a message, as the message view and an instance's recent events show it. */
export function eventView(e: MessageEvent): EventRow {
  return {
    id: e.id,
    instanceId: e.instanceId,
    messageId: e.messageId,
    deliveryId: e.deliveryId,
    type: e.type,
    recipient: e.recipient,
    at: iso(e.at),
    detail: e.detail,
  };
}
