import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pino, { type Logger } from 'pino';
import { sql } from 'kysely';
import { ConfigError, weakTokenReason, type Config } from './config.ts';
import type { Clock } from './core/clock.ts';
import { systemClock } from './system-clock.ts';
import { openStore } from './store/database.ts';
import type { FleetRepository } from './store/fleet-repository.ts';
import { createRepositories, type Repositories } from './store/repositories.ts';
import { Metrics } from './metrics.ts';
import { FleetNames } from './app/fleet-names.ts';
import { FleetService } from './app/fleet-service.ts';
import { AcceptService, maxRecipientsPerMessage } from './app/accept-service.ts';
import { AuthGuard } from './app/auth-guard.ts';
import { InflightBudget } from './app/inflight-budget.ts';
import type { Services } from './app/services.ts';
import { DeliveryEngine } from './engine/delivery-engine.ts';
import type { MxResolver } from './engine/routes.ts';
import { createDnsResolver, type DnsResolver } from './engine/dns-resolver.ts';
import { MtaStsFetcher } from './engine/mta-sts-fetcher.ts';
import { loadSecretKey } from './app/secret-key.ts';
import { openSecret, sealSecret } from './app/sealed-secret.ts';
import { WebhookSender } from './engine/webhook-sender.ts';
import { WebhookTargets } from './engine/webhook-target.ts';
import { Retention } from './engine/retention.ts';
import { startCaptureServer } from './smtp/capture-server.ts';
import { startInboundServer } from './smtp/inbound-server.ts';
import { loadTls } from './smtp/tls.ts';
import { buildHttpApp } from './http/http-app.ts';
import { NoticeService } from './app/notice-service.ts';
import { ProgramService } from './app/program-service.ts';
import { SwitchSteps } from './engine/switch-steps.ts';
import { UpgradeRunner } from './engine/upgrade-runner.ts';
import { noticeLoop as makeNoticeLoop } from './engine/notice-loop.ts';
import type { PeriodicTask } from './engine/periodic-task.ts';
import type { Instance } from './core/fleet/fleet.ts';
import { Idempotency } from './app/idempotency.ts';
import { SubmissionService } from './app/submission-service.ts';
import { SuppressionService } from './app/suppression-service.ts';
import { WebhookService } from './app/webhook-service.ts';
import { MessageReads } from './app/message-reads.ts';
import { UpgradeStatusService } from './app/upgrade-status.ts';
import { FleetReads } from './app/fleet-reads.ts';
import { CaptureService } from './app/capture-service.ts';
import { ConsoleService } from './app/console-service.ts';
import { OperatorSessions } from './app/operator-sessions.ts';
import { HealthService } from './app/health-service.ts';
import { ClusterService } from './app/cluster-service.ts';
import { NodeRegistry } from './engine/node-registry.ts';
import { Leadership } from './engine/leadership.ts';
import { SuspensionWatch } from './engine/suspension-watch.ts';
import { unfenced } from './store/fence.ts';
import { ClusterLimits } from './engine/cluster-limits.ts';
import { LimitRepository } from './store/limit-repository.ts';
import { mailshiftVersion } from './version.ts';
import { SenderDomains } from './app/sender-domains.ts';
import { DomainChecks } from './app/domain-check.ts';
import { derivedKey } from './app/secret-key.ts';
import { VerpCodec } from './app/feedback/verp.ts';
import { UnsubscribeTokens } from './app/feedback/unsubscribe-token.ts';
import { FeedbackService } from './app/feedback/feedback-service.ts';
import { ReputationService } from './app/reputation-service.ts';
import { ReputationBuffer } from './engine/reputation-buffer.ts';
import { feedbackServerDefaults, startFeedbackServer } from './smtp/feedback-server.ts';

export interface RunningMailshift {
  /** With the delivery engine itself (the composition root knows it), for tests that look at what it holds. */
  services: Services & { engine: DeliveryEngine };
  /** The store's repositories, for tests and the simulation that look at what is stored; not part of `Services`. */
  repositories: Repositories;
  httpPort: number;
  smtpPort: number;
  capturePort: number;
  /** The feedback listener's port (0 when this node has no smtp role). */
  feedbackPort: number;
  /** This node's id in the cluster (also the owner name of its claims). */
  nodeId: string;
  stop(): Promise<void>;
}

