import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkBody, checkMessage, headerValue, isTraceField } from './message-check.ts';

const bytes = (s: string) => new TextEncoder().encode(s);

test('a CRLF message: headers parsed, folded lines joined, header end found', () => {
  const raw = 'From: a@b.example\r\nSubject: one\r\n two\r\n\r\nbody\r\n';
  const r = checkMessage(bytes(raw));
  assert.ok(r.ok);
  assert.equal(headerValue(r.value.headers, 'subject'), 'one two');
  assert.equal(raw.slice(r.value.headerEnd, r.value.headerEnd + 4), '\r\n\r\n');
});

test('bare LF line ends work too', () => {
  const r = checkMessage(bytes('From: a@b.example\nTo: c@d.example\n\nbody\n'));
  assert.ok(r.ok);
  assert.equal(headerValue(r.value.headers, 'to'), 'c@d.example');
});

test('a headers-only message is accepted', () => {
  assert.ok(checkMessage(bytes('From: a@b.example\r\nSubject: x\r\n')).ok);
});

test('a large body is not inspected', () => {
  const body = 'x'.repeat(5 * 1024 * 1024);
  const r = checkMessage(bytes(`From: a@b.example\r\n\r\n${body}`));
  assert.ok(r.ok);
  assert.equal(r.value.headers.length, 1);
});

for (const [name, raw, why] of [
  ['no From', 'Subject: x\r\n\r\nbody', /no From/],
  ['two From fields', 'From: a@b.example\r\nFrom: c@d.example\r\n\r\nx', /more than one From/],
  ['a line that is no field', 'From: a@b.example\r\nthis is prose\r\n\r\nx', /not a "Name: value" field/],
  ['a folded first line', ' From: a@b.example\r\n\r\nx', /folded/],
  ['an empty header block', '\r\n\r\nbody', /no From/],
  ['a NUL in Message-ID', 'From: a@b.example\r\nMessage-ID: <x\0y@b.example>\r\n\r\nbody', /line 2 contains a NUL byte/],
  ['a NUL in a field name', 'From: a@b.example\r\nX-\0Bad: 1\r\n\r\nbody', /NUL byte/],
  ['a NUL on a folded line', 'From: a@b.example\r\nSubject: one\r\n \0two\r\n\r\nbody', /line 3 contains a NUL byte/],
  ['a NUL as a header line of its own', 'From: a@b.example\r\n\0\r\n\r\nbody', /NUL byte/],
  ['a bare CR inside a value', 'From: a@b.example\r\nSubject: a\rBcc: x@y.example\r\n\r\nbody', /bare CR/],
  ['an escape character', 'From: a@b.example\r\nSubject: \x1b[31mred\r\n\r\nbody', /control character 0x1b/],
  ['DEL', 'From: a@b.example\r\nSubject: a\x7f\r\n\r\nbody', /control character 0x7f/],
  ['a control character in a headers-only message', 'From: a@b.example\r\nSubject: \x01\r\n', /control character 0x01/],
] as const) {
  test(`refused: ${name}`, () => {
    const r = checkMessage(bytes(raw));
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.error.code, 'malformed-message');
      assert.match(r.error.detail, why);
    }
  });
}

test('8-bit header bytes are carried, not refused', () => {
  const raw = new Uint8Array([...bytes('From: a@b.example\r\nSubject: '), 0xe9, ...bytes('\r\n\r\nx')]);
  assert.ok(checkMessage(raw).ok);
});

test('a tab inside a value and tab folding are fine', () => {
  const r = checkMessage(bytes('From: a@b.example\r\nSubject: a\tb\r\n\tc\r\n\r\nbody'));
  assert.ok(r.ok);
  assert.equal(headerValue(r.value.headers, 'subject'), 'a\tb c');
});

test('each field spans its own lines, folding and line break included', () => {
  const raw = 'From: a@b.example\r\nReceived: from x\r\n by y\r\nSubject: s\r\n\r\nbody';
  const r = checkMessage(bytes(raw));
  assert.ok(r.ok);
  const spans = r.value.headers.map((h) => raw.slice(h.start, h.end));
  assert.deepEqual(spans, ['From: a@b.example\r\n', 'Received: from x\r\n by y\r\n', 'Subject: s\r\n']);
  assert.equal(raw.slice(r.value.headers[2].end), '\r\nbody');
});

test('spans work with bare LF and for a headers-only message', () => {
  const raw = 'From: a@b.example\nSubject: s';
  const r = checkMessage(bytes(raw));
  assert.ok(r.ok);
  assert.deepEqual(
    r.value.headers.map((h) => raw.slice(h.start, h.end)),
    ['From: a@b.example\n', 'Subject: s'],
  );
});

test('checkBody: 8-bit bytes carried, a NUL refused', () => {
  const ok8 = new Uint8Array([...bytes('From: a@b.example\r\n\r\n'), 0xc3, 0xa9, 0xff]);
  const checked = checkMessage(ok8);
  assert.ok(checked.ok);
  assert.ok(checkBody(ok8, checked.value.headerEnd).ok);
  const nul = bytes('From: a@b.example\r\n\r\nbin\0ary');
  const r = checkBody(nul, 19);
  assert.equal(r.ok, false);
  if (!r.ok) {
    assert.equal(r.error.code, 'malformed-message');
    assert.match(r.error.detail, /NUL byte at offset 24/);
  }
});

test('trace fields are known whatever their case', () => {
  for (const name of ['Received', 'RETURN-PATH', 'dkim-signature', 'ARC-Seal', 'Authentication-Results', 'Delivered-To', 'X-Original-To'])
    assert.ok(isTraceField(name), name);
  for (const name of ['Subject', 'List-Unsubscribe', 'X-Campaign', 'Resent-From']) assert.equal(isTraceField(name), false, name);
});

test('UTF-8 header values read as written; invalid UTF-8 is carried byte by byte', () => {
  const r = checkMessage(bytes('From: a@b.example\r\nTo: usuario@ejemplo.españa\r\nSubject: año\r\n nuevo\r\n\r\nx'));
  assert.ok(r.ok);
  assert.equal(headerValue(r.value.headers, 'to'), 'usuario@ejemplo.españa');
  assert.equal(headerValue(r.value.headers, 'subject'), 'año nuevo');
  const latin = new Uint8Array([...bytes('From: a@b.example\r\nSubject: a'), 0xf1, ...bytes('o\r\n\r\nx')]);
  const l = checkMessage(latin);
  assert.ok(l.ok);
  assert.equal(headerValue(l.value.headers, 'subject'), 'año');
});
