import type { Kysely, Migration } from 'kysely';
import { columnTypes, type DialectName } from './column-types.ts';
import * as sendingCore from './001-sending-core.ts';
import * as upgradePrograms from './002-upgrade-programs.ts';
import * as sessions from './003-sessions.ts';
import * as cluster from './004-cluster.ts';
import * as clusterLimits from './005-cluster-limits.ts';
import * as claimAffinity from './006-claim-affinity.ts';
import * as feedback from './007-feedback.ts';
import * as sendingDomains from './008-sending-domains.ts';
import * as transport from './009-transport.ts';

type Step = { up(db: Kysely<unknown>, t: ReturnType<typeof columnTypes>): Promise<void> };

const steps: Record<string, Step> = {
  '001-sending-core': sendingCore,
  '002-upgrade-programs': upgradePrograms,
  '003-sessions': sessions,
  '004-cluster': cluster,
  '005-cluster-limits': clusterLimits,
  '006-claim-affinity': claimAffinity,
  '007-feedback': feedback,
  '008-sending-domains': sendingDomains,
  '009-transport': transport,
};

/** Migrations in a form kysely's Migrator takes, bound to the dialect's column types. */
export function migrations(dialect: DialectName): Record<string, Migration> {
  const t = columnTypes(dialect);
  return Object.fromEntries(Object.entries(steps).map(([name, step]) => [name, { up: (db: Kysely<unknown>) => step.up(db, t) }]));
}
