// The operator console end to end in headless Chromium (Debian's, driven by playwright-core):
// sign in with the keyboard, create a tenant (first refused field by field by the API), watch
// its provisioning job until it is active, suspend it and see the app plane refuse it,
// activate it, switch a feature and read the audit entries (when this build has them), purge
// it with the typed confirmation, see the session-expired message, sign out. A screenshot
// of every page at 1280 and 390 px wide goes to SCREENSHOT_DIR.
//
// Run by crates/control-api/tests/api/console.rs, which boots the platform and sets:
//   CONSOLE_URL  control-api's base URL     APP_API_URL     app-api's base URL
//   ADMIN_EMAIL, ADMIN_PASSWORD  a super-admin   SLUG  a slug free for this run
//   SCREENSHOT_DIR   where the PNGs go        CHROMIUM  the browser (default /usr/bin/chromium)
//   SCENARIO     `lifecycle` (default), `retry` (a failed provisioning, retried: see `retry`)
//                or `backups` (back up and restore from the tenant's page: backups.mjs)

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { backups } from './backups.mjs';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) throw new Error(`${name} is not set`);
  return v;
};
const CONSOLE = env('CONSOLE_URL');
const APP = env('APP_API_URL');
const EMAIL = env('ADMIN_EMAIL');
const PASSWORD = env('ADMIN_PASSWORD');
const SLUG = env('SLUG');
const SHOTS = env('SCREENSHOT_DIR');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const SCENARIO = env('SCENARIO', 'lifecycle');
const TENANT_ADMIN = `owner@${SLUG}.example.com`;
const TENANT_PASSWORD = 'a-long-enough-password';
// Bounds on waiting for states the page cannot announce sooner, not timings under test.
const WAIT = 90_000;
const PROPAGATION = 30_000;

mkdirSync(SHOTS, { recursive: true });

function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

const log = (...args) => console.log('[console-test]', ...args);

