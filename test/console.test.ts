import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { WarpClock } from '../src/warp-clock.ts';
import { Sink } from './helpers/sink.ts';
import { DnsTestServer } from './helpers/dns-server.ts';
import { adminToken, eventually, startHarness, type Harness } from './helpers/harness.ts';
import { ok, upgradeFleet } from './helpers/upgrade-fleet.ts';

const day = 86_400_000;
const screenshots = join(import.meta.dirname, '..', 'test-output', 'screenshots');
const chromiumPath = process.env.MAILSHIFT_TEST_CHROMIUM ?? '/usr/bin/chromium';

// The flags .library's machine notes give for headless Chromium with no outside network.
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

const utcInput = (ms: number) => new Date(ms).toISOString().slice(0, 16);

describe('web console and customer status page, in a real browser', () => {
  let h: Harness;
  let source: Sink;
  let target: Sink;
  let clock: WarpClock;
  let keys: Record<string, string>;
  let browser: Browser;
  let operator: BrowserContext;
  let page: Page;
  let dns: DnsTestServer;
  const errors: string[] = [];

  const shot = async (p: Page, name: string) => p.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
  const go = async (path: string) => {
    await page.goto(h.url + path);
    await page.locator('main h1').first().waitFor();
  };
  const send = (instance: string, to: string, subject: string) =>
    h.api(keys[instance], 'POST', '/api/v1/messages', { from: `news@${instance}.example`, to: [to], subject, text: 'hello' });

  before(async () => {
    mkdirSync(screenshots, { recursive: true });
    source = await Sink.start((rcpt) => (rcpt.startsWith('nobody@') ? { code: 550, message: '5.1.1 no such user' } : undefined));
    // A slow canary keeps each switching instance paused long enough to look at it.
    target = await Sink.start(undefined, { canaryDelayMs: 6000 });
    clock = new WarpClock();
    dns = await DnsTestServer.start({
      'acme.example': { TXT: ['v=spf1 -all'] },
      '_dmarc.acme.example': { TXT: ['v=DMARC1; p=quarantine'] },
    });
    h = await startHarness({ MAILSHIFT_DNS_SERVERS: dns.servers }, { clock });
    keys = await upgradeFleet(h, source.relay, target.relay, [
      {
        customer: 'acme',
        contacts: [{ email: 'ops@acme.example', locale: 'es', timezone: 'Europe/Madrid' }],
        instances: [
          { name: 'acme-dev', environment: 'development' },
          { name: 'acme-stage', environment: 'staging' },
          { name: 'acme-prod', environment: 'production' },
        ],
      },
      {
        customer: 'globex',
        contacts: [{ email: 'it@globex.example', locale: 'en', timezone: 'America/New_York' }],
        instances: [
          { name: 'globex-dev', environment: 'development' },
          { name: 'globex-prod', environment: 'production' },
        ],
      },
    ]);
    // Some traffic for the charts: deliveries to two domains and one hard bounce.
    for (let i = 0; i < 6; i++) assert.equal((await send(i % 2 ? 'acme-prod' : 'globex-prod', `user${i}@example.com`, `hello ${i}`)).status, 202);
    assert.equal((await send('globex-prod', 'nobody@example.org', 'bounce')).status, 202);
    await source.waitFor(6);

    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    operator = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' });
    operator.setDefaultTimeout(15_000);
    page = await operator.newPage();
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/401|404/.test(m.text())) errors.push(m.text());
    });
  });

  after(async () => {
    await browser?.close();
    await h?.close();
    await source?.close();
    await target?.close();
    await dns?.close();
  });

  test('an operator signs in with the admin token; the API accepts the session cookie', async () => {
    await page.goto(h.url + '/');
    await page.getByLabel('Admin token').waitFor();
    await shot(page, '01-sign-in');
    await page.getByLabel('Admin token').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();

    await page.getByLabel('Admin token').fill(adminToken);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: 'acme-prod' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/fleet');

    const cookie = (await operator.cookies()).find((c) => c.name === 'mailshift_session')!;
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    // The cookie opens the admin API for reads; a change also needs the console's header.
    const headers = { cookie: `mailshift_session=${cookie.value}` };
    assert.equal((await fetch(`${h.url}/api/admin/v1/instances`, { headers })).status, 200);
    const forged = await fetch(`${h.url}/api/admin/v1/instances/acme-prod/suspend`, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'text/plain' },
      body: 'x',
    });
    assert.equal(forged.status, 401, 'a cross-site form post is refused');
    assert.equal((await fetch(`${h.url}/api/admin/v1/instances`, { headers: { cookie: `mailshift_session=${cookie.value.slice(0, -2)}xx` } })).status, 401);
    assert.equal((await fetch(`${h.url}/api/admin/v1/queue/domains`)).status, 401, 'console routes need auth too');
  });

  test('fleet: filters and search; instance page with suspend, held messages, resume', async () => {
    await go('/fleet');
    await page.getByLabel('Environment').selectOption('production');
    await page.getByText('2 of 5 instances').waitFor();
    await page.getByLabel('Search').fill('globex');
    await page.getByText('1 of 5 instances').waitFor();
    await page.getByLabel('Search').fill('');
    await page.getByLabel('Environment').selectOption('');
    await page.getByText('5 of 5 instances').waitFor();
    // Reputation: each instance's complaint rate over 24 h, of its deliveries.
    await page.getByRole('columnheader', { name: 'Complaints 24 h' }).waitFor();
    await page.getByRole('cell', { name: '0.00% (0 of 3)' }).first().waitFor();
    await shot(page, '02-fleet');

    await page.getByRole('link', { name: 'globex-prod' }).click();
    await page.getByRole('heading', { name: 'globex-prod', level: 1 }).waitFor();
    await page.getByRole('heading', { name: /Suppression list \(1\)/ }).waitFor();
    await page.getByText(/complaints, 24 h: 0 of 3 deliveries · hard bounces 33\.33% · unsubscribes 0\.00%/).waitFor();
    await page.getByLabel('Reason').fill('customer asked');
    await page.getByRole('button', { name: 'Suspend sending' }).click();
    await page.getByText(/globex-prod is suspended/).waitFor();
    for (let i = 0; i < 3; i++) assert.equal((await send('globex-prod', `held${i}@example.net`, `held ${i}`)).status, 202);
    await page.getByRole('heading', { name: 'Held messages (3)' }).waitFor({ timeout: 10_000 });
    await page.getByRole('cell', { name: 'held2@example.net' }).waitFor();
    await shot(page, '03-instance-suspended');
    // The held mail shows in the queue by destination domain.
    await go('/delivery');
    await page.getByRole('cell', { name: 'example.net' }).waitFor();
    await shot(page, '04-delivery-while-held');
    await page.goBack();
    await page.getByRole('heading', { name: 'globex-prod', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Resume sending' }).click();
    await page.getByText(/globex-prod resumed: 3 deliveries released/).waitFor();
    await source.waitFor(9);
  });

  test('programs: create from the form, preview the plan, publish after confirming, watch the waves complete', async () => {
    await go('/programs');
    await page.getByLabel('Name').fill('relay-2027');
    await page.getByLabel('From infrastructure').selectOption('blue');
    await page.getByLabel('To infrastructure').selectOption('green');
    await page.getByLabel('Non-production start (UTC)').fill(utcInput(clock.now() + 8 * day));
    await page.getByLabel('Production start (UTC)', { exact: true }).fill(utcInput(clock.now() + 31 * day));
    await page.getByLabel('Wave size').fill('2');
    await page.getByLabel('Concurrency').fill('2');
    await page.getByLabel('Switch estimate per instance').fill('2s');
    await page.getByLabel('Drain allowance').fill('1m');
    await page.getByLabel('Support contact').fill('help@mailshift.example');
    await shot(page, '05-program-form');
    await page.getByRole('button', { name: /Create program/ }).click();

    await page.getByRole('heading', { name: 'Plan preview' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/programs/relay-2027');
    await page.getByText(/^\d+ waves for 5 instances/).waitFor();
    await page.getByRole('img', { name: 'Non-production phase' }).waitFor();
    await page.getByRole('img', { name: 'Production phase', exact: true }).waitFor();
    await shot(page, '06-program-plan');

    await page.getByRole('button', { name: 'Publish…' }).click();
    const dialog = page.getByRole('dialog', { name: /Publish program relay-2027/ });
    await dialog.waitFor();
    await shot(page, '07-program-confirm');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await ok(h.admin('GET', '/api/admin/v1/programs/relay-2027/status'))).body.state, 'draft', 'cancel publishes nothing');
    await page.getByRole('button', { name: 'Publish…' }).click();
    await dialog.getByRole('button', { name: 'Publish and notify customers' }).click();
    await page.getByRole('heading', { name: 'Waves', exact: true }).waitFor();

    // A request to move a slot is refused with the reason; the program page lists it.
    assert.equal((await h.api(keys['acme-prod'], 'POST', '/api/v1/upgrade/reschedule-request', { reason: 'Black Friday' })).status, 409);
    // While the first wave runs, acme-dev's sending is paused: its customer sees that.
    await eventually(async () => (await h.admin('GET', '/api/admin/v1/instances/acme-dev')).body.suspended === true, 20_000, 'acme-dev to pause');
    for (let i = 0; i < 4; i++) assert.equal((await send('acme-dev', `later${i}@example.com`, `later ${i}`)).status, 202);
    const token = (await ok(h.admin('POST', '/api/admin/v1/customers/acme/status-token'))).body.token as string;
    const customer = await browser.newContext({ viewport: { width: 900, height: 800 }, locale: 'en-US' });
    const status = await customer.newPage();
    await status.goto(`${h.url}/status/${token}`);
    await status
      .getByText(/El envío está en pausa mientras se actualiza su instancia; [4-9] mensajes están retenidos y se enviarán después/)
      .waitFor({ timeout: 5000 });
    await shot(status, '08-status-es-paused');
    await page.locator('tr[data-wave="1"][data-state="running"]').waitFor();
    await shot(page, '09-program-running');
    await go('/fleet');
    await page.getByRole('row').filter({ hasText: 'acme-dev' }).getByText('switching').waitFor();
    await shot(page, '10-fleet-switching');
    await go('/programs/relay-2027');

    await eventually(
      async () => (await page.locator('tr[data-wave]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')))).every((s) => s === 'completed'),
      120_000,
      'every wave to complete in the console',
    );
    await page.locator('.card').filter({ hasText: 'Instances switched' }).getByText('5 / 5').waitFor();
    await shot(page, '11-program-completed');
    const api = (await ok(h.admin('GET', '/api/admin/v1/programs/relay-2027/status'))).body;
    assert.equal(api.state, 'completed');
    assert.ok(api.instances.every((i: { state: string }) => i.state === 'completed'));

    await customer.close();
  });

  test("a customer's status page: Spanish, its time zone, only its instances, no operator session", async () => {
    const token = (await ok(h.admin('POST', '/api/admin/v1/customers/acme/status-token'))).body.token as string;
    const customer = await browser.newContext({ viewport: { width: 900, height: 800 }, locale: 'en-US' });
    const status = await customer.newPage();
    const requests: string[] = [];
    status.on('request', (r) => requests.push(new URL(r.url()).pathname));
    await status.goto(`${h.url}/status/${token}`);
    await status.getByRole('heading', { name: 'Estado de la actualización', level: 1 }).waitFor();
    assert.equal(await status.evaluate('document.documentElement.lang'), 'es');
    const text = await status.locator('main').innerText();
    assert.match(text, /Europe\/Madrid/);
    assert.match(text, /Completada/);
    assert.match(text, /acme-dev \(desarrollo\)/);
    assert.match(text, /acme-prod \(producción\)/);
    assert.match(text, /Duración estimada/);
    assert.match(text, /después se enviaron \d+ mensajes retenidos/);
    assert.match(text, /help@mailshift\.example/);
    assert.doesNotMatch(text, /globex|relay-2027|blue|green/, 'no other customer and no operator data');
    assert.ok(!requests.some((p) => p.startsWith('/api/admin') || p.startsWith('/api/session')), `only the status API: ${requests.join(', ')}`);
    assert.ok(requests.some((p) => p === `/api/status/v1/${token}`));
    // Its windows in Madrid time: 22:00 UTC in January is 23:00 in Madrid.
    const window = (await ok(h.admin('GET', '/api/admin/v1/instances/acme-dev/upgrade'))).body.window.start as string;
    const madrid = new Intl.DateTimeFormat('es', { timeZone: 'Europe/Madrid', dateStyle: 'full', timeStyle: 'short' }).format(new Date(window));
    assert.ok(text.includes(madrid), `window shown as ${madrid}`);
    await shot(status, '12-status-es-completed');

    await status.goto(`${h.url}/status/not-a-token`);
    await status.getByRole('alert').waitFor();
    await shot(status, '13-status-invalid');
    await customer.close();
  });

  test('infrastructures, notices and delivery pages', async () => {
    await go('/infrastructures');
    await page.getByRole('rowheader', { name: 'green' }).waitFor();
    const green = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'green' }) });
    await green.getByText('passed').waitFor();
    assert.match(await green.innerText(), /relay-2027/);
    await shot(page, '14-infrastructures');

    await go('/notices');
    await page.getByLabel('Customer').selectOption('acme');
    await page.getByLabel('Kind').selectOption('scheduled');
    await page
      .getByRole('button', { name: /acme · ops@acme\.example/ })
      .first()
      .click();
    await page
      .locator('.mail pre')
      .filter({ hasText: /Europe\/Madrid/ })
      .waitFor();
    await shot(page, '15-notices');

    await go('/delivery');
    await page.getByRole('img', { name: /Throughput/ }).waitFor();
    await page.getByRole('img', { name: /Outcomes per bucket/ }).waitFor();
    await page.getByRole('table', { name: 'Deliveries per state' }).waitFor();
    await shot(page, '16-delivery');

    await go('/programs/relay-2027');
    await page.getByRole('cell', { name: 'Black Friday' }).waitFor();
    await page.getByRole('cell', { name: /Your slot cannot be moved/ }).waitFor();
  });

  test('nodes: reached from the navigation, this node alive and the leader, a stale one dead', async () => {
    const self = h.app.nodeId;
    // A node of another host, unseen for ten minutes: past its time to live.
    const stale = Date.now() - 600_000;
    await h.app.repositories.nodes.register({
      id: 'old-host:4242:abcdef',
      host: 'old-host',
      pid: 4242,
      version: '0.0.9',
      roles: ['delivery'],
      startedAt: stale,
    });
    await go('/fleet');
    await page.getByRole('link', { name: 'Nodes', exact: true }).click();
    await page.getByRole('heading', { name: 'Nodes', level: 1 }).waitFor();
    const row = (id: string) => page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: id }) });
    await row(self).getByText('leader', { exact: true }).waitFor();
    await row(self).getByText('alive', { exact: true }).waitFor();
    await page
      .locator('.summary')
      .filter({ hasText: `Leader: ${self}.` })
      .waitFor();
    await page.locator('.summary').filter({ hasText: '1 of 2 alive' }).waitFor();
    await row('old-host:4242:abcdef').getByText('dead', { exact: true }).waitFor();
    assert.equal(await row('old-host:4242:abcdef').getByText('leader', { exact: true }).count(), 0, 'a dead node does not lead');
    await shot(page, '17-nodes');
  });

  test('sending domains: a check of SPF, DKIM and DMARC from the domains page', async () => {
    await ok(h.admin('POST', '/api/admin/v1/domains', { domain: 'acme.example', customer: 'acme', verified: true }));
    const key = (await ok(h.admin('POST', '/api/admin/v1/dkim', { domain: 'acme.example', customer: 'acme', selector: 'c1' }))).body;
    dns.set(key.dnsName, { TXT: [key.dnsValue] });
    await go('/fleet');
    await page.getByRole('link', { name: 'Domains', exact: true }).click();
    await page.getByRole('heading', { name: 'Sending domains', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Check acme.example' }).click();
    const panel = page.getByRole('region', { name: 'Authentication of acme.example' });
    await panel.getByText('c1._domainkey.acme.example').waitFor();
    await panel.getByText(/_dmarc\.acme\.example: p=quarantine/).waitFor();
    assert.equal(await panel.locator('h2 .badge').textContent(), 'passed');
    await shot(page, '18-domains');
  });

  test('every control is labelled and the main ones are reachable by keyboard', async () => {
    for (const path of ['/fleet', '/fleet/acme-prod', '/programs', '/notices', '/delivery', '/infrastructures', '/nodes', '/domains']) {
      await go(path);
      const unlabelled = (await page.evaluate(`[...document.querySelectorAll('input, select, textarea, button')]
        .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.closest('label') && !(e.textContent || '').trim())
        .map((e) => e.outerHTML)`)) as string[];
      assert.deepEqual(unlabelled, [], `unlabelled controls on ${path}`);
    }

    // Tab from the top of the programs page: the sections, sign out, then every form field.
    await go('/programs');
    await page.evaluate('document.activeElement && document.activeElement.blur()');
    const reached: string[] = [];
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      reached.push(
        (await page.evaluate(`(() => { const e = document.activeElement; if (!e) return '';
          return (e.labels && e.labels[0] ? e.labels[0].textContent : '') || e.getAttribute('aria-label') || (e.textContent || '').trim() || e.id; })()`)) as string,
      );
    }
    for (const name of [
      'Skip to content',
      'Fleet',
      'Infrastructures',
      'Programs',
      'Notices',
      'Delivery',
      'Sign out',
      'relay-2027',
      'Name',
      'From infrastructure',
      'To infrastructure',
      'Wave size',
      'Support contact',
      'Create program and preview plan',
    ]) {
      assert.ok(reached.includes(name), `${name} reachable by Tab (reached: ${reached.join(' | ')})`);
    }

    // Keyboard only: open the fleet from the navigation, then an instance.
    await page.getByRole('link', { name: 'Fleet', exact: true }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Fleet', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'acme-stage' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'acme-stage', level: 1 }).waitFor();
    assert.equal(await page.evaluate('document.activeElement.tagName'), 'H1', 'focus moves to the new page');

    // Signing out ends the session: the API refuses the cookie's absence, the console asks again.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Admin token').waitFor();
    assert.deepEqual(errors, [], 'no script errors in the console');
  });
});
