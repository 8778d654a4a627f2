import type { Command } from 'commander';
import { callAndPrint, collect, table, type ApiClient } from './api-client.ts';
import type { Plan, ProgramBody, ProgramCreated, ProgramResumed, ProgramStatus, Published } from '../http/schemas/programs.ts';
import { fleetName } from './cli-names.ts';

/** What the plan and the publish answers share. */
type PlanView = Pick<Plan, 'start' | 'end' | 'totalMs' | 'notes' | 'waves'>;

interface CreateOptions {
  from: string;
  to: string;
  products?: string;
  nonprodStart: string;
  prodStart: string;
  waveSize?: string;
  concurrency?: string;
  minNoticeNonprod?: string;
  minNoticeProd?: string;
  hours?: string;
  weekdays?: string;
  switchEstimate?: string;
  drainAllowance?: string;
  haltThreshold?: string;
  reminder: string[];
  support?: string;
  json?: boolean;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

export function addProgramCommands(program: Command, api: ApiClient): void {
  const cmd = program.command('program').description('upgrade programs: move instances to another infrastructure in waves');

  cmd
    .command('create <name>')
    .description('create a program (a draft until published)')
    .requiredOption('--from <infra>', 'source infrastructure')
    .requiredOption('--to <infra>', 'target infrastructure')
    .option('--products <list>', 'product lines, comma-separated (default: all)')
    .requiredOption('--nonprod-start <iso>', 'earliest start of the non-production phase')
    .requiredOption('--prod-start <iso>', 'earliest start of the production phase')
    .option('--wave-size <n>', 'instances per wave (default 50)')
    .option('--concurrency <n>', 'switches at once within a wave (default 5)')
    .option('--min-notice-nonprod <dur>', 'minimum notice before non-production windows (default 7d)')
    .option('--min-notice-prod <dur>', 'minimum notice before production windows (default 30d)')
    .option('--hours <range>', 'allowed window hours, UTC, e.g. 22:00-06:00 (default: any hour)')
    .option('--weekdays <list>', 'allowed weekdays, e.g. mon-fri (default: every day)')
    .option('--switch-estimate <dur>', 'prior per-instance switch time (default 30s)')
    .option('--drain-allowance <dur>', 'time added to each wave (default 5m)')
    .option('--halt-threshold <fraction>', 'failed share of a wave that halts it (default 0.1)')
    .option('--reminder <dur>', 'reminder before each window (repeatable; default 72h and 24h)', collect, [])
    .option('--support <contact>', 'support contact printed in notices')
    .option('--json', 'print JSON')
    .action((name: string, o: CreateOptions) =>
      callAndPrint<ProgramCreated>(
        api,
        {
          method: 'POST',
          path: ['programs'],
          body: compact({
            name: fleetName('program', name),
            from: fleetName('infrastructure', o.from),
            to: fleetName('infrastructure', o.to),
            products: o.products,
            nonprodStart: o.nonprodStart,
            prodStart: o.prodStart,
            waveSize: num(o.waveSize),
            concurrency: num(o.concurrency),
            minNoticeNonprod: o.minNoticeNonprod,
            minNoticeProd: o.minNoticeProd,
            hours: o.hours,
            weekdays: o.weekdays,
            switchEstimate: o.switchEstimate,
            drainAllowance: o.drainAllowance,
            haltThreshold: num(o.haltThreshold),
            reminders: o.reminder.length > 0 ? o.reminder : undefined,
            supportContact: o.support,
          }),
        },
        o,
        () => `created program ${name} (draft); see it with: mailshift program plan ${name}`,
      ),
    );

  cmd
    .command('plan <name>')
    .description('show the waves the program would have if published now')
    .option('--json', 'print JSON')
    .action((name: string, o: { json?: boolean }) =>
      callAndPrint<Plan>(api, { method: 'GET', path: ['programs', fleetName('program', name), 'plan'] }, o, planText),
    );

  cmd
    .command('publish <name>')
    .description('lock the schedule and notify every affected customer')
    .option('--json', 'print JSON')
    .action((name: string, o: { json?: boolean }) =>
      callAndPrint<Published>(
        api,
        { method: 'POST', path: ['programs', fleetName('program', name), 'publish'] },
        o,
        (p) => `published ${name}: ${p.waves.length} waves, ${p.notices} notices queued\n${planText(p)}`,
      ),
    );

  cmd
    .command('resume <name>')
    .description('let a halted program go on once the cause is fixed')
    .option('--json', 'print JSON')
    .action((name: string, o: { json?: boolean }) =>
      callAndPrint<ProgramResumed>(api, { method: 'POST', path: ['programs', fleetName('program', name), 'resume'] }, o, (r) => `program ${name}: ${r.state}`),
    );

  cmd
    .command('status <name>')
    .description('progress per wave and per instance')
    .option('--json', 'print JSON')
    .action((name: string, o: { json?: boolean }) =>
      callAndPrint<ProgramStatus>(api, { method: 'GET', path: ['programs', fleetName('program', name), 'status'] }, o, statusText),
    );

  program
    .command('reschedule-request <instance>')
    .description("record a customer's request to move its slot (always refused, with the reason)")
    .requiredOption('--reason <text>', "the customer's reason")
    .option('--json', 'print JSON')
    .action((instance: string, o: { reason: string; json?: boolean }) =>
      callAndPrint(
        api,
        { method: 'POST', path: ['instances', fleetName('instance', instance), 'reschedule-request'], body: { reason: o.reason } },
        o,
        () => '',
      ),
    );

  program
    .command('opt-out <instance>')
    .description("record a customer's request to opt out (always refused: the upgrade is mandatory)")
    .requiredOption('--reason <text>', "the customer's reason")
    .option('--json', 'print JSON')
    .action((instance: string, o: { reason: string; json?: boolean }) =>
      callAndPrint(api, { method: 'POST', path: ['instances', fleetName('instance', instance), 'opt-out'], body: { reason: o.reason } }, o, () => ''),
    );
}

function planText(p: PlanView): string {
  const rows = p.waves.map((w) => [w.index, w.phase + (w.retry ? ' (retry)' : ''), w.start, w.end, minutes(w.estimateMs), w.instances.length]);
  return [
    table([['wave', 'phase', 'start', 'end', 'estimate', 'instances'], ...rows]),
    `total ${minutes(p.totalMs)} from ${p.start} to ${p.end}`,
    ...p.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

function statusText(s: ProgramStatus): string {
  const waves = s.waves.map((w) => [
    w.index,
    w.phase + (w.retry ? ' (retry)' : ''),
    w.state,
    w.start,
    minutes(w.estimateMs),
    w.actualMs === null ? '-' : minutes(w.actualMs),
    w.instances,
  ]);
  const counts = new Map<string, number>();
  for (const i of s.instances) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
  return [
    `program ${s.name}: ${s.state}${s.haltedReason ? ` (${s.haltedReason})` : ''}`,
    table([['wave', 'phase', 'state', 'start', 'estimate', 'actual', 'instances'], ...waves]),
    `instances: ${[...counts].map(([k, v]) => `${v} ${k}`).join(', ')}`,
  ].join('\n');
}

function num(v: string | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/** The body without the options left out: JSON drops them anyway, this keeps the type honest. */
function compact(o: { [K in keyof ProgramBody]: ProgramBody[K] | undefined }): ProgramBody {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as ProgramBody;
}
