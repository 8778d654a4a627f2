import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// dns2 ships CommonJS without types: the few parts used here are typed below.
const dns2 = require('dns2') as {
  createServer(options: { udp: boolean; tcp?: boolean; handle(request: DnsPacket, send: (response: DnsPacket) => void): void }): DnsServer;
  Packet: {
    TYPE: Record<string, number>;
    CLASS: { IN: number };
    RCODE: Record<string, number>;
    createResponseFromRequest(request: DnsPacket): DnsPacket;
  };
};

interface DnsPacket {
  header: { rcode: number; aa: number };
  questions: { name: string; type: number }[];
  answers: Record<string, unknown>[];
}
interface DnsServer {
  listen(options: { udp: { port: number; address: string } }): Promise<unknown>;
  addresses(): { udp: { port: number } };
  close(): Promise<void>;
}

/** What one name answers; a name absent from the zone is NXDOMAIN. */
export interface DnsRecords {
  A?: string[];
  AAAA?: string[];
  MX?: { exchange: string; priority: number }[];
  /** Each string one TXT record; long ones are split into 255-byte strings as DNS requires. */
  TXT?: string[];
  /** Answer every query for this name with this code instead (SERVFAIL, REFUSED…). */
  rcode?: 'SERVFAIL' | 'REFUSED' | 'NXDOMAIN';
  /** Never answer: the client times out. */
  silent?: boolean;
  ttl?: number;
}

/**
 * A real DNS server on loopback (UDP) over a zone the test controls; point mailshift at it
 * with `MAILSHIFT_DNS_SERVERS=127.0.0.1:<port>`. `queries` counts the questions asked per
 * `name/TYPE`, so caching can be observed.
 */
export class DnsTestServer {
  readonly queries = new Map<string, number>();
  private constructor(
    private readonly server: DnsServer,
    readonly port: number,
    private readonly zone: Map<string, DnsRecords>,
  ) {}

  static async start(zone: Record<string, DnsRecords> = {}, address = '127.0.0.1'): Promise<DnsTestServer> {
    const records = new Map(Object.entries(zone).map(([name, r]) => [name.toLowerCase(), r]));
    const { Packet } = dns2;
    const typeName = new Map(Object.entries(Packet.TYPE).map(([k, v]) => [v, k]));
    let self: DnsTestServer | undefined;
    const server = dns2.createServer({
      udp: true,
      handle(request, send) {
        const response = Packet.createResponseFromRequest(request);
        response.header.aa = 1;
        const [question] = request.questions;
        if (!question) return send(response);
        const name = question.name.toLowerCase().replace(/\.$/, '');
        const type = typeName.get(question.type) ?? String(question.type);
        const key = `${name}/${type}`;
        self?.queries.set(key, (self.queries.get(key) ?? 0) + 1);
        const entry = records.get(name);
        if (entry?.silent) return;
        if (!entry || entry.rcode) {
          response.header.rcode = Packet.RCODE[entry?.rcode ?? 'NXDOMAIN'];
          return send(response);
        }
        const base = { name: question.name, type: question.type, class: Packet.CLASS.IN, ttl: entry.ttl ?? 300 };
        if (type === 'A') for (const address of entry.A ?? []) response.answers.push({ ...base, address });
        if (type === 'AAAA') for (const address of entry.AAAA ?? []) response.answers.push({ ...base, address });
        if (type === 'MX') for (const mx of entry.MX ?? []) response.answers.push({ ...base, exchange: mx.exchange, priority: mx.priority });
        if (type === 'TXT') for (const text of entry.TXT ?? []) response.answers.push({ ...base, data: chunks(text) });
        send(response);
      },
    });
    await server.listen({ udp: { port: 0, address } });
    self = new DnsTestServer(server, server.addresses().udp.port, records);
    return self;
  }

  /** `MAILSHIFT_DNS_SERVERS` for this server. */
  get servers(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Replace (or with `undefined`, remove) what a name answers. */
  set(name: string, records: DnsRecords | undefined): void {
    if (records) this.zone.set(name.toLowerCase(), records);
    else this.zone.delete(name.toLowerCase());
  }

  async close(): Promise<void> {
    await this.server.close();
  }
}

function chunks(text: string): string[] {
  const out: string[] = [];
  const bytes = Buffer.from(text, 'utf8');
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255).toString('utf8'));
  return out.length > 0 ? out : [''];
}