export interface StartOptions {
  clock?: Clock;
  logger?: Logger;
  /** Direct-MX look-ups and port: tests stand in for DNS and port 25. */
  mx?: { resolver?: MxResolver; port?: number; mtaStsPort?: number };
}

const maxRecipients = maxRecipientsPerMessage;

/** Everything built from the config, before any listener or loop starts. */
export interface ComposedMailshift {
  services: Services;
  /** The store's repositories, kept out of `Services` so no adapter reaches them. */
  repositories: Repositories;
  dialect: string;
  log: Logger;
  /** The background loops, not started. */
  engine: DeliveryEngine;
  runner: UpgradeRunner;
  noticeLoop: PeriodicTask;
  webhookSender: WebhookSender;
  retention: Retention;
  /** The delivery engine's reputation counts, written every second. */
  reputationBuffer: ReputationBuffer;
  /** This node in the cluster's registry (SQLite: the only one). */
  registry: NodeRegistry;
  /** PostgreSQL with the orchestrator role: the election that decides whether this node runs the loops done once. */
  leadership: Leadership | null;
  /** PostgreSQL: suspensions made on other nodes, passed to this node's engine. */
  suspensionWatch: SuspensionWatch | null;
  /** Starts and stops the leader's loops (upgrade runner, notices, webhooks, retention). */
  startLeaderWork(): Promise<void>;
  stopLeaderWork(): Promise<void>;
  closeStore(): Promise<void>;
}

/** How often a node looks for suspensions made on others: well within a second. */
const suspensionWatchMs = 250;

/**
 * Composition root, first half: opens the store and builds every service once, with no
 * socket and no loop running, so route and service tests use the real parts without ports.
 */
