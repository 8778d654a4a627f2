import type { UnverifiedFromPolicy } from '../sender/sending-domain.ts';

export const productLines = ['classic-managed', 'managed-cloud', 'standard-on-demand'] as const;
export type ProductLine = (typeof productLines)[number];

export const environments = ['development', 'staging', 'production'] as const;
export type Environment = (typeof environments)[number];

/** Through fixed relays, or straight to each domain's MX hosts. */
export const deliveryModes = ['relay', 'mx'] as const;
export type DeliveryMode = (typeof deliveryModes)[number];

/** An instance's SMTP login or API key. */
export const credentialKinds = ['smtp', 'api'] as const;
export type CredentialKind = (typeof credentialKinds)[number];

export interface Contact {
  email: string;
  locale: string;
  timezone: string;
}

export interface Customer {
  id: number;
  name: string;
  contacts: Contact[];
  createdAt: number;
}

export interface Relay {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (SMTPS, port 465) rather than STARTTLS. */
  secure?: boolean;
  /** A relay that needs AUTH: the password is sealed with the secret key (never stored or shown in clear). */
  login?: RelayLogin;
}

export interface RelayLogin {
  user: string;
  sealedPassword: string;
}

/**
 * Outbound TLS: `opportunistic` uses STARTTLS when offered and accepts any certificate;
 * `required` defers when the next hop offers no STARTTLS; `verify` also checks the
 * certificate chain and that it names the host.
 */
export const tlsPolicies = ['opportunistic', 'required', 'verify'] as const;
export type TlsPolicy = (typeof tlsPolicies)[number];

export interface DkimKey {
  domain: string;
  selector: string;
  privateKey: string;
}

/** Traffic shaping for one destination domain ('*' is the default for all others). */
export interface ShapingRule {
  domain: string;
  maxConnections: number;
  maxMessagesPerConnection: number;
  /** "100/s"-style, or null for no rate limit. */
  rate: string | null;
  /** The destination's TLS policy, over the infrastructure's. */
  tls?: TlsPolicy;
}

export interface Infrastructure {
  id: number;
  name: string;
  deliveryMode: DeliveryMode;
  relays: Relay[];
  sourceAddresses: string[];
  heloName: string;
  dkim: DkimKey[];
  shaping: ShapingRule[];
  verificationAddress: string;
  createdAt: number;
  /** Direct-MX delivery's port when not 25 (test rigs); null: 25. */
  mxPort: number | null;
  /** Outbound TLS policy for destinations whose shaping rule names none. */
  tls: TlsPolicy;
  /** Direct-MX: recipient domains' MTA-STS policies (RFC 8461) are fetched and enforced. */
  mtaSts: boolean;
  /** Mail whose From domain its customer has not verified: sent unsigned, or refused at the door. */
  unverifiedFrom: UnverifiedFromPolicy;
  /** The SPF include that covers this infrastructure's source addresses, named by domain checks. */
  spfInclude: string | null;
  /** Deliveries leave with a signed VERP return path at this domain, whose MX is mailshift's feedback listener; null: the message's own sender. */
  bounceDomain?: string | null;
}

export interface Instance {
  id: number;
  name: string;
  customerId: number;
  productLine: ProductLine;
  environment: Environment;
  infrastructureId: number;
  suspended: boolean;
  suspendedAt: number | null;
  suspendedReason: string | null;
  allowFrom: string[];
  createdAt: number;
  /** mailshift's own sender of notices: never part of an upgrade program. */
  system: boolean;
  /** Every delivery carries one-click List-Unsubscribe (RFC 8058). */
  listUnsubscribe?: boolean;
}

export const defaultShaping: ShapingRule = {
  domain: '*',
  maxConnections: 10,
  maxMessagesPerConnection: 100,
  rate: null,
};

/** The rule for a destination: exact domain, then parent domains, then '*'. */
export function shapingFor(rules: ShapingRule[], domain: string): ShapingRule {
  const d = domain.toLowerCase();
  const labels = d.split('.');
  for (let i = 0; i < labels.length; i++) {
    const candidate = labels.slice(i).join('.');
    const rule = rules.find((r) => r.domain.toLowerCase() === candidate);
    if (rule) return rule;
  }
  return rules.find((r) => r.domain === '*') ?? defaultShaping;
}
