// The review UI in headless Chromium (playwright-core over Debian's
// chromium), on a real `autodev serve` that t1951-review.sh started.
//
//   node review.mjs   (env: BASE, ADMIN, REVIEWER, AGENT, CAND_OK, CAND_BAD,
//                      CAND_KEY, MUT, CHROMIUM, ARTIFACTS, RESULTS)
//
// Each step appends one JSON line {step, ok, detail} to RESULTS; the shell
// script turns each into a TAP line. A step that throws is failed and the
// scenario goes on where it can. A screenshot of every page goes to ARTIFACTS.
import { chromium } from 'playwright-core';
import fs from 'node:fs';

const env = process.env;
const base = env.BASE;
const out = fs.openSync(env.RESULTS, 'w');
const record = (step, ok, detail) => fs.writeSync(out, JSON.stringify({ step, ok, detail: String(detail || '') }) + '\n');
const shots = [];

async function api(token, method, path, body) {
  const r = await fetch(base + path, {
    method, headers: { Authorization: 'Bearer ' + token, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, json: await r.json().catch(() => null) };
}
function expect(cond, msg) { if (!cond) throw new Error(msg); }

const browser = await chromium.launch({ executablePath: env.CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
const ctx = await browser.newContext({ viewport: { width: 1366, height: 768 } });
const page = await ctx.newPage();
const consoleErrors = [];
const dialogs = [];
page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
page.on('pageerror', (e) => consoleErrors.push('pageerror: ' + e.message));
page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
const requests = [];
page.on('request', (r) => requests.push({ url: r.url(), auth: r.headers()['authorization'] || '' }));

async function shot(name) {
  const file = `${env.ARTIFACTS}/${name}.png`;
  await page.screenshot({ path: file, fullPage: true });
  shots.push(name);
}
async function ready(hash) {
  await page.waitForFunction((h) => document.getElementById('main').dataset.ready === h, hash, { timeout: 20000 });
}
async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await ready(hash);
}
async function step(name, fn) {
  try { record(name, true, await fn()); } catch (e) { record(name, false, e.stack || e); }
}

await step('login', async () => {
  await page.goto(base + '/');
  await page.waitForSelector('#token');
  await shot('01-login');
  await page.fill('#token', env.REVIEWER);
  await page.click('button[type=submit]');
  await ready('#/queue');
  expect(await page.evaluate(() => sessionStorage.getItem('autodev.token')) === env.REVIEWER, 'token not in sessionStorage');
  expect(await page.evaluate(() => localStorage.length) === 0, 'localStorage used');
  expect(!page.url().includes(env.REVIEWER), 'token in the URL');
  const count = await page.textContent('#count-queue');
  expect(count === '5', 'header count ' + count + ', not 5 (3 candidates, 2 mutations)');
  await shot('02-queue');
  return 'queue count ' + count;
});

await step('approve a candidate and see the catalog gain the skill', async () => {
  await go('#/candidate/' + env.CAND_OK);
  const code = await page.textContent('#cand-code');
  expect(code.includes('def find_order_number'), 'no code shown');
  expect((await page.textContent('main')).includes('Find the order number'), 'no failure pattern task');
  // Test in sandbox with a custom input.
  await page.fill('#try-input', '{"text": "Order number: 777"}');
  await page.click('text=Run in sandbox');
  await page.waitForFunction(() => /777/.test(document.getElementById('try-output').textContent), null, { timeout: 60000 });
  await shot('03-candidate');
  await page.click('#approve');
  await ready('#/skill/find_order_number');
  await go('#/skills');
  const skills = await page.textContent('#skills');
  expect(skills.includes('find_order_number'), 'catalog lacks find_order_number');
  const r = await api(env.ADMIN, 'GET', '/v1/skills/find_order_number');
  expect(r.status === 200 && r.json.version.semver === '1.0.0', 'API: skill not in catalog');
  return 'catalog has find_order_number 1.0.0';
});

await step('hostile text is shown literally and runs no script', async () => {
  await go('#/candidate/' + env.CAND_BAD);
  const text = await page.textContent('main');
  expect(text.includes('<img src=x onerror=window.__pwned=1>'), 'markup not shown literally');
  expect(text.includes('\\u001b[31m'), 'terminal escape not shown as \\u001b');
  expect(!text.includes('\u001b'), 'a raw ESC reached the page');
  expect(await page.evaluate(() => document.querySelectorAll('main img').length) === 0, 'an img element was made');
  expect(await page.evaluate(() => window.__pwned === undefined), 'the script ran');
  expect(dialogs.length === 0, 'a dialog opened');
  return 'literal';
});

await step('reject a candidate with a required reason', async () => {
  // An empty reason is refused by the page, nothing sent.
  await page.click('button.danger');
  const still = await api(env.ADMIN, 'GET', '/v1/candidates/' + env.CAND_BAD);
  expect(still.json.review_status === 'pending', 'rejected without a reason');
  await page.fill('#reject-reason', 'counts vowels, not what the agent needed');
  await shot('04-candidate-hostile');
  await page.click('button.danger');
  await ready('#/queue');
  const r = await api(env.ADMIN, 'GET', '/v1/candidates/' + env.CAND_BAD);
  expect(r.json.review_status === 'rejected' && r.json.reason === 'counts vowels, not what the agent needed', 'not rejected: ' + JSON.stringify(r.json.review_status));
  return 'rejected';
});

await step('approve a mutation and see the new version', async () => {
  await go('#/mutation/' + env.MUT);
  const diff = await page.textContent('#diff');
  expect(diff.includes('n += 1') && diff.includes('return len(text.split())'), 'diff lacks parent or mutant lines');
  expect(await page.locator('#diff td.add').count() > 0 && await page.locator('#diff td.del').count() > 0, 'no added/removed cells');
  expect((await page.textContent('#risk-reasons')).includes('no new imports'), 'risk reasons missing');
  expect((await page.textContent('main')).includes('3 %'), 'noise floor missing');
  await shot('05-mutation');
  await page.click('#approve');
  await ready('#/skill/word_count');
  const versions = await page.textContent('#versions');
  expect(versions.includes('1.1.0'), 'no 1.1.0 in versions: ' + versions);
  expect(await page.locator('svg.graph rect').count() === 2, 'lineage graph lacks 2 nodes');
  await shot('06-skill');
  return 'word_count 1.1.0';
});

await step('change a setting (admin)', async () => {
  await page.click('#logout');
  await page.waitForSelector('#token');
  expect(await page.evaluate(() => sessionStorage.getItem('autodev.token')) === null, 'log out kept the token');
  await page.fill('#token', env.ADMIN);
  await page.click('button[type=submit]');
  await ready('#/queue');
  await go('#/settings');
  await page.fill('#set-max_mutations_per_day', '7');
  await page.click('#save-settings');
  await page.waitForSelector('.notice');
  await ready('#/settings');
  const r = await api(env.ADMIN, 'GET', '/v1/settings');
  expect(r.json.max_mutations_per_day === 7, 'setting is ' + r.json.max_mutations_per_day);
  await shot('07-settings');
  return 'max_mutations_per_day 7';
});

await step('watch an event arrive in the live feed', async () => {
  await go('#/live');
  await page.waitForFunction(() => document.getElementById('feed-state').dataset.state === 'open', null, { timeout: 20000 });
  const r = await api(env.AGENT, 'POST', '/v1/episodes', { agent: 'ann', task_description: 'live feed probe', success: false, error_trace: 'ProbeError: seen live' });
  expect(r.status === 201, 'episode not recorded: ' + r.status);
  await page.waitForFunction(() => /live feed probe|ProbeError/.test(document.getElementById('feed').textContent), null, { timeout: 30000 });
  await shot('08-live');
  return (await page.locator('#feed li').count()) + ' event(s)';
});

await step('keyboard only: approve a candidate', async () => {
  await go('#/queue');
  // From the top of the page, Tab to the candidate's link and Enter, then Tab to Approve and Enter.
  await page.evaluate(() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); });
  let found = false;
  for (let i = 0; i < 40 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement && document.activeElement.textContent === 'count_letters');
  }
  expect(found, 'Tab never reached the candidate link');
  await page.keyboard.press('Enter');
  await ready('#/candidate/' + env.CAND_KEY);
  found = false;
  for (let i = 0; i < 60 && !found; i++) {
    await page.keyboard.press('Tab');
    found = await page.evaluate(() => document.activeElement && document.activeElement.id === 'approve');
  }
  expect(found, 'Tab never reached Approve');
  const ring = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  expect(ring !== 'none', 'no visible focus on Approve');
  await page.keyboard.press('Enter');
  await ready('#/skill/count_letters');
  const r = await api(env.ADMIN, 'GET', '/v1/skills/count_letters');
  expect(r.status === 200, 'count_letters not in the catalog');
  return 'approved with Tab and Enter';
});

