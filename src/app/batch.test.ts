import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DomainError } from '../core/errors.ts';
import { composeBatch, type BatchOptions, type BatchRequest } from './batch.ts';
import { sandboxedLiquid } from './batch-template.ts';

const MiB = 1024 * 1024;
const options: BatchOptions = { limits: { maxRenderedBytes: 64 * MiB, maxMessageBytes: 25 * MiB } };
// For tests of other limits: a loaded test machine must not trip the render-time limit.
const unhurried = { renderMsPerMessage: 10_000 };

function batch(fields: Partial<BatchRequest>, recipients = 1): BatchRequest {
  return {
    from: 'news@shop.example',
    subject: 'Hello',
    text: 'body',
    recipients: Array.from({ length: recipients }, (_, i) => ({ to: `r${i}@example.com`, substitutions: { name: `R${i}` } })),
    ...fields,
  };
}

async function refusal(request: BatchRequest, opts: BatchOptions = options): Promise<DomainError> {
  try {
    await composeBatch(request, opts);
  } catch (err) {
    assert.ok(err instanceof DomainError, `a DomainError, got ${String(err)}`);
    return err;
  }
  assert.fail('the batch was accepted');
}

describe('composeBatch', () => {
  test('renders and composes one message per recipient, escaping substitutions in html only', async () => {
    const out = await composeBatch(
      batch({
        subject: 'Hi {{ name }}',
        text: 'Dear {{ name }} <{{ to }}>',
        html: '<p>{{ name }}</p>',
        recipients: [{ to: 'a@example.com', substitutions: { name: '<b>Ana</b>' } }],
      }),
      options,
    );
    assert.equal(out.length, 1);
    const raw = out[0].raw.toString();
    assert.deepEqual(out[0].recipients, ['a@example.com']);
    assert.equal(out[0].mailFrom, 'news@shop.example');
    assert.match(raw, /^Subject: Hi <b>Ana<\/b>$/m);
    assert.match(raw, /Dear <b>Ana<\/b> <a@example\.com>/);
    assert.match(raw, /<p>&lt;b&gt;Ana&lt;\/b&gt;<\/p>/);
  });

  test('1,000 recipients with substitutions compose in order', async () => {
    const out = await composeBatch(batch({ text: 'Hi {{ name }}, {% for i in (1..3) %}{{ i }}{% endfor %}' }, 1000), options);
    assert.equal(out.length, 1000);
    assert.match(out[999].raw.toString(), /Hi R999, 123/);
  });

  for (const source of [
    '{% include "data/admin-token" %}',
    "{% include 'package.json' %}",
    "{% render '/etc/passwd' %}",
    '{% layout "default" %}body',
    '{% include "../../etc/passwd" %}',
    '{% include name %}',
    '{% liquid\n  render "/etc/hostname"\n%}',
    '{% if true %}{% include "/proc/self/environ" %}{% endif %}',
  ]) {
    test(`no file is reachable: ${JSON.stringify(source)}`, async () => {
      for (const field of ['subject', 'text', 'html'] as const) {
        const err = await refusal(batch({ [field]: source }));
        assert.equal(err.code, 'template-error');
        assert.match(err.detail, new RegExp(`^${field}: templates cannot include files`));
      }
    });
  }

  test('the engine has no file system behind it even when asked directly', async () => {
    const engine = sandboxedLiquid({ parseChars: 1000, memory: 1000 }, false);
    assert.throws(() => engine.parseFileSync('package.json'));
    await assert.rejects(engine.renderFile('package.json'));
  });

  test('the billion-step loop is refused by the memory limit before it allocates', async () => {
    const err = await refusal(batch({ text: '{% for i in (1..1000000000) %}x{% endfor %}' }));
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /^recipients\[0\]\.text: the template needs more memory than the limit/);
  });

  test('a render that takes too long is stopped at the per-recipient limit', async () => {
    const slow = '{% for i in (1..2000) %}{% for j in (1..2000) %}{% for k in (1..2000) %}{% endfor %}{% endfor %}{% endfor %}';
    const err = await refusal(batch({ html: slow }), { limits: { ...options.limits, renderMsPerMessage: 50, memoryPerRender: 1e12 } });
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /^recipients\[0\]\.html: the template takes longer to render than the limit of 50 ms per recipient/);
  });

  test('a filter over a large array or a long split is refused before it runs', async () => {
    const where = await refusal(
      batch({
        text: '{{ big | split: "" | where_exp: "c", "c == 1" | size }}',
        recipients: [{ to: 'a@example.com', substitutions: { big: 'ab'.repeat(40_000) } }],
      }),
    );
    assert.equal(where.code, 'template-error');
    assert.match(where.detail, /filter input too large: where_exp got 80000 items; at most 10000/);
    const split = await refusal(
      batch({ text: '{{ big | split: "," | size }}', recipients: [{ to: 'a@example.com', substitutions: { big: 'a,'.repeat(100_000) } }] }),
    );
    assert.match(split.detail, /filter input too large: split got 200000 characters/);
    const sorted = await refusal(
      batch({ text: '{{ list | sort | first }}', recipients: [{ to: 'a@example.com', substitutions: { list: Array.from({ length: 20_000 }, (_, i) => i) } }] }),
    );
    assert.match(sorted.detail, /sort got 20000 items/);
    // Ordinary use of the same filters still works.
    const ok = await composeBatch(
      batch({ text: '{{ tags | split: "," | sort | join: "+" }}', recipients: [{ to: 'a@example.com', substitutions: { tags: 'b,a,c' } }] }),
      options,
    );
    assert.match(ok[0].raw.toString(), /a\+b\+c/);
  });

  test('a large range made to be sorted is refused by the memory limit', async () => {
    const err = await refusal(batch({ text: '{% assign a = (1..3999990) %}{{ a | sort_natural | first }}' }));
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /needs more memory than the limit of 500000 items/);
  });

  test('one filter call that overruns the per-recipient time (no check interrupts it) refuses the batch at once', async () => {
    let t = 0;
    // The first field's render seems to take 400 ms: a single call liquidjs cannot stop.
    const elapsed = () => (t += 200);
    const err = await refusal(batch({}, 10), { limits: { ...options.limits, renderMsPerMessage: 250 }, elapsed });
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /^recipients\[0\]\.subject: rendering took 200 ms; the limit is 250 ms per message|^recipients\[0\]\.\w+: rendering took \d+ ms/);
  });

  test('the batch as a whole has a render-time budget', async () => {
    let t = 0;
    const elapsed = () => (t += 5); // every render seems to take 5 ms
    const err = await refusal(batch({}, 100), { limits: { ...options.limits, renderMsPerBatch: 100 }, elapsed });
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /the batch takes longer to render than the limit of 100 ms/);
    assert.match(err.detail, /^recipients\[(\d|1\d)\]\./, 'refused about the 10th recipient, not after all of them');
  });

  test('a batch certain to pass the byte cap is refused before anything renders', async () => {
    const twoMb = 'x'.repeat(2 * MiB);
    let renders = 0;
    const err = await refusal(batch({ text: twoMb }, 10_000), { ...options, elapsed: () => renders++ });
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /^the batch's rendered messages pass the limit of 67108864 bytes \(MAILSHIFT_BATCH_MAX_BYTES\)/);
    assert.equal(renders, 0);
  });

  test('output behind a tag counts as it renders: refused at the recipient that passes the cap', async () => {
    const err = await refusal(batch({ text: '{% if true %}' + 'y'.repeat(100_000) + '{% endif %}' }, 1000), {
      limits: { maxRenderedBytes: 1_000_000, maxMessageBytes: 25 * MiB, ...unhurried },
    });
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /^recipients\[(8|9)\]\.text: the batch's rendered messages pass the limit of 1000000 bytes/);
  });

  test('a loop repeating a large value stops at the cap instead of building the output', async () => {
    const big = 'z'.repeat(MiB);
    const err = await refusal(
      batch({ text: '{% for i in (1..100000) %}{{ big }}{% endfor %}', recipients: [{ to: 'a@example.com', substitutions: { big } }] }),
      { limits: { maxRenderedBytes: 8 * MiB, maxMessageBytes: 25 * MiB, ...unhurried } },
    );
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /^recipients\[0\]\.text: the batch's rendered messages pass the limit of 8388608 bytes/);
    const single = await refusal(
      batch({ text: '{% for i in (1..100000) %}{{ big }}{% endfor %}', recipients: [{ to: 'a@example.com', substitutions: { big } }] }),
      { limits: { maxRenderedBytes: 64 * MiB, maxMessageBytes: 4 * MiB, ...unhurried } },
    );
    assert.equal(single.code, 'message-too-large');
  });

  test('a template longer than the template limit, or with too many tags, is refused at parse', async () => {
    const long = await refusal(batch({ text: 'x'.repeat(2000) }), { limits: { ...options.limits, maxTemplateChars: 1000 } });
    assert.equal(long.code, 'template-error');
    assert.match(long.detail, /^text: the template is longer than 1000 characters/);
    // liquidjs parses in time quadratic in tokens: 80,000 outputs would hold the event loop for seconds.
    const tags = await refusal(batch({ html: '{{a}}'.repeat(80_000) }));
    assert.equal(tags.code, 'template-error');
    assert.match(tags.detail, /^html: the template has more than 5000 tags and outputs/);
    const within = await composeBatch(batch({ text: '{{ name }} '.repeat(2000) }), { limits: { ...options.limits, ...unhurried } });
    assert.match(within[0].raw.toString(), /R0 R0/);
  });

  test('a render failure at the last recipient is found before the batch is composed', async () => {
    const request = batch({ text: '{% for i in (1..n) %}.{% endfor %}' }, 1000);
    for (const [i, r] of request.recipients.entries()) r.substitutions = { n: i === 999 ? 1_000_000_000 : 3 };
    const err = await refusal(request);
    assert.equal(err.code, 'template-error');
    assert.match(err.detail, /^recipients\[999\]\.text: the template needs more memory/);
  });

  test('other template and message errors name the recipient and keep their code', async () => {
    const filter = await refusal(batch({ text: '{{ name | nosuchfilter }}' }));
    assert.equal(filter.code, 'template-error');
    const syntax = await refusal(batch({ text: '{% if %}' }));
    assert.equal(syntax.code, 'template-error');
    assert.match(syntax.detail, /^text: /);
    const address = await refusal({ ...batch({}), recipients: [{ to: 'ok@example.com' }, { to: 'not an address' }] });
    assert.equal(address.code, 'invalid-address');
    assert.match(address.detail, /^recipients\[1\]: /);
  });

  test('yields to the event loop between recipients', async () => {
    let turns = 0;
    let running = true;
    const tick = () => {
      turns++;
      if (running) setImmediate(tick);
    };
    setImmediate(tick);
    await composeBatch(batch({}, 200), options);
    running = false;
    assert.ok(turns >= 100, `the event loop turned ${turns} times while 200 recipients composed`);
  });
});

test('a batch whose client has gone stops rendering', async () => {
  let checks = 0;
  await assert.rejects(
    composeBatch(batch({}, 2000), { ...options, abandoned: () => ++checks > 1 }),
    (err: unknown) => err instanceof DomainError && err.code === 'unavailable',
  );
  assert.ok(checks < 100, `stopped early (${checks} checks)`);
});
