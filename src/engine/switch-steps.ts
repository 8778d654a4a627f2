import { randomBytes } from 'node:crypto';
import type { Clock } from '../core/clock.ts';
import type { Infrastructure, Instance, Relay } from '../core/fleet/fleet.ts';
import { stepFailed, type StepResult } from '../core/upgrade/switch-failure.ts';
import type { FleetRepository } from '../store/fleet-repository.ts';
import type { SpoolRepository } from '../store/spool-repository.ts';
import { OutboundConnection, type OutboundOptions } from '../smtp/outbound-connection.ts';
import { destinationHosts, type MxResolver } from './routes.ts';
import { domainOf } from '../core/fleet/fleet-input.ts';

/**
 * Holding and releasing an instance's sending, by name: what the switch needs of the
 * fleet service, declared here so the engine does not depend on the app layer.
 */
export interface SuspensionControl {
  suspend(name: string, reason: string): Promise<{ kind: string }>;
  resume(name: string): Promise<{ kind: 'resumed'; released: number } | { kind: 'not-suspended' | 'not-found' }>;
}

/**
 * Whether a target can sign and pass SPF for an instance's customer's domains: null when
 * it can, else why not. Declared here so the engine does not depend on the app layer.
 */
export interface SenderReadiness {
  precheck(instance: Instance, target: Infrastructure): Promise<string | null>;
}

export interface SwitchStepOptions {
  /** How long a drain may wait for in-flight deliveries before the switch rolls back. */
  drainTimeoutMs: number;
  connectionTimeoutMs: number;
  /** The TLS policy and relay login of a connection to `hop`, as the delivery engine makes it. */
  transport?: (infra: Infrastructure, hop: Relay) => Pick<OutboundOptions, 'tls' | 'ca' | 'login'>;
  /** Direct-MX: the DNS and port the delivery engine uses. */
  resolver?: MxResolver;
  mxPort?: number;
}

/**
 * The side effects of a switch, each safe to repeat: what the runner carries out for a
 * persisted state. Failures are results, not exceptions.
 */
export class SwitchSteps {
  constructor(
    private readonly suspensions: SuspensionControl,
    private readonly fleetRepository: FleetRepository,
    private readonly spool: Pick<SpoolRepository, 'countInflight'>,
    private readonly clock: Clock,
    private readonly options: SwitchStepOptions,
    private readonly senders?: SenderReadiness,
  ) {}

  /** Every relay of the target answers EHLO, and the target can authenticate the customer's domains. */
  async precheck(target: Infrastructure, instance?: Instance): Promise<StepResult> {
    const hosts = await this.hosts(target);
    for (const relay of hosts) {
      const opened = await OutboundConnection.open(relay, this.outbound(target, relay));
      if (!opened.ok) return stepFailed('pre-check', `${relay.host}:${relay.port}: ${opened.reply.text}`);
      opened.connection.close();
      if (target.deliveryMode === 'mx') break;
    }
    const unready = instance && (await this.senders?.precheck(instance, target));
    return unready ? stepFailed('sender-auth', unready) : { ok: true };
  }

  async suspend(instance: Instance, program: string): Promise<StepResult> {
    const held = await this.suspensions.suspend(instance.name, holdReason(program));
    // Already suspended (an operator's hold) is held all the same.
    return held.kind === 'not-found' ? stepFailed('suspend', `instance ${instance.name} not found`) : { ok: true };
  }

  /** Waits until no delivery of the instance is in flight (claimed deliveries not yet started were handed back on suspend). */
  async drain(instance: Instance): Promise<StepResult> {
    const deadline = this.clock.now() + this.options.drainTimeoutMs;
    for (;;) {
      const n = await this.spool.countInflight(instance.id);
      if (n === 0) return { ok: true };
      if (this.clock.now() >= deadline) return stepFailed('drain', `${n} deliveries still in flight after ${this.options.drainTimeoutMs} ms`);
      await this.clock.sleep(10);
    }
  }

  async rebind(instance: Instance, to: Infrastructure): Promise<StepResult> {
    await this.fleetRepository.rebindInstance(instance.id, to.id);
    return { ok: true };
  }

  /** A canary through the target to its verification address must be accepted. */
  async verify(target: Infrastructure, instance: Instance, program: string): Promise<StepResult> {
    const hosts = await this.hosts(target);
    const id = randomBytes(8).toString('hex');
    const raw = Buffer.from(
      [
        `From: mailshift <mailshift-canary@${target.heloName}>`,
        `To: <${target.verificationAddress}>`,
        `Subject: mailshift verification ${program} ${instance.name}`,
        `Message-ID: <canary-${id}@${target.heloName}>`,
        `Date: ${new Date(this.clock.now()).toUTCString().replace('GMT', '+0000')}`,
        'X-Mailshift-Canary: 1',
        '',
        `Verifies that infrastructure ${target.name} accepts mail for instance ${instance.name}.`,
        '',
      ].join('\r\n'),
    );
    let last = 'no relay';
    for (const relay of hosts) {
      const opened = await OutboundConnection.open(relay, this.outbound(target, relay));
      if (!opened.ok) {
        last = `${relay.host}:${relay.port}: ${opened.reply.text}`;
        continue;
      }
      const sent = await opened.connection.send(`mailshift-canary@${target.heloName}`, target.verificationAddress, raw);
      opened.connection.close();
      if (sent.ok) return { ok: true };
      return stepFailed('verify', `canary refused by ${relay.host}:${relay.port}: ${sent.reply.text}`);
    }
    return stepFailed('verify', last);
  }

  /** Lifts the switch's own hold; an operator's hold from before the switch stays in place. */
  async resume(instance: Instance, program: string): Promise<StepResult<{ released: number }>> {
    const current = await this.fleetRepository.findInstance({ id: instance.id });
    if (current?.suspended && current.suspendedReason !== holdReason(program)) return { ok: true, released: 0 };
    const result = await this.suspensions.resume(instance.name);
    return { ok: true, released: result.kind === 'resumed' ? result.released : 0 };
  }

  private hosts(target: Infrastructure): Promise<Relay[]> {
    return destinationHosts(target, domainOf(target.verificationAddress), 0, this.options.resolver, this.options.mxPort);
  }

  private outbound(infra: Infrastructure, hop: Relay): OutboundOptions {
    const transport = this.options.transport?.(infra, hop);
    return {
      heloName: infra.heloName,
      localAddress: infra.sourceAddresses[0],
      connectionTimeoutMs: this.options.connectionTimeoutMs,
      socketTimeoutMs: this.options.connectionTimeoutMs,
      ...(transport ? { tls: transport.tls, ca: transport.ca, login: transport.login } : {}),
    };
  }
}

function holdReason(program: string): string {
  return `upgrade program ${program}`;
}
