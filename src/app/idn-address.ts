import { domainToASCII } from 'node:url';
import { fail, type Result } from '../core/errors.ts';
import { addressLiteral, validateAddress } from '../core/fleet/fleet-input.ts';

/**
 * The address as it is stored and sent: an internationalised domain (U-labels, or
 * `xn--` labels) in its A-label form, so routing, MX lookups, throttles and relays without
 * SMTPUTF8 all see ASCII; the local part is kept as written (RFC 6531 leaves it to the
 * receiver). ASCII domains and address literals are left exactly as given.
 */
export function asciiAddress(address: string): Result<string> {
  const valid = validateAddress(address);
  if (!valid.ok) return valid;
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1);
  if (addressLiteral(domain) !== null || !needsConversion(domain)) return valid;
  const ascii = domainToASCII(domain);
  if (ascii === '' || ascii.split('.').some((l) => l.length === 0 || l.length > 63) || ascii.length > 253) {
    return fail('invalid-address', `${JSON.stringify(address)}: ${JSON.stringify(domain)} is not a valid internationalised domain name`);
  }
  // Checked again: the mapping folds look-alikes (fullwidth "１２７.０.０.１" becomes a bare IP).
  return validateAddress(`${address.slice(0, at)}@${ascii}`);
}

function needsConversion(domain: string): boolean {
  return /[^\x00-\x7f]/.test(domain) || /(^|\.)xn--/i.test(domain);
}
