/**
 * The header side of a DKIM signature (RFC 6376): the fields of a header block, their
 * relaxed canonical form (§3.4.2) and the DKIM-Signature field itself, folded. Written here
 * rather than taken from mailauth's tools module, which brings some 23 MB of dependencies
 * (a schema validator, a public-suffix list) into every node for these few lines.
 */

/** One field of a header block: its name as written and lowercased, and its bytes without the final CRLF. */
export interface HeaderFieldLine {
  name: string;
  key: string;
  line: Buffer;
}

/** The fields of a header block (without its blank line), continuation lines kept with their field. */
export function headerFieldLines(block: Buffer): HeaderFieldLine[] {
  const text = block.toString('latin1').replace(/[\r\n]+$/, '');
  const fields: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (fields.length > 0 && (line.startsWith(' ') || line.startsWith('\t'))) fields[fields.length - 1] += `\r\n${line}`;
    else fields.push(line);
  }
  return fields.map((field) => {
    const colon = field.indexOf(':');
    const name = (colon >= 0 ? field.slice(0, colon) : field).replace(/[ \t]+$/, '');
    return { name, key: name.toLowerCase(), line: Buffer.from(field, 'latin1') };
  });
}

/**
 * Relaxed header canonicalization: the name lowercased, the field unfolded, each run of
 * blanks one space, no blanks around the colon or at the end. Only SP and HTAB are
 * blanks (WSP); 8-bit bytes are left as they are.
 */
export function relaxedField(line: Buffer | string): string {
  const text = typeof line === 'string' ? line : line.toString('latin1');
  const colon = text.indexOf(':');
  const name = text
    .slice(0, colon)
    .replace(/[ \t]+$/, '')
    .toLowerCase();
  const value = text
    .slice(colon + 1)
    .replace(/\r?\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
  return `${name}:${value}`;
}

/** DKIM-Signature tags in the order they are written. */
export interface SignatureTags {
  a: string;
  d: string;
  s: string;
  t: number;
  /** The signed field names, separated by ": ". */
  h: string;
  bh: string;
}

function tagList(tags: SignatureTags, b: string): string[] {
  return ['v=1', `a=${tags.a}`, 'c=relaxed/relaxed', `d=${tags.d}`, `h=${tags.h}`, 'q=dns/txt', `s=${tags.s}`, `t=${tags.t}`, `bh=${tags.bh}`, `b=${b}`];
}

/**
 * What the signature covers of its own field: the relaxed form with an empty `b=`, as a
 * verifier rebuilds it from the folded field (folding only turns a space into CRLF SP,
 * which relaxation turns back).
 */
export function unsignedSignatureField(tags: SignatureTags): string {
  return relaxedField(`DKIM-Signature: ${tagList(tags, '').join('; ')}`);
}

/**
 * The DKIM-Signature field, folded at its spaces to lines of at most 78 characters where
 * it can be; `b=` is cut into pieces of 72 (whitespace in it is ignored, RFC 6376 §3.5).
 */
export function signatureField(tags: SignatureTags, b: string): string {
  const pieces = b.match(/.{1,72}/g) ?? [''];
  const words = tagList(tags, pieces[0]).join('; ').split(' ').concat(pieces.slice(1));
  const lines: string[] = [];
  let line = 'DKIM-Signature:';
  for (const word of words) {
    if (line.length + 1 + word.length > 78 && line.trim() !== 'DKIM-Signature:') {
      lines.push(line);
      line = ` ${word}`;
    } else line += ` ${word}`;
  }
  lines.push(line);
  return lines.join('\r\n');
}
