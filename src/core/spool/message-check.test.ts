import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMessage, headerValue } from './message-check.ts';

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