export async function composeMailshift(config: Readonly<Config>, options: StartOptions = {}): Promise<ComposedMailshift> {
  const log = options.logger ?? pino({ level: config.logLevel });
  const clock = options.clock ?? systemClock;
  // The data directory holds the spool, keys and the admin token: mailshift's user only.
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  chmodSync(config.dataDir, 0o700);
  // Before the store opens: a refused token must not leave a database handle behind.
  const adminToken = config.adminToken ?? readOrCreateToken(join(config.dataDir, 'admin-token'));
  let secretKey: Buffer;
  try {
    secretKey = loadSecretKey(config.dataDir, { MAILSHIFT_SECRET_KEY: config.secretKey });
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const store = await openStore({ url: config.databaseUrl, schema: config.databaseSchema, exclusive: true });
  // SQLite: one process, which leads without an election. PostgreSQL: a cluster of nodes.
  const clustered = store.dialect === 'postgres';
  const nodeId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

  // In a cluster each delivery remembers the node that accepted it (claim affinity).
  const repositories = createRepositories(store, unfenced, clustered ? { node: nodeId } : {});
  const leadership =
    clustered && config.roles.includes('orchestrator')
      ? new Leadership(
          repositories.leases,
          systemClock,
          log.child({ part: 'leader' }),
          { holder: nodeId, leaseMs: config.leaderLeaseMs },
          {
            elected: async () => startLeaderWork(),
            deposed: async () => stopLeaderWork(),
          },
        )
      : null;
  // The leader's loops write through repositories whose writes check its lease (fencing).
  const leaderRepositories = clustered ? createRepositories(store, leadership?.fence ?? unfenced, { node: nodeId }) : repositories;
  const { fleet: fleetRepository, spool, events, suspensions, suppressions, captures, webhooks } = repositories;
  const metrics = new Metrics(async () => {
    const totals = new Map<string, number>();
    for (const r of await spool.queueCounts()) totals.set(r.state, (totals.get(r.state) ?? 0) + r.count);
    return [...totals].map(([state, count]) => ({ state, count }));
  });
  // Every series carries the node, so a cluster's scrapes add up without colliding.
  metrics.registry.setDefaultLabels({ node: nodeId });
  const names = new FleetNames(fleetRepository);
  const authGuard = new AuthGuard(clock, metrics, log.child({ part: 'auth' }));
  const inflight = new InflightBudget(config.maxInflightBytes);
  const fleet = new FleetService(fleetRepository, suspensions, clock, { heloName: config.hostname, seal: (secret) => sealSecret(secretKey, secret) });
  // Domain verification and checks run when an operator asks: they see DNS as it is now, not as cached.
  const freshDns = createDnsResolver(config.dnsServers, clock, { maxEntries: 0, maxTtlMs: 0, fixedTtlMs: 0, negativeTtlMs: 0 });
  // Sending domains and their DKIM keys, sealed with the secret key: they sign wherever the customer's instances are bound.
  const senderDomains = new SenderDomains(repositories.sendingDomains, fleetRepository, freshDns, clock, { secretKey, graceMs: config.dkimGraceMs });
  const domainChecks = new DomainChecks(senderDomains, fleetRepository, freshDns);
  const sealing = await senderDomains.secretKeyProblem();
  if (sealing) {
    await store.close();
    throw new ConfigError(sealing);
  }
  const reputation = new ReputationService(
    { reputation: repositories.reputation, events },
    fleetRepository,
    names,
    (name, reason) => fleet.suspend(name, reason),
    clock,
    log.child({ part: 'reputation' }),
    { complaintThreshold: config.complaintThreshold, complaintMinDeliveries: config.complaintMinDeliveries },
  );
  metrics.watchReputation(async () => {
    const report = await reputation.report();
    return (['instance', 'infrastructure'] as const).flatMap((scope) =>
      (scope === 'instance' ? report.instances : report.infrastructures).flatMap((r) =>
        [['24h', r.day] as const, ['7d', r.week] as const].map(([window, w]) => ({ scope, name: r.name, window, ...w })),
      ),
    );
  });
  // Signed with keys derived from the cluster's secret: every node makes and reads the same addresses and links.
  const feedback = new FeedbackService(
    repositories.feedback,
    fleetRepository,
    {
      verp: new VerpCodec({ secrets: [derivedKey(secretKey, 'verp')] }),
      unsubscribeMail: new VerpCodec({ secrets: [derivedKey(secretKey, 'unsubscribe-mail')], prefix: 'u-' }),
      tokens: new UnsubscribeTokens([derivedKey(secretKey, 'unsubscribe')]),
    },
    clock,
    metrics,
    log.child({ part: 'feedback' }),
    { publicUrl: config.publicUrl, mailboxes: config.feedbackMailboxes },
    async (instanceId) => void (await reputation.checkComplaints(instanceId)),
  );
  const reputationBuffer = new ReputationBuffer(repositories.reputation, log.child({ part: 'reputation' }));

  // PostgreSQL: a destination's rate and connection cap hold for the whole cluster.
  const limits = clustered ? new ClusterLimits(new LimitRepository(store.db, store.dialect), clock, log.child({ part: 'limits' }), { nodeId }) : undefined;
  const resolver = options.mx?.resolver ?? createDnsResolver(config.dnsServers, clock);
  // MTA-STS needs TXT look-ups, which a test's stand-in resolver may not make.
  const mtaSts =
    'resolveTxt' in resolver
      ? new MtaStsFetcher(resolver as DnsResolver, clock, { allowNetworks: config.mxAllowNetworks, ca: config.outboundTlsCa, port: options.mx?.mtaStsPort })
      : undefined;
  const engine = new DeliveryEngine(spool, fleetRepository, clock, metrics, log.child({ part: 'delivery' }), {
    owner: nodeId,
    limits,
    leaseMs: config.leaseMs,
    claimBatch: config.claimBatch,
    pollMs: config.pollMs,
    maxOutboundConnections: config.maxOutboundConnections,
    retry: config.retry,
    bounceRules: config.bounceRules,
    connectionTimeoutMs: config.connectTimeoutMs,
    mxAllowNetworks: config.mxAllowNetworks,
    resolver,
    mxPort: options.mx?.port,
    openSecret: (sealed) => openSecret(secretKey, sealed),
    tlsCa: config.outboundTlsCa,
    mtaSts,
    signingKeys: (instanceId, infra, raw) => senderDomains.signingKeys(instanceId, infra, raw),
    feedback,
    reputation: reputationBuffer,
  });
  fleet.onSuspension({ suspended: (id) => void engine.suspended(id), resumed: () => engine.wake() });
  const acceptor = new AcceptService(
    spool,
    suppressions,
    clock,
    {
      retry: config.retry,
      hostname: config.hostname,
      maxMessageBytes: config.maxMessageBytes,
      maxRecipients,
      // SQLite: one commit at a time (a connection per message, 2 KB, in alternating runs of
      // bench/run.ts: 630–645 msg/s and 5.2–5.4 CPU seconds against 563–587 and 5.6–5.9 with two).
      commitsInFlight: store.dialect === 'sqlite' ? 1 : 2,
    },
    metrics,
    names,
    (messages) => engine.accepted(messages),
    senderDomains,
  );

  const { programs, waves, switches } = repositories;
  const sender = { from: config.noticeFrom, node: nodeId, instance: () => noticeSender(fleetRepository, config.noticeInfrastructure, clock.now()) };
  const noticeLog = log.child({ part: 'notices' });
  // Operators' requests queue notices on any node; the leader's runner and notice loop through the fenced set.
  const notices = new NoticeService({ notices: repositories.notices, waves, events }, fleetRepository, acceptor, sender, clock, noticeLog, () =>
    noticeLoop.wake(),
  );
  const leaderNotices = new NoticeService(
    { notices: leaderRepositories.notices, waves: leaderRepositories.waves, events },
    fleetRepository,
    acceptor,
    sender,
    clock,
    noticeLog,
    () => noticeLoop.wake(),
  );
  const noticeLoop = makeNoticeLoop(leaderNotices, noticeLog, config.pollMs);
  const steps = new SwitchSteps(
    fleet,
    fleetRepository,
    spool,
    clock,
    {
      drainTimeoutMs: config.drainTimeoutMs,
      connectionTimeoutMs: config.connectTimeoutMs,
      transport: (infra, hop) => engine.connectionOptions(infra, 0, hop),
      resolver,
      mxPort: options.mx?.port,
    },
    domainChecks,
  );
  const runner = new UpgradeRunner(
    { programs: leaderRepositories.programs, waves: leaderRepositories.waves, switches: leaderRepositories.switches },
    fleetRepository,
    steps,
    clock,
    leaderNotices,
    log.child({ part: 'upgrades' }),
    { pollMs: config.pollMs, ...(clustered ? { maxWaitMs: config.pollMs } : {}) },
  );
  const programService = new ProgramService(
    { programs, waves, switches, notices: repositories.notices, tokens: repositories.statusTokens, requests: repositories.customerRequests },
    fleetRepository,
    notices,
    clock,
    { supportContact: config.supportContact },
    () => runner.wake(),
  );

  // The instance API's services: routes parse, call one of these, and present.
  const submissions = new SubmissionService(acceptor, new Idempotency(repositories.idempotency), inflight, {
    maxMessageBytes: config.maxMessageBytes,
    batchMaxRenderedBytes: config.batchMaxRenderedBytes,
  });
  const suppressionService = new SuppressionService(suppressions, clock);
  const webhookService = new WebhookService(webhooks, new WebhookTargets(config.webhookAllowNetworks), clock, {
    maxPerInstance: config.maxWebhooksPerInstance,
  });
  const messages = new MessageReads(spool, events);
  const upgradeStatus = new UpgradeStatusService({ tokens: repositories.statusTokens, fleet: fleetRepository, upgrades: programService, held: suspensions });
  // The operators' services: the console reads through its own port; sessions last in wall time.
  const fleetReads = new FleetReads(fleetRepository, spool, events);
  const captureService = new CaptureService(captures);
  const consoleService = new ConsoleService({ reads: repositories.console, fleet: fleetRepository, instances: fleet, held: suspensions }, clock);
  const operatorSessions = new OperatorSessions(repositories.sessions, adminToken, systemClock);
  const health = new HealthService({ store: { ping: async () => void (await sql`select 1`.execute(store.db)) }, engine });
  const cluster = new ClusterService({ nodes: repositories.nodes, leases: repositories.leases }, systemClock, {
    self: nodeId,
    ttlMs: config.nodeTtlMs,
    single: !clustered,
  });
  const services: Services = {
    config,
    adminToken,
    clock,
    authGuard,
    inflight,
    fleet,
    acceptor,
    engine,
    metrics,
    programService,
    notices,
    runner,
    submissions,
    suppressionService,
    webhookService,
    messages,
    upgradeStatus,
    fleetReads,
    captureService,
    console: consoleService,
    operatorSessions,
    health,
    cluster,
    senderDomains,
    domainChecks,
    feedback,
    reputation,
  };
  const webhookSender = new WebhookSender(
    leaderRepositories.webhooks,
    events,
    clock,
    log.child({ part: 'webhooks' }),
    new WebhookTargets(config.webhookAllowNetworks),
  );
  const retention = new Retention(leaderRepositories.retention, clock, log.child({ part: 'retention' }), config.retention);
  // The work done once for the cluster: by the elected leader (PostgreSQL), or by the one process (SQLite).
  async function startLeaderWork(): Promise<void> {
    webhookSender.start();
    retention.start();
    noticeLoop.start();
    runner.start();
  }
  async function stopLeaderWork(): Promise<void> {
    await runner.stop();
    await noticeLoop.stop();
    await retention.stop();
    await webhookSender.stop();
  }
  const registry = new NodeRegistry(repositories.nodes, spool, systemClock, log.child({ part: 'cluster' }), {
    node: { id: nodeId, host: hostname(), pid: process.pid, version: mailshiftVersion, roles: config.roles, startedAt: systemClock.now() },
    ttlMs: config.nodeTtlMs,
    onDead: limits ? (ids) => limits.releaseNodes(ids) : undefined,
  });
  const suspensionWatch =
    clustered && config.roles.includes('delivery') ? new SuspensionWatch(suspensions, engine, log.child({ part: 'cluster' }), suspensionWatchMs) : null;
  return {
    services,
    repositories,
    dialect: store.dialect,
    log,
    engine,
    runner,
    noticeLoop,
    webhookSender,
    retention,
    reputationBuffer,
    registry,
    leadership,
    suspensionWatch,
    startLeaderWork,
    stopLeaderWork,
    closeStore: () => store.close(),
  };
}

/** Composition root, second half: starts the listeners and loops of this node's roles. */
export async function startMailshift(config: Readonly<Config>, options: StartOptions = {}): Promise<RunningMailshift> {
  const composed = await composeMailshift(config, options);
  const { services, repositories, log, engine, registry, leadership, suspensionWatch } = composed;
  const { clock, fleet, acceptor, authGuard, inflight, metrics } = services;
  const { fleet: fleetRepository, captures } = repositories;
  const roles = new Set(config.roles);
  const capture = await startCaptureServer(config.capturePort, captures, clock, log.child({ part: 'capture' }));
  await ensureLocalInfrastructure(fleet, fleetRepository, capture.port, composed.dialect === 'sqlite');

  let inbound: Awaited<ReturnType<typeof startInboundServer>> | null = null;
  const tls = roles.has('smtp')
    ? await loadTls({ certPath: config.tlsCertPath, keyPath: config.tlsKeyPath, dataDir: config.dataDir, hostname: config.hostname })
    : null;
  if (tls) {
    // The operator's own key file is theirs to manage; say so when others can read it.
    if (config.tlsKeyPath && (statSync(config.tlsKeyPath).mode & 0o077) !== 0)
      log.warn({ path: config.tlsKeyPath }, 'the TLS private key is readable by other users');
    inbound = await startInboundServer(
      {
        host: config.host,
        port: config.smtpPort,
        hostname: config.hostname,
        maxMessageBytes: config.maxMessageBytes,
        maxRecipients,
        tls,
        dataDir: config.dataDir,
        maxClients: config.smtpMaxClients,
        maxClientsPerAddress: config.smtpMaxClientsPerAddress,
        identifyMs: config.smtpIdentifyMs,
        inflightWaitMs: config.inflightWaitMs,
        maxSpillBytes: config.maxSpillBytes,
        greetingDelayMs: config.smtpGreetingDelayMs,
      },
      fleet,
      acceptor,
      { authGuard, inflight, metrics },
      log.child({ part: 'smtp' }),
    );
  }
  let feedbackListener: Awaited<ReturnType<typeof startFeedbackServer>> | null = null;
  if (tls) {
    // The MX of bounce domains: DSNs and complaints from mailbox providers, and unsubscribes by mail.
    feedbackListener = await startFeedbackServer(
      {
        ...feedbackServerDefaults,
        host: config.host,
        port: config.feedbackPort,
        hostname: config.hostname,
        maxMessageBytes: config.maxMessageBytes + 1024 * 1024,
        tls,
        rules: config.bounceRules,
      },
      services.feedback,
      clock,
      log.child({ part: 'feedback' }),
    );
  }
  let http: Awaited<ReturnType<typeof buildHttpApp>> | null = null;
  let httpPort = 0;
  if (roles.has('http')) {
    http = await buildHttpApp(services, log.child({ part: 'http' }));
    await http.listen({ port: config.httpPort, host: config.host });
    const address = http.server.address();
    httpPort = typeof address === 'object' && address ? address.port : config.httpPort;
  }

  await registry.start();
  if (roles.has('delivery')) await engine.start();
  suspensionWatch?.start();
  if (leadership) leadership.start();
  else if (composed.dialect === 'sqlite' && roles.has('orchestrator')) await composed.startLeaderWork();
  log.info(
    {
      node: registry.id,
      roles: config.roles,
      smtpPort: inbound?.port,
      httpPort,
      capturePort: capture.port,
      feedbackPort: feedbackListener?.port,
      database: composed.dialect,
    },
    'mailshift started',
  );

  let stopping: Promise<void> | null = null;
  const stop = () =>
    (stopping ??= (async () => {
      // Stop accepting first; then finish what is in flight and hand back the rest.
      await Promise.all([inbound?.close(), http?.close(), feedbackListener?.close()]);
      if (leadership) await leadership.stop();
      else await composed.stopLeaderWork();
      await suspensionWatch?.stop();
      await acceptor.flush();
      await engine.stop();
      await composed.reputationBuffer.flush();
      await registry.stop();
      await capture.close();
      await composed.closeStore();
      log.info('mailshift stopped');
    })());

  return {
    services: { ...services, engine },
    repositories,
    httpPort,
    smtpPort: inbound?.port ?? 0,
    capturePort: capture.port,
    feedbackPort: feedbackListener?.port ?? 0,
    nodeId: registry.id,
    stop,
  };
}

/**
 * `local` relays to the built-in capture server, so a new installation can send at once.
 * One process on SQLite points it at its own capture port; in a cluster a node's start
 * never rewrites the shared row: `local` is made once, by the first node, and relays to
 * that node's capture server (a single-node convenience; a cluster relays to real sinks).
 */
async function ensureLocalInfrastructure(fleet: FleetService, repo: FleetRepository, capturePort: number, single: boolean): Promise<void> {
  const relay = { host: '127.0.0.1', port: capturePort };
  const existing = await repo.findInfrastructure({ name: 'local' });
  if (!existing) {
    await fleet.createInfrastructure({ name: 'local', relays: [`127.0.0.1:${capturePort}`], verificationAddress: 'verify@mailshift.localhost' });
  } else if (single && existing.relays.length === 1 && existing.relays[0].host === relay.host && existing.relays[0].port !== capturePort) {
    await repo.updateRelays(existing.id, [relay]);
  }
}

/** mailshift's own instance that sends upgrade notices; created on first use. */
async function noticeSender(repo: FleetRepository, infrastructure: string, now: number): Promise<Instance> {
  const existing = await repo.findInstance({ name: 'mailshift-notices' });
  if (existing) return existing;
  const infra = await repo.findInfrastructure({ name: infrastructure });
  if (!infra) throw new Error(`notice infrastructure ${infrastructure} does not exist`);
  const customer = (await repo.findCustomer('mailshift')) ?? (await repo.createCustomer('mailshift', [], now));
  return repo.createInstance({
    name: 'mailshift-notices',
    customerId: customer.id,
    productLine: 'standard-on-demand',
    environment: 'production',
    infrastructureId: infra.id,
    allowFrom: [],
    createdAt: now,
    system: true,
  });
}

function readOrCreateToken(path: string): string {
  if (existsSync(path)) {
    chmodSync(path, 0o600);
    const token = readFileSync(path, 'utf8').trim();
    const weak = weakTokenReason(token);
    if (weak) throw new ConfigError(`the admin token in ${path} is too weak: ${weak}; delete the file to have a strong one made`);
    return token;
  }
  const token = randomBytes(24).toString('base64url');
  writeFileSync(path, token + '\n', { mode: 0o600 });
  return token;
}
