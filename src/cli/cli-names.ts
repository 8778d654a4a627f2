import { validateAddress, validateName } from '../core/fleet/fleet-input.ts';
import { CliError } from './api-client.ts';

/*
 * Names and addresses become path segments of admin API calls. They are checked here,
 * with the server's own rules, before any request: a name such as "..", "." or "a/b"
 * would otherwise be resolved by URL parsing into another route than the one meant.
 */

/** An instance, customer, infrastructure or program name, as the server would accept it. */
export function fleetName(kind: string, value: string): string {
  const v = validateName(kind, value);
  if (!v.ok) throw new CliError(v.error.detail);
  return v.value;
}

/** An address to add (the server's rule for new suppressions). */
export function mailAddress(value: string): string {
  const v = validateAddress(value);
  if (!v.ok) throw new CliError(v.error.detail);
  return v.value;
}

/**
 * An address already stored (to remove): looser than `mailAddress`, since entries written
 * before a rule tightened must stay removable, but never a dot segment or a control.
 */
export function storedAddress(value: string): string {
  if (value.length > 320 || !value.includes('@') || /[\p{Cc}\s]/u.test(value)) throw new CliError(`not an email address: ${JSON.stringify(value)}`);
  return value;
}

/** A message id as mailshift makes them (hex), or any plain token. */
export function messageId(value: string): string {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(value)) throw new CliError(`not a message id: ${JSON.stringify(value)}`);
  return value;
}

/** A domain name as a path segment: letters, digits, '-' and '.', never a dot segment (the server checks the rest). */
export function domainName(value: string): string {
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(value) || /^\.+$/.test(value)) throw new CliError(`not a domain name: ${JSON.stringify(value)}`);
  return value.toLowerCase();
}
