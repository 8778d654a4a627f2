import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withListUnsubscribe } from './list-unsubscribe.ts';

const links = { url: 'https://mail.example.net/u/abc', mailto: 'u-1-0123456789abc@bounces.example.net' };
const message = (headers: string) => Buffer.from(`${headers}From: a@acme.example\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nbody\r\n`);

test('adds both fields in front when the message has none; the rest is untouched', () => {
  const out = withListUnsubscribe(message(''), links).toString();
  assert.ok(
    out.startsWith(
      'List-Unsubscribe: <https://mail.example.net/u/abc>, <mailto:u-1-0123456789abc@bounces.example.net?subject=unsubscribe>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\nFrom: a@acme.example\r\n',
    ),
  );
  assert.ok(out.endsWith('\r\n\r\nbody\r\n'));
});

test('without a mailbox only the URL is listed', () => {
  assert.match(withListUnsubscribe(message(''), { ...links, mailto: null }).toString(), /^List-Unsubscribe: <https:\/\/mail\.example\.net\/u\/abc>\r\n/);
});

test('a tenant\u2019s own List-Unsubscribe is kept; Post is added only for an http(s) link, and never twice', () => {
  const https = withListUnsubscribe(message('List-Unsubscribe: <https://acme.example/x>\r\n'), links).toString();
  assert.equal(https.match(/^List-Unsubscribe:/gm)?.length, 1);
  assert.match(https, /^List-Unsubscribe: <https:\/\/acme\.example\/x>$/m);
  assert.match(https, /^List-Unsubscribe-Post: List-Unsubscribe=One-Click$/m);
  const mailOnly = withListUnsubscribe(message('List-Unsubscribe: <mailto:leave@acme.example>\r\n'), links);
  assert.doesNotMatch(mailOnly.toString(), /List-Unsubscribe-Post/);
  const both = message('List-Unsubscribe: <https://acme.example/x>\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n');
  assert.equal(withListUnsubscribe(both, links), both);
});
