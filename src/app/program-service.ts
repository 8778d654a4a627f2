import type { Clock } from '../core/clock.ts';
import { DomainError } from '../core/errors.ts';
import type { Instance } from '../core/fleet/fleet.ts';
import { runningEstimate } from '../core/upgrade/estimate.ts';
import type { CustomerRequestKind, Plan, PlannedInstance } from '../core/upgrade/program.ts';
import { validateProgramSpec } from '../core/upgrade/program-spec.ts';
import { planProgram } from '../core/upgrade/wave-planner.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { CustomerRequestRepository } from '../store/customer-request-repository.ts';
import type { NoticeRepository, NoticeRow } from '../store/notice-repository.ts';
import type { ProgramRecord, ProgramRepository } from '../store/program-repository.ts';
import type { StatusTokenRepository } from '../store/status-token-repository.ts';
import type { SwitchRepository } from '../store/switch-repository.ts';
import type { WaveRepository } from '../store/wave-repository.ts';
import type { NoticeService } from './notice-service.ts';
import { hashStatusToken, newStatusToken } from './status-token.ts';

export type { NoticeRow, ProgramRecord };

/** The records of upgrade programs this reads and writes, one repository per concept. */
export interface ProgramStores {
  programs: Pick<ProgramRepository, 'create' | 'find' | 'list' | 'publish' | 'setState'>;
  waves: Pick<WaveRepository, 'waves' | 'setWave'>;
  switches: Pick<SwitchRepository, 'switches' | 'switchOf' | 'completedDurations'>;
  notices: Pick<NoticeRepository, 'notices'>;
  tokens: Pick<StatusTokenRepository, 'setStatusToken'>;
  requests: Pick<CustomerRequestRepository, 'recordRequest' | 'requests'>;
}

export const refusalReason =
  "The upgrade is mandatory and its schedule is locked: every window is planned in waves across many customers, so moving one slot would disrupt other customers' waves. No action or testing is needed on your side.";

/** Creating, planning and publishing upgrade programs, and answering customers' requests about them. */
export class ProgramService {
  constructor(
    private readonly store: ProgramStores,
    private readonly fleet: FleetRepository,
    private readonly notices: Pick<NoticeService, 'schedule'>,
    private readonly clock: Clock,
    private readonly defaults: { supportContact: string | null },
    private readonly onPublished: () => void,
  ) {}

  async create(input: Record<string, unknown>): Promise<ProgramRecord> {
    const v = validateProgramSpec(input, { supportContact: this.defaults.supportContact });
    if (!v.ok) throw new DomainError('invalid-request', v.error);
    const spec = v.spec;
    for (const name of [spec.sourceInfrastructure, spec.targetInfrastructure]) {
      if (!(await this.fleet.findInfrastructure({ name }))) throw new DomainError('not-found', `no infrastructure named ${JSON.stringify(name)}`);
    }
    if (spec.sourceInfrastructure === spec.targetInfrastructure) throw new DomainError('invalid-request', 'source and target infrastructure are the same');
    if (await this.store.programs.find({ name: spec.name })) throw new DomainError('conflict', `program ${spec.name} already exists`);
    return this.store.programs.create(spec.name, spec, this.clock.now());
  }

  /** Every program, oldest first. */
  list(): Promise<ProgramRecord[]> {
    return this.store.programs.list();
  }

  async get(name: string): Promise<ProgramRecord> {
    const program = await this.store.programs.find({ name });
    if (!program) throw new DomainError('not-found', `no program named ${JSON.stringify(name)}`);
    return program;
  }

  /** The plan as it would be published now; the per-instance switch time learns from completed switches. */
  async plan(name: string): Promise<{ program: ProgramRecord; plan: Plan; perInstanceMs: number }> {
    const program = await this.get(name);
    const source = await this.fleet.findInfrastructure({ name: program.spec.sourceInfrastructure });
    const instances = (await this.fleet.listInstances()).filter(
      (i) => !i.system && i.infrastructureId === source?.id && program.spec.productLines.includes(i.productLine),
    );
    const perInstanceMs = runningEstimate(program.spec.switchEstimateMs, await this.store.switches.completedDurations());
    const result = planProgram(program.spec, instances.map(planned), this.clock.now(), perInstanceMs);
    if (!result.ok) throw new DomainError('invalid-request', result.error);
    return { program, plan: result.plan, perInstanceMs };
  }

  /** Locks the schedule and queues the notices; from then on requests to move are refused. */
  async publish(name: string): Promise<{ program: ProgramRecord; plan: Plan; notices: number }> {
    const { program, plan } = await this.plan(name);
    if (program.state !== 'draft') throw new DomainError('invalid-state', `program ${name} is already ${program.state}`);
    const now = this.clock.now();
    await this.store.programs.publish(program.id, plan.waves, now);
    const published = (await this.store.programs.find({ id: program.id }))!;
    const notices = await this.notices.schedule(published, plan.waves, now);
    this.onPublished();
    return { program: published, plan, notices };
  }

  /**
   * After a halt, an operator who has fixed the target lets the program go on: the halted
   * wave runs its remaining switches (if its window is still open) and the waves after it.
   */
  async resume(name: string): Promise<ProgramRecord> {
    const program = await this.get(name);
    if (program.state !== 'halted') throw new DomainError('invalid-state', `program ${name} is ${program.state}, not halted`);
    for (const wave of await this.store.waves.waves(program.id)) {
      if (wave.state === 'halted') await this.store.waves.setWave(wave.id, { state: 'running', actual_end: null });
    }
    await this.store.programs.setState(program.id, 'running');
    this.onPublished();
    return (await this.store.programs.find({ id: program.id }))!;
  }

