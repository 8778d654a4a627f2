import { readFileSync } from 'node:fs';

/** The package's version, read once: nodes report it, so a rolling upgrade shows which run what. */
export const mailshiftVersion: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
