import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sleep, waitForPort } from './proc.ts';

export const postfixAvailable = () => existsSync('/usr/sbin/postfix') && process.getuid?.() === 0;

export interface PostfixInstance {
  smtpPort: number;
  masterPid(): number | undefined;
  stop(): Promise<void>;
}

/** Services a relay-only Postfix needs; nothing chrooted, no content filter. */
const services = `
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;

/**
 * A private Postfix (own config, queue and data directories under a temp dir) listening on
 * a free loopback port and relaying everything from 127.0.0.0/8 to the sink. Everything else
 * is Postfix's default, fsync of queue files before 250 included.
 */
export async function startPostfix(sinkPort: number): Promise<PostfixInstance> {
  const root = mkdtempSync(join(tmpdir(), 'mailshift-bench-postfix-'));
  chmodSync(root, 0o755); // the postfix user must reach its queue
  const conf = join(root, 'etc');
  const queue = join(root, 'spool');
  const data = join(root, 'data');
  mkdirSync(conf);
  mkdirSync(queue);
  mkdirSync(data);
  const postfixUid = Number(execFileSync('id', ['-u', 'postfix']).toString().trim());
  chownSync(data, postfixUid, 0);
  const smtpPort = await freePort();
  writeFileSync(
    join(conf, 'main.cf'),
    [
      'compatibility_level = 3.6',
      `queue_directory = ${queue}`,
      `data_directory = ${data}`,
      `maillog_file = ${join(root, 'maillog')}`,
      `maillog_file_prefixes = ${root}`,
      'myhostname = postfix-bench.localhost',
      'mydomain = localhost',
      'mydestination =',
      'local_recipient_maps =',
      'alias_maps =',
      'alias_database =',
      'relay_domains =',
      'inet_interfaces = loopback-only',
      'inet_protocols = ipv4',
      'mynetworks = 127.0.0.0/8',
      `relayhost = [127.0.0.1]:${sinkPort}`,
      'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
      // Loopback only: no DNS for client names (there is no resolver to ask).
      'smtpd_peername_lookup = no',
      'biff = no',
      '',
    ].join('\n'),
  );
  writeFileSync(join(conf, 'master.cf'), `127.0.0.1:${smtpPort} inet n - n - - smtpd\n${services.trimStart()}`);
  const postfix = (...args: string[]) => execFileSync('/usr/sbin/postfix', ['-c', conf, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pidFile = join(queue, 'pid', 'master.pid');
  const masterPid = () => {
    try {
      return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  const stop = async () => {
    const pid = masterPid();
    try {
      postfix('stop');
    } catch {}
    // `postfix stop` only signals the master: wait until it and its children are gone.
    for (let i = 0; pid && i < 200 && existsSync(`/proc/${pid}`); i++) await sleep(50);
    rmSync(root, { recursive: true, force: true });
  };
  try {
    postfix('start');
    await waitForPort(smtpPort);
  } catch (err) {
    // Before its log daemon runs, Postfix reports to syslog (or to stderr on a terminal only).
    const log = existsSync(join(root, 'maillog')) ? readFileSync(join(root, 'maillog'), 'utf8').slice(-2000) : '';
    await stop();
    throw new Error(`postfix did not start (try: script -qec "postfix -c DIR start" /dev/null): ${String(err)}\n${log}`);
  }
  return { smtpPort, masterPid, stop };
}
