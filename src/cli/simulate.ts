import type { Command } from 'commander';
import { CliError } from './api-client.ts';

interface Options {
  instances: string;
  held: string;
  rate: string;
  waveSize?: string;
  json?: boolean;
}

const seconds = (ms: number | null) => (ms === null ? '-' : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)}s`);
const minutes = (ms: number | null) => (ms === null ? '-' : ms < 60_000 ? seconds(ms) : `${(ms / 60_000).toFixed(1)}m`);

/** `mailshift simulate`: runs on its own, no server needed. */
export function addSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('run a whole upgrade program on a synthetic fleet in accelerated time and report what happened to the mail')
    .option('--instances <n>', 'instances in the fleet', '200')
    .option('--held <n>', 'messages held in the spool throughout (a suspended backlog)', '0')
    .option('--rate <n>', 'messages injected per second (real time)', '200')
    .option('--wave-size <n>', 'instances per wave (default: an eighth of the fleet)')
    .option('--json', 'print the report as JSON only')
    .action(async (o: Options) => {
      const instances = Number(o.instances);
      if (!Number.isInteger(instances) || instances < 1) throw new CliError('--instances must be a positive integer');
      const { runSimulation } = await import('../simulate/simulation.ts');
      const bar = progressBar(!o.json && process.stderr.isTTY !== false);
      const report = await runSimulation({
        instances,
        held: Number(o.held),
        rate: Number(o.rate),
        waveSize: o.waveSize === undefined ? undefined : Number(o.waveSize),
        onProgress: bar.update,
      });
      bar.done();
      if (o.json) {
        process.stdout.write(JSON.stringify(report) + '\n');
      } else {
        const rows = report.waves.map((w) =>
          [
            w.index,
            w.phase + (w.retry ? ' (retry)' : ''),
            w.instances,
            minutes(w.estimatedMs),
            minutes(w.actualMs),
            seconds(w.pauseP50Ms),
            seconds(w.pauseP99Ms),
            w.heldReleased,
            w.lost,
            w.afterSwitchViaSource,
          ].join('\t'),
        );
        process.stdout.write(
          [
            ['wave', 'phase', 'instances', 'estimated', 'actual', 'pause p50', 'pause p99', 'held+released', 'lost', 'via source after switch'].join('\t'),
            ...rows,
            '',
            `program ${report.programState}: ${report.instances} instances, ${report.switchedOnce} switched exactly once, ${report.rolledBack} not switched`,
            `mail: ${report.accepted} accepted, ${report.delivered} delivered, ${report.lost} lost, ${report.duplicates} duplicates, ${report.afterSwitchViaSource} sent through the source after the switch`,
            `sending pause per instance: p50 ${seconds(report.pauseP50Ms)}, p99 ${seconds(report.pauseP99Ms)} (with ${report.heldBacklog} messages held in the spool)`,
            `${report.notices} notices; ${(report.simulatedMs / 86_400_000).toFixed(1)} simulated days in ${(report.realMs / 1000).toFixed(1)} s`,
          ].join('\n') + '\n',
        );
      }
      if (report.lost > 0 || report.afterSwitchViaSource > 0) process.exitCode = 1;
    });
}

function progressBar(enabled: boolean) {
  let last = '';
  return {
    update(p: { wavesDone: number; waves: number; switched: number; instances: number }) {
      if (!enabled) return;
      const width = 30;
      const filled = p.waves === 0 ? width : Math.round((p.wavesDone / p.waves) * width);
      const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] waves ${p.wavesDone}/${p.waves}, instances switched ${p.switched}/${p.instances}`;
      if (line !== last) process.stderr.write(`\r${line}`);
      last = line;
    },
    done() {
      if (enabled && last) process.stderr.write('\n');
    },
  };
}
