// SCENARIO=backups (run by console.mjs, which passes its page and helpers): create a tenant,
// write a ticket through the app plane, back the tenant up from its page and watch the job
// to its end, write a second ticket, be refused a restore (the tenant was suspended behind
// the page's back: the API's problem is shown), then restore with the typed slug, watch the
// restore job until the tenant is active again, and see the second ticket gone from the
// app plane. Screenshots at 1280 and 390 px.

export async function backups(t) {
  const { page, shot, control, check, log, waitFor, signIn, createThroughForm, appLogin } = t;
  const { CONSOLE, APP, SLUG, WAIT, PROPAGATION } = t;

  /** The app plane as the tenant's first admin: a fresh login for every call. */
  async function app(method, path, body) {
    const { token, status } = await appLogin();
    check(status === 200, `the tenant's admin signs in (${status})`);
    const res = await fetch(APP + path, {
      method,
      headers: { 'X-Tenant-Slug': SLUG, Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }
  const ticket = async (title) => {
    const r = await app('POST', '/v1/tickets', { title, description: `${title}, described` });
    check(r.status === 201, `ticket "${title}" created: ${JSON.stringify(r)}`);
  };
  const titles = async () => {
    const r = await app('GET', '/v1/tickets?per_page=100');
    return (r.body?.items ?? []).map((i) => i.title).sort();
  };
  const focused = () => page.evaluate(() => document.activeElement?.textContent ?? '');

  await page.goto(`${CONSOLE}/console`);
  await signIn();
  await createThroughForm();
  await page.waitForSelector(`.notice-success:has-text("${SLUG} is active")`, { timeout: WAIT });
  await ticket('kept by the backup');

  // --- Back up now: the job followed to its end, the backup listed -----------------------------
  await page.click('a:has-text("Go to the tenant")');
  await page.waitForSelector('#backups-title');
  await page.waitForSelector('section.backups .empty:has-text("No backups yet")');
  await page.click('button:has-text("Back up now")');
  await page.waitForSelector('.job:has-text("Backup job")');
  await page.waitForSelector('.notice-success:has-text("Backup complete")', { timeout: WAIT });
  check((await focused()).includes('Backup complete'), 'focus lands on the outcome');
  const listed = (await control('GET', `/v1/tenants/${SLUG}/backups`)).body;
  check(listed.length === 1 && listed[0].state === 'complete' && listed[0].size_bytes > 0, `one complete backup: ${JSON.stringify(listed)}`);
  const row = page.locator('section.backups tbody tr');
  check(await row.count() === 1, 'one backup row');
  const rowText = await row.innerText();
  check(/complete/i.test(rowText) && rowText.includes(listed[0].schema_version), `the row shows state and schema version: ${rowText}`);
  await shot('15-backup-complete');
  log('backed up from the tenant page:', listed[0].size_bytes, 'bytes');

  await ticket('written after the backup');
  check((await titles()).length === 2, 'two tickets before the restore');

  // --- A refusal: the tenant was suspended behind the page's back ------------------------------
  check((await control('POST', `/v1/tenants/${SLUG}/suspend`)).status === 200, 'suspended through the API');
  const restore = page.locator(`button[data-backup="${listed[0].id}"]`);
  await restore.click();
  check(await page.evaluate(() => document.activeElement?.id) === 'restore-confirm', 'focus moves to the confirmation');
  const go = page.locator('button:has-text("Restore backup")');
  check(await go.isDisabled(), 'restore is disabled before the slug is typed');
  await page.fill('#restore-confirm', SLUG.slice(0, -1));
  check(await go.isDisabled(), 'restore stays disabled for a near miss');
  await page.fill('#restore-confirm', SLUG);
  check(await go.isEnabled(), 'restore is enabled once the slug is typed');
  await shot('16-restore-confirm');
  await go.click();
  await page.waitForSelector('section.backups .notice-error:has-text("Restore refused")');
  const refusal = await page.innerText('section.backups .notice-error');
  check(/Conflict/.test(refusal) && refusal.length > 'Restore refused: Conflict'.length, `the problem's title and detail: ${refusal}`);
  await page.click('button:has-text("Cancel")');
  check(await page.evaluate(() => document.activeElement?.dataset?.backup) === listed[0].id, 'cancel returns focus to the row');
  check((await control('POST', `/v1/tenants/${SLUG}/activate`)).status === 200, 'active again through the API');
  log('a restore of a suspended tenant is refused with the problem shown');

  // --- Restore: the job followed until the tenant is active on the backup's data ---------------
  await page.reload();
  await page.waitForSelector('.page-header .badge-active');
  await page.click(`button[data-backup="${listed[0].id}"]`);
  await page.fill('#restore-confirm', SLUG);
  await page.click('button:has-text("Restore backup")');
  await page.waitForSelector('.job:has-text("Restore job")');
  await page.waitForSelector(`.notice-success:has-text("${SLUG} is restored")`, { timeout: WAIT });
  await page.waitForSelector('.page-header .badge-active');
  check((await focused()).includes('is restored'), 'focus lands on the outcome');
  check((await control('GET', `/v1/tenants/${SLUG}`)).body.status === 'active', 'the API says active');
  await shot('17-restored');
  await waitFor('the app plane serving the restored data', PROPAGATION, async () => {
    const now = await titles().catch((e) => [String(e)]);
    return { ok: now.length === 1 && now[0] === 'kept by the backup', now };
  });
  log('restored from the tenant page; the ticket written after the backup is gone');
}