await step('every page renders; screenshots saved', async () => {
  await go('#/agents'); await shot('09-agents');
  await go('#/agent/ann');
  expect((await page.textContent('main')).includes('Readiness criteria'), 'no readiness');
  await shot('10-agent');
  await go('#/research');
  expect((await page.textContent('main')).includes('No evolution runs.'), 'evolution panel is not the empty list of GET /v1/evolve/runs');
  await shot('11-research');
  await go('#/skills'); await shot('12-skills');
  await go('#/queue'); await shot('13-queue-after');
  return shots.join(' ');
});

await step('every API call carried the token; no console errors', async () => {
  const bad = requests.filter((r) => new URL(r.url).pathname.startsWith('/v1/') && !r.auth.startsWith('Bearer '));
  expect(bad.length === 0, 'calls without a token: ' + bad.map((r) => r.url).join(' '));
  expect(!requests.some((r) => r.url.includes(env.ADMIN) || r.url.includes(env.REVIEWER)), 'a token in a URL');
  const errs = consoleErrors.filter((e) => !/Failed to load resource.*(404|403)/.test(e));
  expect(errs.length === 0, 'console: ' + errs.join(' | '));
  return requests.length + ' requests';
});

await step('an agent token is refused at login with the reason (GET /v1/me)', async () => {
  await page.evaluate(() => { sessionStorage.removeItem('autodev.token'); location.hash = '#/login'; });
  await page.reload();
  await page.waitForSelector('#token');
  await page.fill('#token', env.AGENT);
  await page.click('button[type=submit]');
  await page.waitForFunction(() => /reviewer or admin token/.test(document.querySelector('#login-error').textContent), null, { timeout: 20000 });
  expect(await page.evaluate(() => sessionStorage.getItem('autodev.token')) === null, 'agent token kept');
  return 'refused';
});

await step('a 401 returns to the login', async () => {
  await page.evaluate(() => { sessionStorage.setItem('autodev.token', 'adt_not_a_token'); location.hash = '#/skills'; });
  await page.waitForSelector('#token', { timeout: 20000 });
  expect((await page.textContent('#login-error')).includes('401'), 'no 401 message');
  expect(await page.evaluate(() => sessionStorage.getItem('autodev.token')) === null, 'bad token kept');
  return 'back at login';
});

await browser.close();
fs.closeSync(out);
