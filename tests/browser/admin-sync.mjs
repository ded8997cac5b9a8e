// Logs into wp-admin in headless Chromium (Debian's), opens Tools → Cachicamo Sync, presses
// Force Inventory Sync, watches the bar reach 100% and the totals, the figures and the run's bar
// in the chart appear, and saves a screenshot.
// Usage: node admin-sync.mjs SITE_URL SCREENSHOT_PATH
import { chromium } from 'playwright-core';

const [site, screenshot] = process.argv.slice(2);
if (!site || !screenshot) {
  console.error('usage: node admin-sync.mjs SITE_URL SCREENSHOT_PATH');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let passed = 0;
let failed = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
  const phpErrors = [];
  page.on('pageerror', (e) => phpErrors.push(`script error: ${e.message}`));

  await page.goto(`${site}/wp-login.php`);
  await page.fill('#user_login', 'admin');
  await page.fill('#user_pass', 'cachicamo-admin-pass');
  await Promise.all([page.waitForNavigation(), page.click('#wp-submit')]);

  await page.goto(`${site}/wp-admin/tools.php?page=cachicamo-sync`);
  await page.waitForSelector('#cachicamo-sync-panel');
  const body = await page.textContent('body');
  if (/(Warning|Notice|Fatal error):/.test(body)) throw new Error('the page shows a PHP warning');

  await page.click('button[data-action="start"]');
  await page.waitForFunction(
    () => document.querySelector('.cachicamo-sync-progress')?.getAttribute('aria-valuenow') === '100'
      && document.querySelector('[data-field="run_status"]')?.textContent.trim() === 'completed',
    null,
    { timeout: 90_000 },
  );
  const label = (await page.textContent('[data-field="percent"]')).trim();
  const synced = (await page.textContent('[data-field="synced"]')).trim();
  const notFound = (await page.textContent('[data-field="not_found"]')).trim();
  if (label !== '100%') throw new Error(`the bar says ${label}`);
  if (!/^[1-9][\d,.]*$/.test(synced)) throw new Error(`no SKUs synced shown: ${synced}`);
  if (!/^[\d,.]+$/.test(notFound)) throw new Error(`no not-found total shown: ${notFound}`);
  if (await page.isVisible('[data-role="info"]')) throw new Error('the "started" notice outlived the run');
  const names = await page.$$eval('[data-list="recent_changes"] td:first-child', (cells) => cells.map((c) => c.textContent));
  if (!names.length || names.some((n) => /&#?\w+;/.test(n))) throw new Error(`product names are not shown as text: ${names.slice(0, 3)}`);
  const bars = await page.$$eval('[data-list="chart"] rect', (rects) => rects.map((r) => ({
    status: r.getAttribute('class'),
    height: Number(r.getAttribute('height')),
    title: r.querySelector('title')?.textContent ?? '',
  })));
  const newest = bars[bars.length - 1];
  if (!newest || !/cachicamo-sync-bar-completed$/.test(newest.status) || !(newest.height > 0) || !/^Run \d+, /.test(newest.title)) {
    throw new Error(`the chart has no bar for the run: ${JSON.stringify(bars)}`);
  }
  const runsToday = (await page.textContent('[data-metric="runs_today"]')).trim();
  if (!/^[1-9][\d,.]*$/.test(runsToday)) throw new Error(`no runs today shown: ${runsToday}`);
  const engine = (await page.textContent('[data-field="engine"]')).trim();
  if (!/^Engine: \w+ since /.test(engine)) throw new Error(`no engine state shown: ${engine}`);
  const errorShown = await page.isVisible('[data-role="error"]');
  if (errorShown) throw new Error(`an error is shown: ${await page.textContent('[data-role="error"]')}`);
  if (phpErrors.length) throw new Error(phpErrors.join('; '));
  // Let the bar's width transition end before the picture.
  await page.waitForTimeout(500);
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`admin page: bar at ${label}, ${synced} SKUs synced, ${notFound} not found, ${bars.length} runs charted; screenshot ${screenshot}`);
  passed += 1;
} catch (e) {
  console.error(`admin page test failed: ${e.message}`);
  failed += 1;
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
