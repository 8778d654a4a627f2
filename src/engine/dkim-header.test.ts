import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { headerFieldLines, relaxedField, signatureField, unsignedSignatureField } from './dkim-header.ts';

describe('DKIM header canonicalization and the signature field', () => {
  test('relaxed form of RFC 6376 §3.4.5: names lowercased, folds and blank runs one space, none at the ends', () => {
    const fields = headerFieldLines(Buffer.from('A: X\r\nB : Y\t\r\n\tZ  \r\n'));
    assert.deepEqual(
      fields.map((f) => f.name),
      ['A', 'B'],
    );
    assert.deepEqual(
      fields.map((f) => relaxedField(f.line)),
      ['a:X', 'b:Y Z'],
    );
  });

  test('only SP and HTAB are blanks: an 8-bit no-break space (0xA0) in a value is kept', () => {
    const [field] = headerFieldLines(Buffer.from([...Buffer.from('Subject: a'), 0xa0, ...Buffer.from('b \r\n')]));
    assert.equal(Buffer.from(relaxedField(field.line), 'latin1').toString('hex'), Buffer.from('subject:a\u00a0b', 'latin1').toString('hex'));
  });

  test('the folded field relaxes to the hashed form once its b= value is taken out', () => {
    const tags = {
      a: 'rsa-sha256',
      d: 'shop.example',
      s: 'ms2026',
      t: 1796577649,
      h: 'From: To: Subject: Date: Message-ID: List-Unsubscribe: List-Unsubscribe-Post: From',
      bh: 'frcCV1k9oG9oKj3dpUqdJg1PxRT2RSN/XKdLCPjaYaY=',
    };
    const b = 'A'.repeat(344);
    const field = signatureField(tags, b);
    const lines = field.split('\r\n');
    assert.ok(lines.length > 3, field);
    for (const line of lines) assert.ok(line.length <= 78, `over 78: ${line}`);
    assert.match(lines[0], /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=shop\.example;/);
    for (const line of lines.slice(1)) assert.match(line, /^ \S/);
    const relaxed = relaxedField(field);
    assert.equal(relaxed.replace(/b=[A-Za-z0-9+/= ]*$/, 'b='), unsignedSignatureField(tags));
    assert.equal(/ b=(.*)$/.exec(relaxed)?.[1].replace(/ /g, ''), b);
  });
});
