import type { Logger } from 'pino';
import type { Clock } from '../core/clock.ts';
import type { Customer, Instance } from '../core/fleet/fleet.ts';
import type { PlannedWave } from '../core/upgrade/program.ts';
import type { SwitchFailure } from '../core/upgrade/switch-failure.ts';
import type { NoticeInput, NoticeKind } from '../notices/notice.ts';
import { rollbackReason } from '../notices/rollback-reason.ts';
import { lazily } from './lazily.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { EventRepository } from '../store/event-repository.ts';
import type { NewNotice, NoticeRepository, NoticeRow } from '../store/notice-repository.ts';
import type { ProgramRecord } from '../store/program-repository.ts';
import type { SwitchRecord } from '../store/switch-repository.ts';
import type { WaveRecord, WaveRepository } from '../store/wave-repository.ts';
import type { AcceptService } from './accept-service.ts';

export interface NoticeSender {
  /** The instance notices are sent from (mailshift's own, on a working infrastructure). */
  instance(): Promise<Instance>;
  from: string;
  /** The node sending: each notice is claimed for it before it goes out. */
  node: string;
}

/** How long a claimed notice is this node's: a sender that died after sending may repeat that one notice after it. */
const noticeLeaseMs = 120_000;

/** The records this reads and writes: the notice outbox, a program's waves, the instances' events. */
export interface NoticeStores {
  notices: Pick<NoticeRepository, 'addNotices' | 'dueNotices' | 'claimNotice' | 'noticeSent'>;
  waves: Pick<WaveRepository, 'waves'>;
  events: Pick<EventRepository, 'addEvents'>;
}

/** What a stored notice carries: the template's input but for who reads it and how. */
type NoticeDetail = Omit<NoticeInput, 'kind' | 'locale' | 'timezone'>;

/**
 * Notices of upgrade programs: queued in an outbox (so every notice is stored and
 * listable), then sent as email through mailshift itself and as webhook events on each
 * affected instance. The upgrade runner reports waves to it (its `WaveEvents`); a loop
 * of the engine calls `sendDue`, and `queued` asks that loop to run soon.
 */
export class NoticeService {
  constructor(
    private readonly store: NoticeStores,
    private readonly fleet: FleetRepository,
    private readonly acceptor: AcceptService,
    private readonly sender: NoticeSender,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly queued: () => void = () => {},
  ) {}

  /** At publish: a scheduled notice now, and reminders ahead of each window. */
  async schedule(program: ProgramRecord, waves: PlannedWave[], now: number): Promise<number> {
    const customers = new Map((await this.fleet.listCustomers()).map((c) => [c.id, c]));
    const notices: NewNotice[] = [];
    for (const wave of waves) {
      for (const [customerId, instances] of byCustomer(wave.instances)) {
        const customer = customers.get(customerId);
        if (!customer) continue;
        const detail = this.detail(program, customer, instances, wave.start, wave.end, wave.estimateMs);
        notices.push(...this.forContacts(program, customer, 'scheduled', wave.index, now, detail));
        for (const lead of program.spec.remindersMs) {
          if (wave.start - lead > now)
            notices.push(...this.forContacts(program, customer, 'reminder', wave.index, wave.start - lead, { ...detail, reminderLeadMs: lead }));
        }
      }
    }
    await this.store.notices.addNotices(notices);
    this.queued();
    return notices.length;
  }

  async waveStarted(program: ProgramRecord, wave: WaveRecord, switches: SwitchRecord[]): Promise<void> {
    await this.perCustomer(program, wave, switches, 'started', () => ({}));
  }

  async waveFinished(program: ProgramRecord, wave: WaveRecord, switches: SwitchRecord[]): Promise<void> {
    const done = switches.filter((s) => s.state === 'completed');
    await this.perCustomer(program, wave, done, 'completed', (mine) => ({ heldReleased: mine.reduce((a, s) => a + (s.released ?? 0), 0) }));
  }

  /** The reason follows from the failed step alone, in each contact's language; `failure` is null when the step is not known. */
  async rolledBack(program: ProgramRecord, sw: SwitchRecord, failure: SwitchFailure | null, retryWave: WaveRecord | undefined): Promise<void> {
    const waves = await this.store.waves.waves(program.id);
    const wave = waves.find((w) => w.idx === sw.waveIdx)!;
    const next = retryWave ?? wave;
    await this.perCustomer(
      program,
      { ...next },
      [sw],
      'rolled-back',
      () => ({}),
      (locale) => ({ reason: rollbackReason(failure?.step ?? null, locale) }),
    );
  }

  private async perCustomer(
    program: ProgramRecord,
    wave: WaveRecord,
    switches: SwitchRecord[],
    kind: NoticeKind,
    extra: (mine: SwitchRecord[]) => Partial<NoticeDetail>,
    perContact?: (locale: string) => Partial<NoticeDetail>,
  ): Promise<void> {
    const customers = new Map((await this.fleet.listCustomers()).map((c) => [c.id, c]));
    const now = this.clock.now();
    const notices: NewNotice[] = [];
    const groups = new Map<number, SwitchRecord[]>();
    for (const s of switches) groups.set(s.customerId, [...(groups.get(s.customerId) ?? []), s]);
    for (const [customerId, mine] of groups) {
      const customer = customers.get(customerId);
      if (!customer) continue;
      const instances = mine.map((s) => ({ name: s.instanceName, environment: s.environment }));
      const detail = { ...this.detail(program, customer, instances, wave.start, wave.end, wave.estimateMs), ...extra(mine) };
      notices.push(...this.forContacts(program, customer, kind, wave.idx, now, detail, perContact));
    }
    if (notices.length === 0) return;
    await this.store.notices.addNotices(notices);
    this.queued();
  }