/** The control API directly, as the super-admin (for probes and to confirm what the page did). */
let rootToken = null;
async function control(method, path, body) {
  const res = await fetch(CONSOLE + path, {
    method,
    headers: { Authorization: `Bearer ${rootToken}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** The tenant's first admin signing in on the app plane: 200, or the refusal's status and code. */
async function appLogin() {
  const res = await fetch(`${APP}/v1/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Tenant-Slug': SLUG },
    body: JSON.stringify({ email: TENANT_ADMIN, password: TENANT_PASSWORD }),
  });
  const body = await res.json().catch(() => null);
  return { status: res.status, code: body?.code ?? null, token: body?.access_token ?? null };
}

async function waitFor(what, limit, probe) {
  const deadline = Date.now() + limit;
  let last;
  for (;;) {
    last = await probe();
    if (last.ok) return last;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${limit} ms; last seen ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  // Root in a container has no user namespaces for Chromium's sandbox.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(15_000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
page.on('console', (m) => {
  // 4xx answers are logged by Chromium as failed loads; those are the API's refusals under test.
  if (m.type() === 'error' && /Content Security Policy|Refused to|SyntaxError|TypeError/.test(m.text())) pageErrors.push(`console: ${m.text()}`);
});

/** A full-page screenshot at 1280 px, then at 390 px (a phone), then back. */
async function shot(name) {
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.screenshot({ path: join(SHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: join(SHOTS, `${name}-390.png`), fullPage: true });
  // Nothing may stick out sideways on a phone except inside a table's own scroller.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  check(overflow <= 0, `${name}: the page is ${overflow} px wider than a 390 px screen`);
  await page.setViewportSize({ width: 1280, height: 900 });
}

const go = (hash) => page.goto(`${CONSOLE}/console${hash}`);
const alertText = () => page.locator('.notice').allInnerTexts().then((t) => t.join(' | '));

/** Signs in through the form and keeps the token for the test's own API calls. */
async function signIn() {
  await page.fill('#login-email', EMAIL);
  await page.fill('#login-password', PASSWORD);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('h1:has-text("Tenants")');
  rootToken = await page.evaluate(() => sessionStorage.getItem('console.token'));
}

/** Fills the new-tenant form with good values and sends it. */
async function createThroughForm() {
  await go('#/tenants/new');
  await page.waitForSelector('h1:has-text("New tenant")');
  await page.fill('#new-slug', SLUG);
  await page.fill('#new-name', `Console ${SLUG}`);
  await page.fill('#new-admin_email', TENANT_ADMIN);
  await page.fill('#new-admin_password', TENANT_PASSWORD);
  await page.click('button:has-text("Create tenant")');
  await page.waitForSelector(`h1:has-text("Provisioning ${SLUG}")`);
}

/** The whole life of a tenant, as described at the top. */
async function lifecycle() {
  // --- Sign in, by keyboard only -----------------------------------------------------------
  const res = await page.goto(`${CONSOLE}/console`);
  const csp = res.headers()['content-security-policy'] ?? '';
  check(csp.includes("default-src 'self'") && !csp.includes('unsafe-inline'), `strict CSP, got ${csp}`);
  await page.waitForSelector('h1:has-text("Sign in")');
  check(await page.evaluate(() => document.activeElement?.id) === 'login-email', 'the email field has focus');
  await shot('01-login');
  await page.keyboard.type(EMAIL);
  await page.keyboard.press('Tab');
  await page.keyboard.type('not the password');
  await page.keyboard.press('Enter');
  await page.waitForSelector('.notice-error:has-text("Sign-in refused")');
  await page.fill('#login-password', PASSWORD);
  await page.keyboard.press('Enter');
  await page.waitForSelector('h1:has-text("Tenants")');
  rootToken = await page.evaluate(() => sessionStorage.getItem('console.token'));
  check(rootToken, 'the token is kept in sessionStorage');
  log('signed in');

  // What this build offers beyond the core routes: the guarded steps follow from it.
  const has = {
    audit: (await control('GET', '/v1/audit')).status !== 404,
    servers: (await control('GET', '/v1/servers')).status !== 404,
  };
  log('optional routes:', JSON.stringify(has));
  await shot('02-tenants');

  // --- Create: the API's field errors, then the live provisioning job ------------------------
  await page.click('a:has-text("New tenant")');
  await page.waitForSelector('h1:has-text("New tenant")');
  await page.fill('#new-slug', 'Bad Slug!');
  await page.fill('#new-name', `Console ${SLUG}`);
  await page.selectOption('#new-plan', 'pro');
  await page.fill('#new-admin_email', 'not-an-email');
  await page.fill('#new-admin_password', 'short');
  await page.click('button:has-text("Create tenant")');
  await page.waitForSelector('#new-slug-error:not([hidden])');
  check(await page.getAttribute('#new-slug', 'aria-invalid') === 'true', 'slug marked invalid');
  check(await page.evaluate(() => document.activeElement?.id) === 'new-slug', 'focus moves to the first bad field');
  log('slug refused:', await page.innerText('#new-slug-error'));
  await page.fill('#new-slug', SLUG);
  await page.click('button:has-text("Create tenant")');
  await page.waitForSelector('#new-admin_password-error:not([hidden])');
  await page.waitForSelector('#new-admin_email-error:not([hidden])');
  check(await page.locator('#new-slug-error').isHidden(), 'the slug error is gone once the slug is good');
  check(/fields need attention/.test(await alertText()), 'the summary counts the fields');
  log('password refused:', await page.innerText('#new-admin_password-error'));
  await shot('03-create-errors');
  await page.fill('#new-admin_email', TENANT_ADMIN);
  await page.fill('#new-admin_password', TENANT_PASSWORD);
  await page.click('button:has-text("Create tenant")');
  await page.waitForSelector(`h1:has-text("Provisioning ${SLUG}")`);
  await page.waitForSelector('ol.steps li.step');
  await page.waitForSelector(`.notice-success:has-text("${SLUG} is active")`, { timeout: WAIT });
  const done = await page.locator('ol.steps li.step-done').count();
  check(done === 6, `all six provisioning steps done, saw ${done}`);
  await shot('04-create-provisioned');
  check((await appLogin()).status === 200, 'the app plane serves the new tenant');
  log('tenant active and served');

  // --- The tenant's page; features when this build has them ----------------------------------
  await page.click('a:has-text("Go to the tenant")');
  await page.waitForSelector(`h1:has-text("${SLUG}")`);
  await page.waitForSelector('#details-title');
  const tenant = (await control('GET', `/v1/tenants/${SLUG}`)).body;
  check((await page.innerText('.facts')).includes(tenant.db_name), 'the database name is shown');
  if (tenant.features && typeof tenant.features === 'object' && Object.keys(tenant.features).length) {
    await page.waitForSelector('#features-title');
    const [name, before] = Object.entries(tenant.features).sort(([a], [b]) => a.localeCompare(b))[0];
    await page.click(`#feature-${name}`);
    await page.click('button:has-text("Save features")');
    await page.waitForSelector('.notice-success:has-text("Features saved")');
    const after = (await control('GET', `/v1/tenants/${SLUG}`)).body.features[name];
    check(after === !before, `feature ${name} switched to ${!before}, API says ${after}`);
    check(await page.isChecked(`#feature-${name}`) === !before, 'the page shows the saved switch');
    const { token } = await appLogin();
    await waitFor(`app plane sees ${name}=${!before}`, PROPAGATION, async () => {
      const r = await fetch(`${APP}/v1/tenant`, { headers: { 'X-Tenant-Slug': SLUG, Authorization: `Bearer ${token}` } });
      const body = await r.json();
      return { ok: body?.features?.[name] === !before, body };
    });
    log(`feature ${name} switched to ${!before} and seen by the app plane`);
    await page.click(`button[aria-label="Use the plan default for ${name}"]`);
    await page.waitForSelector(`.notice-success:has-text("${name} follows the")`);
    const back = (await control('GET', `/v1/tenants/${SLUG}`)).body;
    check(back.features[name] === before, `${name} back to the plan's ${before}`);
    check(!(name in (back.feature_overrides ?? {})), `override of ${name} removed: ${JSON.stringify(back)}`);
    log(`feature ${name} back to the plan default`);
  } else {
    log('SKIPPED features: this build has no tenant features');
  }
  // Name and plan: an empty name is refused under its field, then a plan change is saved.
  await page.fill('#edit-name', '');
  await page.click('button:has-text("Save changes")');
  await page.waitForSelector('#edit-name-error:not([hidden])');
  await page.fill('#edit-name', `Renamed ${SLUG}`);
  await page.selectOption('#edit-plan', 'enterprise');
  await page.click('button:has-text("Save changes")');
  await page.waitForSelector('.notice-success:has-text("Tenant updated")');
  const edited = (await control('GET', `/v1/tenants/${SLUG}`)).body;
  check(edited.plan === 'enterprise' && edited.name === `Renamed ${SLUG}`, `plan and name saved: ${JSON.stringify(edited)}`);
  log('renamed and moved to the enterprise plan');
  await shot('05-tenant');

  // --- Suspend: the app plane refuses it; activate ------------------------------------------
  await page.click('button:has-text("Suspend")');
  await page.waitForSelector(`.notice-success:has-text("${SLUG} is suspended")`);
  check((await page.innerText('.page-header .badge')).toLowerCase() === 'suspended', 'badge says suspended');
  await waitFor('app plane refusing the suspended tenant', PROPAGATION, async () => {
    const r = await appLogin();
    return { ok: r.status === 403 && r.code === 'tenant_inactive', ...r };
  });
  log('suspended; app plane answers 403 tenant_inactive');
  await shot('06-tenant-suspended');
  await page.click('button:has-text("Activate")');
  await page.waitForSelector(`.notice-success:has-text("${SLUG} is active again")`);
  await waitFor('app plane serving the tenant again', PROPAGATION, async () => ({ ok: (await appLogin()).status === 200 }));

  // --- The API refusing: an unknown tenant shows the problem's title and detail --------------
  await go(`#/tenants/no-such-${SLUG}`);
  await page.waitForSelector('.notice-error');
  const refusal = await alertText();
  check(/Not Found/.test(refusal) && refusal.includes(`no-such-${SLUG}`), `problem shown: ${refusal}`);

  // --- Tenants table: search, status filter ---------------------------------------------------
  await go('#/tenants');
  await page.waitForSelector('h1:has-text("Tenants")');
  await page.fill('#filter-q', SLUG.toUpperCase().slice(0, 12));
  await page.press('#filter-q', 'Enter');
  await page.waitForSelector(`td a:has-text("${SLUG}")`);
  await page.selectOption('#filter-status', 'suspended');
  await page.waitForSelector('.empty:has-text("No tenant matches")');
  await page.selectOption('#filter-status', 'active');
  await page.waitForSelector(`td a:has-text("${SLUG}")`);
  check(page.url().includes('status=active') && page.url().includes('q='), `filters kept in the URL: ${page.url()}`);
  if (has.servers) {
    await page.selectOption('#filter-server', 'default');
    await page.waitForURL(/server=default/);
    await page.waitForSelector(`td a:has-text("${SLUG}")`);
  }
  await shot('07-tenants-filtered');

  // --- Audit log, when this build keeps one --------------------------------------------------
  if (has.audit) {
    await go(`#/audit?tenant=${SLUG}`);
    await page.waitForSelector('h1:has-text("Audit log")');
    await page.waitForSelector('table tbody tr');
    const text = await page.innerText('table');
    for (const word of [/creat/i, /updat/i, /suspend/i, /activat/i]) check(word.test(text), `audit shows ${word}: ${text.slice(0, 400)}`);
    await shot('08-audit');
    await go(`#/tenants/${SLUG}`);
    await page.waitForSelector('#tenant-audit-title');
    await page.waitForSelector('section[aria-labelledby="tenant-audit-title"] table tbody tr');
    log('audit entries shown');
  } else {
    await go('#/audit');
    await page.waitForSelector('.notice-unavailable:has-text("Not available on this server")');
    await shot('08-audit');
    log('SKIPPED audit: this build has no /v1/audit (the page says so calmly)');
  }

  // --- Purge with the typed confirmation ------------------------------------------------------
  await go(`#/tenants/${SLUG}`);
  await page.waitForSelector('#danger-title');
  const purge = page.locator('button:has-text("Purge tenant")');
  check(await purge.isDisabled(), 'purge is disabled before the slug is typed');
  await page.fill('#purge-confirm', SLUG.slice(0, -1));
  check(await purge.isDisabled(), 'purge stays disabled for a near miss');
  await page.fill('#purge-confirm', SLUG);
  check(await purge.isEnabled(), 'purge is enabled once the slug is typed');
  await shot('09-tenant-purge-confirm');
  await purge.click();
  await page.waitForSelector(`h1:has-text("Purging ${SLUG}")`);
  await page.waitForSelector(`.notice-success:has-text("${SLUG} is purged")`, { timeout: WAIT });
  check((await control('GET', `/v1/tenants/${SLUG}`)).status === 404, 'the purged tenant is gone from the API');
  await shot('10-purged');
  log('purged');

  // --- Servers: load against capacity, drain ---------------------------------------------------
  await go('#/servers');
  await page.waitForSelector('h1:has-text("Servers")');
  if (has.servers) {
    await page.waitForSelector('table tbody tr');
    await page.waitForSelector('td:has-text("default")');
    await shot('11-servers');
    const drain = page.locator('button[aria-label="Drain default"]');
    if (await drain.count()) {
      await drain.click();
      await page.waitForSelector('.notice-success:has-text("default is draining")');
      const server = (await control('GET', '/v1/servers/default')).body;
      check(server.state === 'draining', `server drained: ${JSON.stringify(server)}`);
      log('default server drained');
    }
  } else {
    await page.waitForSelector('.notice-unavailable:has-text("Not available on this server")');
    await shot('11-servers');
    log('SKIPPED servers: this build has no /v1/servers (the page says so calmly)');
  }

  // --- Session expired: back to sign-in with a message -------------------------------------------
  await page.evaluate(() => sessionStorage.setItem('console.token', 'expired.or.revoked'));
  await go('#/tenants');
  await page.waitForSelector('h1:has-text("Sign in")');
  await page.waitForSelector('.notice-error:has-text("session has expired")');
  check(await page.evaluate(() => sessionStorage.getItem('console.token')) === null, 'the bad token is forgotten');
  await shot('12-session-expired');
  log('expired session sent back to sign-in with a message');

  // --- Sign in again, then out ------------------------------------------------------------------
  await page.fill('#login-email', EMAIL);
  await page.fill('#login-password', PASSWORD);
  await page.click('button:has-text("Sign in")');
  await page.waitForSelector('h1:has-text("Tenants")');
  await page.click('#logout');
  await page.waitForSelector('.notice:has-text("You have signed out")');
  check(await page.evaluate(() => sessionStorage.getItem('console.token')) === null, 'signing out forgets the token');
  await go('#/tenants');
  await page.waitForSelector('h1:has-text("Sign in")');
  log('signed out');

}

/**
 * SCENARIO=retry: the platform fails provisioning at one step until the Rust side lifts the
 * fault (it writes a line to our stdin once the registry says `failed`); the page shows the
 * failed step and the error, and "Retry provisioning" then brings the tenant to `active`.
 */
async function retry() {
  const lines = createInterface({ input: process.stdin });
  const nextLine = new Promise((resolve) => lines.once('line', resolve));
  await page.goto(`${CONSOLE}/console`);
  await signIn();
  await createThroughForm();
  await page.waitForSelector('.notice-error:has-text("Provisioning ended: failed")', { timeout: WAIT });
  check(await page.locator('ol.steps li.step-failed').count() === 1, 'one step marked failed');
  check((await page.innerText('.job')).includes('injected failure'), 'the job shows its last error');
  await shot('13-provisioning-failed');
  log('provisioning failed as injected; waiting for the fault to be lifted');
  await nextLine;
  lines.close();
  await page.click('a:has-text("Go to the tenant to retry")');
  await page.waitForSelector('.page-header .badge-failed');
  await page.click('button:has-text("Retry provisioning")');
  await page.waitForSelector('.notice-info:has-text("Provisioning re-queued")');
  // The page follows the new job and reads the tenant again when it ends.
  await page.waitForSelector('.page-header .badge-active', { timeout: WAIT });
  check(await page.locator('.job').count() === 2, 'both jobs listed');
  await shot('14-tenant-retried');
  check((await appLogin()).status === 200, 'the app plane serves the retried tenant');
  log('retried provisioning made the tenant active');
}

let failed = false;
try {
  const helpers = { page, shot, control, check, log, waitFor, signIn, createThroughForm, appLogin, CONSOLE, APP, SLUG, WAIT, PROPAGATION };
  const scenarios = { lifecycle, retry, backups: () => backups(helpers) };
  await (scenarios[SCENARIO] ?? lifecycle)();
  check(pageErrors.length === 0, `no script or CSP errors: ${pageErrors.join('; ')}`);
  log('all steps passed');
} catch (e) {
  failed = true;
  console.error('[console-test] FAILED:', e?.stack || e);
  console.error('[console-test] at', page.url());
  console.error('[console-test] notices:', await alertText().catch(() => '?'));
  if (pageErrors.length) console.error('[console-test] page errors:', pageErrors.join('\n'));
  await page.screenshot({ path: join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