  /** Recorded, then refused with the reason: the upgrade is mandatory and slots are fixed. */
  async request(instance: Instance, kind: CustomerRequestKind, reason: string): Promise<never> {
    const open = await this.store.switches.switchOf(instance.id);
    const waves = open ? await this.store.waves.waves(open.program.id) : [];
    const wave = open && waves.find((w) => w.idx === open.switch.waveIdx);
    const support = open?.program.spec.supportContact ?? this.defaults.supportContact;
    const window = wave ? ` Your window: ${new Date(wave.start).toISOString()} to ${new Date(wave.end).toISOString()}.` : '';
    const answer =
      (kind === 'opt-out' ? 'Opting out is not possible. ' : 'Your slot cannot be moved. ') +
      (open ? refusalReason + window : 'No upgrade is scheduled for this instance.') +
      (support ? ` Questions: ${support}.` : '');
    await this.store.requests.recordRequest(instance.id, open?.program.id ?? null, kind, reason.slice(0, 2000), answer, this.clock.now());
    throw new DomainError(kind === 'opt-out' ? 'opt-out-refused' : 'reschedule-refused', answer);
  }

  /**
   * What a customer may see of one instance's upgrade: its window, estimate and actual,
   * whether sending is paused and how much mail is held. No operator data.
   */
  async instanceStatus(instance: Instance, held: () => Promise<number>) {
    const found = await this.store.switches.switchOf(instance.id, false);
    if (!found)
      return {
        instance: instance.name,
        environment: instance.environment,
        state: 'not-scheduled' as CustomerFacingState,
        supportContact: this.defaults.supportContact,
      };
    const { program, switch: sw } = found;
    const wave = (await this.store.waves.waves(program.id)).find((w) => w.idx === sw.waveIdx)!;
    const state = customerState[sw.state] ?? 'scheduled';
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      instance: instance.name,
      environment: instance.environment,
      program: program.name,
      phase: wave.phase,
      wave: wave.idx,
      retry: wave.retry,
      window: { start: iso(wave.start), end: iso(wave.end) },
      estimateMs: wave.estimateMs,
      actualStart: iso(wave.actualStart),
      actualEnd: iso(wave.actualEnd),
      state,
      held: state === 'sending-paused' ? await held() : null,
      switchedAt: iso(sw.switchedAt),
      pausedMs: sw.pausedMs,
      released: sw.released,
      supportContact: program.spec.supportContact,
    };
  }

  /** A program's notices (the outbox: scheduled, reminders, started, completed, rolled back). */
  async programNotices(name: string): Promise<NoticeRow[]> {
    const program = await this.get(name);
    return this.store.notices.notices({ programId: program.id });
  }

  /** Every notice to one customer; none for a customer that does not exist. */
  async customerNotices(customerName: string): Promise<NoticeRow[]> {
    const customer = await this.fleet.findCustomer(customerName);
    return customer ? this.store.notices.notices({ customerId: customer.id }) : [];
  }

  /**
   * A new link to the customer's status page. Only its hash is stored, so the token is
   * shown this once; the previous link stops working.
   */
  async issueStatusToken(customerName: string): Promise<{ customer: string; token: string }> {
    const customer = await this.fleet.findCustomer(customerName);
    if (!customer) throw new DomainError('not-found', `no customer named ${JSON.stringify(customerName)}`);
    const token = newStatusToken();
    await this.store.tokens.setStatusToken(customer.id, hashStatusToken(token), this.clock.now());
    return { customer: customer.name, token };
  }

  /** Status of a program: waves (estimate and actual) and each instance's switch. */
  async status(name: string) {
    const program = await this.get(name);
    const [waves, switches, requests] = await Promise.all([
      this.store.waves.waves(program.id),
      this.store.switches.switches(program.id),
      this.store.requests.requests(program.id),
    ]);
    const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
    return {
      name: program.name,
      state: program.state,
      haltedReason: program.haltedReason,
      from: program.spec.sourceInfrastructure,
      to: program.spec.targetInfrastructure,
      supportContact: program.spec.supportContact,
      publishedAt: iso(program.publishedAt),
      waves: waves.map((w) => ({
        index: w.idx,
        phase: w.phase,
        retry: w.retry,
        state: w.state,
        start: iso(w.start),
        end: iso(w.end),
        estimateMs: w.estimateMs,
        actualStart: iso(w.actualStart),
        actualEnd: iso(w.actualEnd),
        actualMs: w.actualStart !== null && w.actualEnd !== null ? w.actualEnd - w.actualStart : null,
        instances: switches.filter((s) => s.waveIdx === w.idx).length,
      })),
      instances: switches.map((s) => ({
        name: s.instanceName,
        wave: s.waveIdx,
        state: s.state,
        attempts: s.attempts,
        switchedAt: iso(s.switchedAt),
        pausedMs: s.pausedMs,
        released: s.released,
        error: s.error,
      })),
      requests: requests.map((r) => ({ instance: r.instance, kind: r.kind, reason: r.reason, answer: r.answer, at: iso(r.at) })),
    };
  }
}

export type CustomerFacingState = 'not-scheduled' | 'scheduled' | 'sending-paused' | 'completed' | 'rolled-back';

const customerState: Record<string, CustomerFacingState> = {
  scheduled: 'scheduled',
  prechecking: 'scheduled',
  suspending: 'sending-paused',
  draining: 'sending-paused',
  rebinding: 'sending-paused',
  verifying: 'sending-paused',
  resuming: 'sending-paused',
  'rolling-back': 'sending-paused',
  completed: 'completed',
  'rolled-back': 'rolled-back',
  failed: 'rolled-back',
};

function planned(i: Instance): PlannedInstance {
  return { id: i.id, name: i.name, customerId: i.customerId, environment: i.environment, productLine: i.productLine };
}
