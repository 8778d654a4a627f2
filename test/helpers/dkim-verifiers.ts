import { execFile, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createDnsResolver } from '../../src/engine/dns-resolver.ts';
import { systemClock } from '../../src/system-clock.ts';

const require = createRequire(import.meta.url);
const { dkimVerify } = require('mailauth/lib/dkim/verify') as {
  dkimVerify(
    input: Buffer,
    options: { resolver(name: string, type: string): Promise<unknown> },
  ): Promise<{ results: { signingDomain: string; selector: string; algo: string; status: { result: string; comment?: string } }[] }>;
};

export interface SignatureVerdict {
  domain: string;
  selector: string;
  algorithm: string;
  result: string;
}

/** mailauth's verifier, its public keys looked up through the DNS server at `servers`. */
export async function verifyWithMailauth(raw: string | Buffer, servers: string): Promise<SignatureVerdict[]> {
  const dns = createDnsResolver([servers], systemClock);
  const resolver = async (name: string, type: string) => {
    if (type !== 'TXT') throw Object.assign(new Error(`no ${type}`), { code: 'ENOTFOUND' });
    return dns.resolveTxt(name);
  };
  const { results } = await dkimVerify(Buffer.from(raw), { resolver });
  return results.map((r) => ({ domain: r.signingDomain, selector: r.selector, algorithm: r.algo, result: r.status.result }));
}

// Debian's python3-dkim, with a dnsfunc that asks the loopback DNS server (python3-dnslib).
const python = `
import sys, json, dkim
from dnslib import DNSRecord
host, port = sys.argv[1].rsplit(':', 1)
def dnsfunc(name, timeout=5):
    name = name.decode() if isinstance(name, bytes) else name
    reply = DNSRecord.parse(DNSRecord.question(name.rstrip('.'), 'TXT').send(host, int(port), timeout=timeout))
    for rr in reply.rr:
        return b''.join(rr.rdata.data)
    return None
msg = sys.stdin.buffer.read()
count = sum(1 for line in msg.split(b'\\n\\n')[0].split(b'\\n') if line.lower().startswith(b'dkim-signature:'))
def verify(i):
    try:
        return bool(dkim.DKIM(msg).verify(idx=i, dnsfunc=dnsfunc))
    except dkim.ValidationError:
        return False
print(json.dumps([verify(i) for i in range(count)]))
`;

/** Why python3-dkim cannot run here, or null when it can. */
export function pythonDkimMissing(): string | null {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import dkim, dnslib, nacl'], { stdio: 'ignore' });
    return null;
  } catch {
    return 'python3-dkim (with python3-dnslib and python3-nacl) is not installed';
  }
}

/** One verdict per DKIM-Signature, top first, from python3-dkim. */
export function verifyWithPython(raw: string | Buffer, servers: string): Promise<boolean[]> {
  return new Promise((resolve, reject) => {
    const child = execFile('/usr/bin/python3', ['-c', python, servers], (err, stdout, stderr) => {
      if (err) reject(new Error(`python3-dkim: ${stderr || err.message}`));
      else resolve(JSON.parse(stdout));
    });
    child.stdin?.end(Buffer.from(raw));
  });
}
