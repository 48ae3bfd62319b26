// Drive the hotline page in headless Chromium (run by tests/integration/web.sh).
//
// usage: node web_page.js URL SHOTS_DIR HUBAOD_PID
// URL is a `hubao web` talking to the hubaod whose pid is given; the script
// checks a Chinese and an English verdict, their highlighted spans and
// masked numbers, sends feedback, then kills hubaod and expects the page's
// service-down message.  One "ok"/"FAIL" line per check; exit 1 on failure.
'use strict';
const path = require('path');
const fs = require('fs');
const { chromium } = require(path.resolve('build/node/node_modules/playwright-core'));

const [url, shots, hubaodPid] = process.argv.slice(2);
const fails = [];
function check(name, cond) {
  console.log((cond ? '  ok   ' : '  FAIL ') + name);
  if (!cond) fails.push(name);
}

const POLICE = '公安局通知：您涉嫌洗钱，请把存款转入安全账户，联系13812345678';
// no typed rule of the fixture rules fires: the fixture fraud model's type
// model names a type (which one, on ten typed rows, is beside the point)
const UNTYPED = '我是派出所的，你涉嫌洗钱，配合调查';
const SMISH = 'URGENT: your bank account is suspended. Reply with verification code 4821 now ' +
  'or verify at http://login.evil-bank.top/verify , call 13812345678';

(async () => {
  fs.mkdirSync(shots, { recursive: true });
  const profile = fs.mkdtempSync(path.join(path.resolve('build/tmp'), 'chromium-'));
  // a fresh profile (--user-data-dir), which playwright passes itself
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    timeout: 30000,
    viewport: { width: 1000, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync']
  });
  try {
    const page = browser.pages()[0] || await browser.newPage();
    page.setDefaultTimeout(10000);
    const cspErrors = [];
    page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspErrors.push(m.text()); });
    const external = [];
    page.on('request', (r) => { if (!r.url().startsWith(url)) external.push(r.url()); });
    await page.goto(url);

    // empty text
    await page.click('#check');
    check('empty text gives a message', /请先粘贴/.test(await page.textContent('#status')));

    // Chinese fake police, submitted with Ctrl+Enter
    await page.fill('#text', POLICE);
    await page.press('#text', 'Control+Enter');
    await page.waitForSelector('#result:not([hidden])');
    const zh = await page.textContent('#verdict');
    check('Chinese verdict sentence: ' + zh, /疑似诈骗/.test(zh) && /冒充公检法/.test(zh));
    const marks = await page.$$eval('#highlight mark', (ms) => ms.map((m) => m.textContent));
    check('matched spans highlighted: ' + marks.join(','), marks.includes('安全账户') && marks.includes('公安'));
    const shown = await page.textContent('#highlight');
    check('phone masked on screen', !shown.includes('13812345678') && shown.includes('138****5678'));
    check('advice shown for fraud', /安全账户/.test(await page.textContent('#advice')));
    check('rule reasons listed', (await page.$$('#reasons li')).length >= 2);
    await page.screenshot({ path: path.join(shots, 'zh-fraud.png'), fullPage: true });

    // a type no rule named: the page says the model judged it
    await page.fill('#text', UNTYPED);
    await page.click('#check');
    await page.locator('#reasons', { hasText: /类型由模型/ }).waitFor();
    check('type from the type model explained', /疑似诈骗：\S+（/.test(await page.textContent('#verdict')));
    await page.fill('#text', POLICE);
    await page.click('#check');
    await page.waitForSelector('#result:not([hidden])');
    await page.locator('#verdict', { hasText: /冒充公检法/ }).waitFor();
    check('a rule-typed verdict does not say so', !/类型由模型/.test(await page.textContent('#reasons')));

    // feedback on it
    await page.click('#fb-right');
    await page.locator('#fb-status', { hasText: /\S/ }).waitFor();
    check('feedback saved', /已记录/.test(await page.textContent('#fb-status')));

    // English smishing, English interface
    await page.click('#lang-en');
    await page.fill('#text', SMISH);
    await page.click('#check');
    await page.waitForSelector('#result:not([hidden])');
    const en = await page.textContent('#verdict');
    check('English verdict sentence: ' + en, /^Likely fraud/.test(en));
    const enMarks = await page.$$eval('#highlight mark', (ms) => ms.map((m) => m.textContent));
    check('English span highlighted: ' + enMarks.join(','), enMarks.some((m) => /verification code/i.test(m)));
    const links = await page.textContent('#links');
    check('link listed with its verdict: ' + links.trim(), /evil-bank\.top\/verify — \S/.test(links));
    check('phone masked in English view', !(await page.textContent('#highlight')).includes('13812345678'));
    await page.selectOption('#fb-label', 'smishing');
    const types = await page.$$eval('#fb-type option', (os) => os.map((o) => o.value));
    check('fraud types offered from types.json: ' + types.join(','),
      types.includes('authority') && types.includes('customer_service') && types.includes('other'));
    await page.selectOption('#fb-type', 'customer_service');
    await page.click('#fb-wrong');
    await page.locator('#fb-status', { hasText: /\S/ }).waitFor();
    check('correction saved', /Saved/.test(await page.textContent('#fb-status')));
    await page.screenshot({ path: path.join(shots, 'en-smishing.png'), fullPage: true });

    // too long
    await page.fill('#text', 'a'.repeat(70000));
    await page.click('#check');
    check('too long gives a message', /too long/.test(await page.textContent('#status')));

    // service down
    process.kill(Number(hubaodPid), 'SIGKILL');
    await page.fill('#text', POLICE);
    await page.click('#check');
    await page.waitForSelector('#status:not([hidden])');
    await page.locator('#status', { hasText: /down/ }).waitFor();
    check('service down is explained', /service is down/.test(await page.textContent('#status')));
    check('no verdict shown while down', await page.isHidden('#result'));
    await page.screenshot({ path: path.join(shots, 'service-down.png'), fullPage: true });

    check('no CSP violations', cspErrors.length === 0);
    check('no request leaves the server: ' + external.join(' '), external.length === 0);
  } catch (e) {
    check('page script ran: ' + e.message.split('\n')[0], false);
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.exit(fails.length ? 1 : 0);
})();
