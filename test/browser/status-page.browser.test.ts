import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { TEST_TOKENS, policyEvent } from '../support/daemon-client';
import { TestClock } from '../support/test-clock';
import { useDaemon } from '../support/use-daemon';

/** Debian's chromium (installed by .ci/run); CHROMIUM_PATH overrides it. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const SCREENSHOTS = join(__dirname, '../../.artifacts');

/**
 * The status page in a real headless browser: it loads with the admin token (HTTP Basic, as a browser sends it),
 * shows a booked window on its day and a delivery_failed with its reason, and the test keeps a screenshot.
 */
describe('status page in a headless browser', () => {
  const clock = new TestClock('2026-11-23T12:00:00Z');
  const t = useDaemon({ label: 'status-page', clock, env: { WEBHOOK_RETRY_BUDGET_SECONDS: '1' } });
  let browser: Browser;

  beforeAll(async () => {
    if (!CHROMIUM) throw new Error('chromium not found: apt-get install -y chromium (or set CHROMIUM_PATH)');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('shows this week’s booked window and the latest failure with its reason', async () => {
    const booked = 'page-booked@acme.com';
    const failing = 'page-failing@acme.com';
    t.env.emulator.addUser(booked, { timeZone: 'UTC' });
    t.env.emulator.addUser(failing, { timeZone: 'UTC' });
    // Busy all Tuesday morning: the window is at 12:00, still ahead when the clock moves to 08:59:57 below.
    t.env.calendars.addBusy(booked, '2026-11-24T09:00:00Z', '2026-11-24T12:00:00Z', 'Workshop');
    await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 9101, emails: [booked], display_name: 'Ada’s <MacBook>' }, { id: 7, name: 'Disk encryption' }));
    const window = await t.daemon.waitForStatus(9101, 'booked');
    expect(window.start).toBe('2026-11-24T12:00:00.000+00:00');

    // A window that fires at once into a receiver that refuses it, with a one-second budget: delivery_failed.
    t.env.webhook.status = 500;
    try {
      clock.set('2026-11-24T08:59:57Z');
      await t.daemon.post('/v1/policy-events', policyEvent('policy_failing', { id: 9102, emails: [failing], display_name: 'Grace’s ThinkPad' }));
      await t.daemon.waitForStatus(9102, 'delivery_failed', 15_000);
    } finally {
      t.env.webhook.status = 200;
    }

    const context = await browser.newContext({ httpCredentials: { username: 'admin', password: TEST_TOKENS.admin }, viewport: { width: 1280, height: 1400 } });
    const page = await context.newPage();
    const res = await page.goto(`${t.env.url}/`);
    expect(res?.status()).toBe(200);
    expect(await page.title()).toContain('Maintenance windows');

    const row = page.locator(`tr[data-remediation="${window.id}"]`).first();
    await row.waitFor();
    expect(await row.innerText()).toContain('page-booked@acme.com');
    expect(await row.innerText()).toContain('Ada’s <MacBook> (9101)');
    expect(await row.innerText()).toContain('Disk encryption');
    expect(await row.locator('.badge').innerText()).toBe('booked');
    // On its day: Tuesday 24 November.
    expect(await page.locator('.day[data-date="2026-11-24"]').innerText()).toContain('page-booked@acme.com');

    const failure = page.locator('#failures tr.status-delivery_failed').first();
    expect(await failure.innerText()).toContain('Grace’s ThinkPad (9102)');
    expect(await failure.locator('.reason').innerText()).toContain('resolution webhook not delivered: receiver answered 500');
    expect(await page.locator('#failed b').innerText()).toBe('1');

    mkdirSync(SCREENSHOTS, { recursive: true });
    const file = join(SCREENSHOTS, 'status-page.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(existsSync(file)).toBe(true);
    await context.close();
  });

  it('asks a browser without the token for it (a Basic challenge) and refuses a wrong one', async () => {
    const context = await browser.newContext();
    const res = await context.request.get(`${t.env.url}/`);
    expect(res.status()).toBe(401);
    expect(res.headers()['www-authenticate']).toContain('Basic');
    const wrong = await browser.newContext({ httpCredentials: { username: 'admin', password: TEST_TOKENS.ingest } });
    expect((await wrong.request.get(`${t.env.url}/`)).status()).toBe(401);
    await wrong.close();
    await context.close();
  });
});
