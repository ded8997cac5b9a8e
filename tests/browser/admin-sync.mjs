// Logs into wp-admin of the real store in headless Chromium (Debian's) and checks, each as one
// test with a screenshot in ARTIFACTS_DIR:
//   integration  WooCommerce → Settings → Integration → Cachicamo App as WooCommerce renders it:
//                Force Inventory Sync there, the bar reaches 100 % and the totals appear
//   tools        Tools → Cachicamo Sync: the same, plus the figures and the run's bar in the chart
//   notice       an active alert is noticed on the Dashboard, linking to the panel, and not
//                repeated on the panel's own page
//   hpos         Settings → Advanced → Features and the Plugins screen show no incompatibility
//                warning: WooCommerce counts Cachicamo Sync as compatible with HPOS
// Usage: node admin-sync.mjs SITE_URL ARTIFACTS_DIR (WP-CLI from CACHICAMO_WP_CLI on the site at
// CACHICAMO_WP_ROOT, as tests/php/run exports them, sets the alert up).
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const [site, artifacts] = process.argv.slice(2);
if (!site || !artifacts) {
  console.error('usage: node admin-sync.mjs SITE_URL ARTIFACTS_DIR');
  process.exit(2);
}
const INTEGRATION_ID = 'cachicamoapp-for-woo-manager';
const PLUGIN = 'cachicamo-sync/cachicamo-sync.php';