  private detail(
    program: ProgramRecord,
    customer: Customer,
    instances: { name: string; environment: string }[],
    start: number,
    end: number,
    estimateMs: number,
  ): NoticeDetail {
    return {
      programName: program.name,
      customerName: customer.name,
      instances,
      windowStart: start,
      windowEnd: end,
      estimateMs,
      supportContact: program.spec.supportContact,
    };
  }

  /** One notice per contact; the first also carries the webhook events, so they go out once. */
  private forContacts(
    program: ProgramRecord,
    customer: Customer,
    kind: NoticeKind,
    waveIdx: number,
    dueAt: number,
    detail: NoticeDetail,
    perContact?: (locale: string) => Partial<NoticeDetail>,
  ): NewNotice[] {
    return customer.contacts.map((c, i) => ({
      programId: program.id,
      customerId: customer.id,
      email: c.email,
      locale: c.locale,
      timezone: c.timezone,
      kind,
      waveIdx,
      dueAt,
      detail: { ...detail, ...perContact?.(c.locale), events: i === 0 },
    }));
  }

  /**
   * Renders and sends every notice that is due; a notice that cannot go out is logged and
   * tried again at the next call. Called by one loop at a time (engine/notice-loop.ts).
   */
  async sendDue(): Promise<void> {
    for (;;) {
      const due = await this.store.notices.dueNotices(this.clock.now(), 200);
      if (due.length === 0) return;
      const from = await this.sender.instance();
      let sent = 0;
      for (const n of due) {
        try {
          // Another node's (a leader that was deposed while sending) or already sent.
          if (!(await this.store.notices.claimNotice(n.id, this.sender.node, this.clock.now(), noticeLeaseMs))) continue;
          await this.send(n, from);
          sent++;
        } catch (err) {
          // One notice that cannot go out must not hold up the others; it is tried again later.
          this.log.error({ err, notice: n.id }, 'sending a notice failed');
        }
      }
      if (sent === 0) return;
    }
  }

  private async send(n: NoticeRow, from: Instance): Promise<void> {
    const { events, ...detail } = JSON.parse(n.detail) as NoticeDetail & { events?: boolean };
    const { renderNotice } = await noticeRenderer();
    const rendered = renderNotice({ kind: n.kind, locale: n.locale, timezone: n.timezone, ...detail });
    const raw = Buffer.from(
      [
        `From: ${this.sender.from}`,
        `To: <${n.email}>`,
        `Subject: ${encodeHeader(rendered.subject)}`,
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=utf-8',
        'Content-Transfer-Encoding: 8bit',
        `X-Mailshift-Notice: ${n.kind}`,
        '',
        rendered.text.replace(/\r?\n/g, '\r\n'),
      ].join('\r\n'),
      'utf8',
    );
    const accepted = await this.acceptor.accept({ instance: from, mailFrom: addressOf(this.sender.from), recipients: [n.email], raw }, 'smtp');
    const now = this.clock.now();
    // The same notice as an event on each affected instance, for its webhooks.
    const instances = events ? await Promise.all(detail.instances.map((i) => this.fleet.findInstance({ name: i.name }))) : [];
    await this.store.events.addEvents(
      instances
        .filter((i): i is Instance => !!i)
        .map((i) => ({
          instanceId: i.id,
          type: `upgrade.${n.kind}`,
          at: now,
          detail: {
            program: detail.programName,
            windowStart: new Date(detail.windowStart).toISOString(),
            windowEnd: new Date(detail.windowEnd).toISOString(),
            estimateMs: detail.estimateMs,
            heldReleased: detail.heldReleased,
            reason: detail.reason,
            supportContact: detail.supportContact,
          },
        })),
    );
    await this.store.notices.noticeSent(n.id, rendered.subject, rendered.text, accepted.messageId, now);
  }
}

function byCustomer<T extends { customerId: number }>(items: T[]): Map<number, T[]> {
  const map = new Map<number, T[]>();
  for (const i of items) map.set(i.customerId, [...(map.get(i.customerId) ?? []), i]);
  return map;
}

/** RFC 2047 for a subject with non-ASCII text (Spanish notices). */
function encodeHeader(text: string): string {
  return /^[\x20-\x7e]*$/.test(text) ? text : `=?UTF-8?B?${Buffer.from(text, 'utf8').toString('base64')}?=`;
}

function addressOf(from: string): string {
  return /<([^>]+)>/.exec(from)?.[1] ?? from;
}

/** The notice templates and their engine (liquidjs, some 14 MB) load with the first notice, not at start. */
const noticeRenderer = lazily(() => import('../notices/render-notice.ts'));
