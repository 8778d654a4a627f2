/**
 * Memory of the SMTP door under large parallel messages (issue 7's figure): N clients at
 * once each send one message of S MB to a real `mailshift serve`, which delivers them to a
 * loopback sink. Prints the server's RSS before, its peak, and how it comes back down.
 *
 *   node --import tsx bench/smtp-memory.ts [clients=20] [megabytes=20]
 *
 * Target: peak RSS ≤ 2 × bytes in flight + 150 MB; back under 300 MB within a minute.
 */
import nodemailer from 'nodemailer';
import { startMailshiftServer } from './mailshift.ts';
import { startSink } from './sink.ts';
import { readFileSync } from 'node:fs';
import { sleep, statusKb } from './proc.ts';

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const clients = Number(process.argv[2] ?? 20);
const megabytes = Number(process.argv[3] ?? 20);
const mb = (kb: number) => Math.round(kb / 1024);

const sink = await startSink(false);
const server = await startMailshiftServer(sink.port);
const rss = () => statusKb(server.pid, 'VmRSS');
try {
  await sleep(2000);
  const baseline = rss();
  let peak = baseline;
  const sampler = setInterval(() => (peak = Math.max(peak, rss())), 50);

  // One body shared by every client: the bench's own memory is not the server's.
  const line = 'x'.repeat(76) + '\r\n';
  const body = line.repeat(Math.ceil((megabytes * 1e6) / line.length));
  const started = Date.now();
  const serverCpu0 = cpuSeconds(server.pid);
  const benchCpu0 = process.cpuUsage();
  const results = await Promise.allSettled(
    Array.from({ length: clients }, (_, i) =>
      nodemailer
        .createTransport({ host: '127.0.0.1', port: server.smtpPort, secure: false, ignoreTLS: true } as Parameters<typeof nodemailer.createTransport>[0])
        .sendMail({
          envelope: { from: 'bench@bench.example', to: [`r${i}@example.com`] },
          raw: `From: bench@bench.example\r\nTo: r${i}@example.com\r\nSubject: big ${i}\r\nMessage-ID: <big-${i}@bench.example>\r\nDate: ${new Date().toUTCString()}\r\n\r\n${body}`,
        } as never),
    ),
  );
  const acceptedAt = Date.now();
  const benchCpu = process.cpuUsage(benchCpu0);
  const cpu = { server: cpuSeconds(server.pid) - serverCpu0, clientsAndSink: (benchCpu.user + benchCpu.system) / 1e6 };
  const accepted = results.filter((r) => r.status === 'fulfilled').length;
  const refused = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason).slice(0, 120));
  await sink.waitFor(accepted, 120_000);
  const deliveredAt = Date.now();
  const peakLoad = peak;

  // Back down: sample for a minute after the last delivery.
  const after: Record<string, number> = {};
  let under300At: number | null = rss() < 300 * 1024 ? 0 : null;
  for (let s = 1; s <= 60; s++) {
    await sleep(1000);
    const now = rss();
    if (under300At === null && now < 300 * 1024) under300At = s;
    if ([1, 5, 10, 30, 60].includes(s)) after[`${s}s`] = mb(now);
  }
  clearInterval(sampler);

  const inflightMb = (clients * megabytes * 1e6) / 2 ** 20;
  console.log(
    JSON.stringify(
      {
        clients,
        megabytesEach: megabytes,
        accepted,
        refused,
        acceptSeconds: (acceptedAt - started) / 1000,
        deliverSeconds: (deliveredAt - started) / 1000,
        cpuSecondsWhileAccepting: cpu,
        rssMb: { baseline: mb(baseline), peak: mb(peakLoad), vmHwm: mb(server.peakRssKb()), afterLastDelivery: after },
        target: { peakAtMostMb: Math.round(2 * inflightMb + 150), under300WithinSeconds: 60 },
        secondsUntilUnder300Mb: under300At,
      },
      null,
      2,
    ),
  );
} catch (err) {
  console.error(err, server.logTail());
  process.exitCode = 1;
} finally {
  await server.stop();
  await sink.stop();
}