function wp(...args) {
  const root = process.getuid && process.getuid() === 0 ? ['--allow-root'] : [];
  return execFileSync('php', ['-d', 'memory_limit=512M', process.env.CACHICAMO_WP_CLI, ...root,
    `--path=${process.env.CACHICAMO_WP_ROOT}`, ...args], { encoding: 'utf8' });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
let passed = 0;
let failed = 0;
const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
const scriptErrors = [];
page.on('pageerror', (e) => scriptErrors.push(`script error: ${e.message}`));

async function check(name, body) {
  scriptErrors.length = 0;
  try {
    const line = await body();
    if (scriptErrors.length) throw new Error(scriptErrors.join('; '));
    console.log(`${name}: ${line}`);
    passed += 1;
  } catch (e) {
    console.error(`${name} test failed: ${e.message}`);
    await page.screenshot({ path: `${artifacts}/${name}-failed.png`, fullPage: true }).catch(() => {});
    failed += 1;
  }
}

async function open(path) {
  const response = await page.goto(`${site}${path}`, { waitUntil: 'domcontentloaded', timeout: 60_000 });
  if (!response || response.status() !== 200) throw new Error(`${path}: HTTP ${response && response.status()}`);
  const text = await page.innerText('body');
  if (/(Warning|Notice|Deprecated|Fatal error):/.test(text)) throw new Error(`${path} shows a PHP warning`);
}

// Presses Force Inventory Sync on the panel of the page open now and waits for the run to end.
async function forceSync() {
  await page.click('#cachicamo-sync-panel button[data-action="start"]');
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
  // The "started" notice goes once the run has ended; errors never showed.
  await page.waitForSelector('#cachicamo-sync-panel [data-role="info"]', { state: 'hidden', timeout: 5_000 })
    .catch(() => { throw new Error('the "started" notice outlived the run'); });
  if (await page.isVisible('[data-role="error"]')) throw new Error(`an error is shown: ${await page.textContent('[data-role="error"]')}`);
  // Let the bar's width transition end before the picture.
  await page.waitForTimeout(500);
  return { label, synced, notFound };
}

try {
  await open('/wp-login.php');
  await page.fill('#user_login', 'admin');
  await page.fill('#user_pass', 'cachicamo-admin-pass');
  await Promise.all([page.waitForNavigation(), page.click('#wp-submit')]);

  await check('integration', async () => {
    await open(`/wp-admin/admin.php?page=wc-settings&tab=integration&section=${INTEGRATION_ID}`);
    // WooCommerce's own settings screen: its form, its tab, the integration's fields, then the panel.
    await page.waitForSelector('form#mainform #cachicamo-sync-panel');
    const tab = (await page.textContent('.nav-tab-wrapper .nav-tab-active')).trim();
    if (tab !== 'Integration') throw new Error(`the active tab is ${tab}`);
    const heading = (await page.textContent('form#mainform h2')).trim();
    if (heading !== 'Cachicamo App') throw new Error(`the section is titled ${heading}`);
    const token = page.locator(`#woocommerce_${INTEGRATION_ID}_access_token`);
    if ((await token.getAttribute('type')) !== 'password' || (await token.inputValue()) !== '') {
      throw new Error('the token field is not an empty password field');
    }
    if (!/^Saved/.test(await token.getAttribute('placeholder'))) throw new Error('the token field does not say a token is saved');
    if (!(await page.inputValue(`#woocommerce_${INTEGRATION_ID}_store_uuid`))) throw new Error('no store UUID shown');
    if (!(await page.isVisible('form#mainform button[name="save"]'))) throw new Error('no Save changes button');
    const { label, synced, notFound } = await forceSync();
    await page.screenshot({ path: `${artifacts}/integration-sync.png`, fullPage: true });
    return `bar at ${label}, ${synced} SKUs synced, ${notFound} not found; screenshot ${artifacts}/integration-sync.png`;
  });

  await check('tools', async () => {
    await open('/wp-admin/tools.php?page=cachicamo-sync');
    await page.waitForSelector('#cachicamo-sync-panel');
    const { label, synced, notFound } = await forceSync();
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
    await page.screenshot({ path: `${artifacts}/admin-sync.png`, fullPage: true });
    return `bar at ${label}, ${synced} SKUs synced, ${notFound} not found, ${bars.length} runs charted; screenshot ${artifacts}/admin-sync.png`;
  });

  await check('notice', async () => {
    // The alert as the last WP-Cron tick left it for the notice (which never calls the sidecar).
    const message = 'Run 4242 has made no progress for 12 minutes.';
    const cache = {
      checked_at: Math.floor(Date.now() / 1000),
      active: [{
        id: 4242, kind: 'stalled_run', title: 'Sync run stalled', message, raised_at: Math.floor(Date.now() / 1000) - 720,
        cleared_at: 0, raised: '', cleared: '',
      }],
    };
    let before = null;
    try {
      before = wp('option', 'get', 'cachicamo_sync_alerts', '--format=json');
    } catch {
      // No alerts cached yet.
    }
    wp('option', 'update', 'cachicamo_sync_alerts', JSON.stringify(cache), '--format=json');
    try {
      await open('/wp-admin/index.php');
      const notice = page.locator('.cachicamo-sync-notice');
      if (!(await notice.isVisible())) throw new Error('no Cachicamo Sync notice on the Dashboard');
      const text = await notice.textContent();
      if (!text.includes(message)) throw new Error(`the notice says: ${text.trim()}`);
      const href = await notice.locator('a').getAttribute('href');
      if (href !== `${site}/wp-admin/tools.php?page=cachicamo-sync`) throw new Error(`the notice links to ${href}`);
      await page.screenshot({ path: `${artifacts}/notice.png` });
      await open('/wp-admin/tools.php?page=cachicamo-sync');
      await page.waitForSelector('#cachicamo-sync-panel');
      if (await page.locator('.cachicamo-sync-notice').count()) throw new Error('the notice repeats on the panel\'s page');
    } finally {
      if (before) wp('option', 'update', 'cachicamo_sync_alerts', before, '--format=json');
      else wp('option', 'delete', 'cachicamo_sync_alerts');
    }
    return `shown on the Dashboard with a link to the panel, not on the panel; screenshot ${artifacts}/notice.png`;
  });

  await check('hpos', async () => {
    const incompatible = /WooCommerce has detected that some of your active plugins are incompatible|Incompatible plugins? detected|This plugin is incompatible with the enabled WooCommerce feature/;
    await open('/wp-admin/admin.php?page=wc-settings&tab=advanced&section=features');
    const row = page.locator('tr.wc-settings-row-woocommerce_custom_orders_table_enabled');
    if (!(await row.isVisible())) throw new Error('no Order data storage (HPOS) setting on the Features page');
    if (!(await page.isChecked('input[name="woocommerce_custom_orders_table_enabled"][value="yes"]'))) {
      throw new Error('HPOS is not the order storage in use');
    }
    const features = await page.content();
    if (incompatible.test(features)) throw new Error(`the Features page warns: ${features.match(incompatible)[0]}`);
    await row.screenshot({ path: `${artifacts}/features-hpos.png` });

    await open('/wp-admin/plugins.php');
    const plugin = page.locator(`tr[data-plugin="${PLUGIN}"]`).first();
    if (!(await plugin.isVisible()) || !/\bactive\b/.test(await plugin.getAttribute('class'))) throw new Error('Cachicamo Sync is not listed as active');
    const plugins = await page.content();
    if (incompatible.test(plugins)) throw new Error(`the Plugins screen warns: ${plugins.match(incompatible)[0]}`);
    if (await page.locator(`tr.plugin-update-tr[data-plugin="${PLUGIN}"]`).count()) throw new Error('Cachicamo Sync has a notice row');
    await page.screenshot({ path: `${artifacts}/plugins.png`, fullPage: true });

    await open('/wp-admin/plugins.php?plugin_status=incompatible_with_feature&feature_id=custom_order_tables');
    if (await page.locator(`tr[data-plugin="${PLUGIN}"]`).count()) throw new Error('listed as incompatible with HPOS');
    return `HPOS on, no warning on Settings → Advanced → Features or the Plugins screen; screenshots ${artifacts}/features-hpos.png, ${artifacts}/plugins.png`;
  });
} catch (e) {
  console.error(`browser test failed: ${e.message}`);
  failed += 1;
} finally {
  await browser.close();
}
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
