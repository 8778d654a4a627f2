/**
 * The `Name: value` field syntax shared by message headers (RFC 5322), delivery-status
 * parts (RFC 3464, groups of fields separated by blank lines) and feedback reports
 * (RFC 5965). Lenient and bounded, because every byte here came from a stranger.
 */
export interface Field {
  /** Lower-cased. */
  name: string;
  /** Unfolded, runs of white space collapsed to one space, trimmed. */
  value: string;
}

export interface BlockLimits {
  maxBlocks: number;
  maxFieldsPerBlock: number;
  maxValueChars: number;
}

const defaults: BlockLimits = { maxBlocks: 500, maxFieldsPerBlock: 100, maxValueChars: 4000 };
const fieldStart = /^([!-9;-~]{1,76}):(.*)$/;

/** Groups of fields separated by blank lines; lines that are no field are skipped. */
export function parseFieldBlocks(text: string, limits: Partial<BlockLimits> = {}): Field[][] {
  const { maxBlocks, maxFieldsPerBlock, maxValueChars } = { ...defaults, ...limits };
  const blocks: Field[][] = [];
  let block: Field[] = [];
  let current: { name: string; parts: string[]; chars: number } | null = null;
  const finishField = () => {
    if (current && block.length < maxFieldsPerBlock) block.push({ name: current.name, value: squash(current.parts.join(' ')).slice(0, maxValueChars) });
    current = null;
  };
  const finishBlock = () => {
    finishField();
    if (block.length > 0) blocks.push(block);
    block = [];
  };
  for (const line of text.split(/\r?\n/)) {
    if (blocks.length >= maxBlocks) break;
    if (line.trim() === '') {
      finishBlock();
    } else if (/^[ \t]/.test(line)) {
      if (current && current.chars < maxValueChars) {
        current.parts.push(line);
        current.chars += line.length;
      }
    } else {
      finishField();
      const m = fieldStart.exec(line);
      if (m) current = { name: m[1].toLowerCase(), parts: [m[2]], chars: m[2].length };
    }
  }
  finishBlock();
  return blocks.slice(0, maxBlocks);
}

/** The header section of a message: the fields before its first blank line. */
export function parseHeaderBlock(text: string, maxFields = 200): Field[] {
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  return parseFieldBlocks(head, { maxBlocks: 1, maxFieldsPerBlock: maxFields })[0] ?? [];
}

export function fieldValue(fields: readonly Field[], name: string): string | null {
  return fields.find((f) => f.name === name)?.value ?? null;
}

export function fieldValues(fields: readonly Field[], name: string): string[] {
  return fields.filter((f) => f.name === name).map((f) => f.value);
}

/**
 * `rfc822; jane@example.org` → { type: 'rfc822', value: 'jane@example.org' } (RFC 3464's
 * typed fields: addresses, diagnostic codes, MTA names). A value without a type keeps all.
 */
export function typedValue(text: string): { type: string | null; value: string } {
  const m = /^([a-z0-9][a-z0-9.+-]{0,30})\s*;\s*(.*)$/i.exec(text);
  return m ? { type: m[1].toLowerCase(), value: m[2].trim() } : { type: null, value: text.trim() };
}

/** An address from a typed field or header value: `<a@b>`, `rfc822;a@b`, `Name <a@b>`. */
export function addressIn(text: string | null): string | null {
  if (text === null) return null;
  const { type, value } = typedValue(text);
  // RFC 6533: utf-8 addresses escape some characters as \x{HEX}.
  const plain = type === 'utf-8' ? value.replace(/\\x\{([0-9a-f]{1,6})\}/gi, (_, hex: string) => safeCodePoint(parseInt(hex, 16))) : value;
  const bracketed = /<([^<>\s]*)>/.exec(plain);
  const candidate = (bracketed ? bracketed[1] : (plain.split(/[\s,]/)[0] ?? '')).trim();
  return /^[^\s@<>]+@[^\s@<>]+$/.test(candidate) ? candidate : null;
}

/** Every address of an address-list header (`To: A <a@x>, b@y`). */
export function addressesIn(text: string | null): string[] {
  if (text === null) return [];
  const found = text.match(/<[^<>\s]+@[^<>\s]+>|[^\s<>,;:"]+@[^\s<>,;:"]+/g) ?? [];
  return found.map((a) => a.replace(/^<|>$/g, '')).slice(0, 100);
}

function squash(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function safeCodePoint(n: number): string {
  return n > 0x1f && n <= 0x10ffff && (n < 0xd800 || n > 0xdfff) ? String.fromCodePoint(n) : '';
}
