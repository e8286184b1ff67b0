// The review console in a real browser (run by tests/browser.rs, which seeds the store and serves the console).
//
// Two approvers (ann, bob) and an auditor (aud) work the seeded case: sign in, open it from the queue, see the
// evidence chart, assign and decide, approve, the same reviewer's second approval refused, the second reviewer's
// approval in a second browser context, a stale page's conflict, enforcement, a document downloaded and its SHA-256
// compared with the page's, its log entry's proof checked on the public page (by the server and in the browser), a
// pseudonym checked, a form without its CSRF token refused, and the auditor refused an action. axe-core checks every
// page (no serious or critical violation), every step is screenshotted, and a Content-Security-Policy violation or a
// script error anywhere fails the run.
//
// Environment: CONSOLE_URL, CASE_ID, SUBJECT, PASSWORD, CHROMIUM (the browser), OVERSIGHT_NPM (the folder with
// node_modules/playwright-core and node_modules/axe-core), SCREENSHOTS (the output folder).

import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: tests/browser.rs sets it`);
  }
  return v;
};
const base = env("CONSOLE_URL");
const caseId = env("CASE_ID");
const subject = env("SUBJECT");
const password = env("PASSWORD");
const out = env("SCREENSHOTS");
// The packages live outside the clone (.ci/console-browser.sh installs them), so resolve them from there.
const require = createRequire(path.join(env("OVERSIGHT_NPM"), "package.json"));
const { chromium } = require("playwright-core");
const axeSource = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");

fs.mkdirSync(out, { recursive: true });
console.log(`screenshots: ${out}`);

const problems = [];
let shots = 0;

/** Record CSP violations and script errors of a page; they fail the run at the end. */
function watch(page, who) {
  page.on("console", (m) => {
    // The refusals this run provokes answer 403 and 409 on purpose; any other error is a problem.
    const refusal = /Failed to load resource: the server responded with a status of (403|409)/.test(m.text());
    if (m.type() === "error" && !refusal) {
      problems.push(`${who}: console error: ${m.text()}`);
    }
  });
  page.on("pageerror", (e) => problems.push(`${who}: script error: ${e.message}`));
  return page;
}

async function shot(page, name) {
  shots += 1;
  const file = path.join(out, `${String(shots).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`step ${shots}: ${name} (${file})`);
}

/** axe-core on the page as it is: no serious or critical violation. */
async function axe(page, name) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern: the page itself stays script-free.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const described = bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  assert.equal(bad.length, 0, `${name}: accessibility violations: ${described.join("; ")}`);
  console.log(`  axe on ${name}: no serious or critical violation (${result.violations.length} minor)`);
}

/** Click `button` and return the answer to the form's POST, once the page it leads to has loaded. */
async function submit(page, button) {
  const [answer] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), button.click()]);
  await page.waitForLoadState("load");
  return answer;
}

/** The action form `action` of the case page. */
const form = (page, action) => page.locator(`form[action="/cases/${caseId}/${action}"]`);

/** Fill an action form's reason and send it; returns the POST's answer. */
async function act(page, action, reason) {
  const f = form(page, action);
  await f.getByLabel(/^Reason/).fill(reason);
  return submit(page, f.getByRole("button"));
}

async function signIn(page, name) {
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Password").fill(password);
  const answer = await submit(page, page.getByRole("button", { name: "Sign in" }));
  assert.equal(answer.status(), 303, `${name} signs in`);
}

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"], headless: true });
try {
  const viewport = { width: 1280, height: 900 };
  const annContext = await browser.newContext({ viewport, acceptDownloads: true });
  const ann = watch(await annContext.newPage(), "ann");

  // Sign in: the queue sends a stranger to the sign-in page, and back after.
  await ann.goto(`${base}/queue`);
  assert.match(ann.url(), /\/sign-in\?next=%2Fqueue$/);
  await axe(ann, "sign-in");
  await shot(ann, "sign-in");
  await signIn(ann, "ann");
  assert.equal(new URL(ann.url()).pathname, "/queue");

  // The queue: the case is there, with its organisation; open it.
  await ann.getByRole("heading", { name: "Queue" }).waitFor();
  const row = ann.locator("table.queue tbody tr", { hasText: caseId });
  assert.match(await row.innerText(), /Interior Ministry/);
  await axe(ann, "queue");
  await shot(ann, "queue");
  await Promise.all([ann.waitForURL(`**/cases/${caseId}`), row.getByRole("link", { name: caseId }).click()]);

  // The case: subject, findings against thresholds with the clause, and the evidence chart with a threshold line.
  await ann.getByRole("heading", { name: `Case ${caseId}` }).waitFor();
  assert.ok(await ann.getByText("Unit 8 archive").isVisible());
  assert.ok(await ann.locator("blockquote.clause").first().isVisible(), "the clause is quoted");
  const chart = ann.locator("figure.chart svg").first();
  assert.ok(await chart.isVisible(), "an evidence chart");
  assert.ok((await chart.locator('line[stroke="#b3261e"]').count()) >= 1, "the threshold is drawn in");
  assert.ok((await chart.locator("path").getAttribute("d")).startsWith("M"), "the series is drawn");
  await axe(ann, "case");
  await shot(ann, "case-with-evidence-chart");

  // Assign, then decide: suspend storage and AI on the subject's AWS account.
  let answer = await act(ann, "assign", "interception-scale speech-to-text in an intelligence unit");
  assert.equal(answer.status(), 303);
  await ann.getByText("The reviewer is assigned").waitFor();
  const decide = form(ann, "decide");
  await decide.getByLabel("Outcome").selectOption("suspend");
  await decide.getByLabel("Cloud of the unit").selectOption("aws");
  assert.equal(await decide.getByLabel(/^Subscriptions, accounts or projects/).inputValue(), subject, "the scope defaults to the subject");
  await decide.getByLabel("storage").check();
  await decide.getByLabel("ai", { exact: true }).check();
  await axe(ann, "decide form");
  answer = await act(ann, "decide", "mass surveillance of civilians: suspend the unit's storage and AI, not the customer");
  assert.equal(answer.status(), 303);
  await ann.getByText("The decision is recorded").waitFor();
  await shot(ann, "decided");

  // Ann approves; her second approval is refused by the two-person rule.
  answer = await act(ann, "approve", "evidence checked against the series");
  assert.equal(answer.status(), 303);
  await ann.getByText("Your approval is recorded").waitFor();
  answer = await act(ann, "approve", "approving again");
  assert.equal(answer.status(), 409, "the same reviewer approving twice is refused");
  const refusal = await ann.getByRole("alert").innerText();
  assert.match(refusal, /ann already approved .*two-person rule needs a different reviewer/);
  await axe(ann, "refusal");
  await shot(ann, "same-reviewer-refused");

  // Bob approves in a second browser context (his own session), coming through the sign-in page.
  const bobContext = await browser.newContext({ viewport });
  const bob = watch(await bobContext.newPage(), "bob");
  await bob.goto(`${base}/cases/${caseId}`);
  await signIn(bob, "bob");
  assert.equal(new URL(bob.url()).pathname, `/cases/${caseId}`, "back to the case after signing in");
  answer = await act(bob, "approve", "second reviewer: evidence and scope checked");
  assert.equal(answer.status(), 303);
  await bob.getByText("Your approval is recorded").waitFor();
  assert.match(await bob.locator("dl.summary").innerText(), /2 of 2: ann, bob/);
  await shot(bob, "second-reviewer-approved");

  // Ann's page is stale (it still offers approval at the old version): the store names who changed the case.
  answer = await act(ann, "approve", "from a stale page");
  assert.equal(answer.status(), 409);
  assert.match(await ann.getByRole("alert").innerText(), /was changed by bob .*reload/);
  await shot(ann, "conflict-changed-by-bob");

  // The page now shows the case as it is: ann enforces.
  answer = await act(ann, "enforce", "approved by two reviewers");
  assert.equal(answer.status(), 303);
  await ann.getByText("The case is enforced").waitFor();
  await axe(ann, "enforced case");
  await shot(ann, "enforced-with-documents");

  // Download the first document: its SHA-256 is the one the page shows (and the log carries).
  const link = ann.locator("a.download").first();
  const [download] = await Promise.all([ann.waitForEvent("download"), link.click()]);
  const saved = path.join(out, download.suggestedFilename());
  await download.saveAs(saved);
  const sha256 = crypto.createHash("sha256").update(fs.readFileSync(saved)).digest("hex");
  assert.equal(sha256, (await ann.locator("code.sha256").first().innerText()).trim(), "the downloaded document's SHA-256 is the page's");
  console.log(`  downloaded ${saved}, sha256 ${sha256}`);

  // Its log entry on the public page: the proof verified by the server and again in the browser.
  await Promise.all([ann.waitForURL("**/log/entries/*"), ann.getByRole("link", { name: /^enforcement entry #\d+/ }).first().click()]);
  await ann.getByText("Verified by the server").waitFor();
  await ann.locator('#browser-check[data-result="verified"]').waitFor();
  assert.match(await ann.locator("#browser-check").innerText(), /Verified in your browser too: the checkpoint's Ed25519 signature by the log's key/);
  assert.ok(!(await ann.content()).includes(subject), "the public entry names the tenant only by its pseudonym");
  // The browser's check is a check: another entry's bytes, or another key's signature, fail it.
  const vkey = await ann.locator("#browser-check").getAttribute("data-vkey");
  const nameAndId = vkey.slice(0, vkey.indexOf("+", vkey.indexOf("+") + 1));
  // Another Ed25519 key under the log's name and key id: the raw key is the last 32 bytes of its SPKI encoding.
  const other = crypto.generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "der" }).subarray(-32);
  const otherKey = `${nameAndId}+${Buffer.concat([Buffer.from([1]), other]).toString("base64")}`;
  for (const [attribute, forged] of [["leaf", btoa("{}")], ["vkey", otherKey]]) {
    const recheck = await ann.evaluate(
      async ([attribute, forged]) => {
        const p = document.getElementById("browser-check");
        const kept = p.dataset[attribute];
        p.dataset[attribute] = forged;
        delete p.dataset.result;
        const done = new Promise((resolve) => new MutationObserver((_, o) => p.dataset.result && (o.disconnect(), resolve())).observe(p, { attributes: true }));
        const script = document.createElement("script");
        script.src = "/static/verify.js";
        document.body.append(script);
        await done;
        const result = [p.dataset.result, p.textContent];
        p.dataset[attribute] = kept;
        script.remove();
        return result;
      },
      [attribute, forged],
    );
    assert.equal(recheck[0], "failed", `a forged ${attribute} fails the browser's check: ${recheck[1]}`);
    console.log(`  a forged ${attribute}: ${recheck[1]}`);
  }
  await ann.reload();
  await ann.locator('#browser-check[data-result="verified"]').waitFor();
  await axe(ann, "public log entry");
  await shot(ann, "log-entry-proof-verified");

  // The public list, and a tenant checking the pseudonym against its own id.
  const visitor = watch(await (await browser.newContext({ viewport })).newPage(), "visitor");
  await visitor.goto(`${base}/log/`);
  assert.match(await visitor.locator("dd").filter({ hasText: "Verified" }).innerText(), /signed by the log's key/);
  await axe(visitor, "public log");
  await shot(visitor, "public-log");
  await Promise.all([visitor.waitForURL("**/log/entries/*"), visitor.locator("table.entries a").first().click()]);
  await Promise.all([visitor.waitForURL("**/log/pseudonym?*"), visitor.getByRole("link", { name: /Check the pseudonym/ }).click()]);
  await visitor.getByLabel(/^Your account id/).fill(subject);
  answer = await submit(visitor, visitor.getByRole("button", { name: "Check" }));
  assert.equal(answer.status(), 200);
  await visitor.getByText("It matches").waitFor();
  await axe(visitor, "pseudonym check");
  await shot(visitor, "pseudonym-matches");

  // A form whose CSRF token is taken out is refused (403) and changes nothing.
  await ann.goto(`${base}/cases/${caseId}`);
  await form(ann, "lift").locator('input[name="csrf"]').evaluate((input) => input.remove());
  answer = await act(ann, "lift", "a forged request");
  assert.equal(answer.status(), 403);
  await ann.getByText("security token (CSRF)").waitFor();
  await shot(ann, "no-csrf-token-refused");
  await ann.goto(`${base}/cases/${caseId}`);
  assert.match(await ann.locator("dl.summary").innerText(), /enforced/, "still enforced");

  // The auditor reads the case, is offered no action, and is refused one sent all the same.
  const audContext = await browser.newContext({ viewport });
  const aud = watch(await audContext.newPage(), "aud");
  await aud.goto(`${base}/cases/${caseId}`);
  await signIn(aud, "aud");
  await aud.getByText("You are an auditor").waitFor();
  assert.equal(await aud.locator(`form[action^="/cases/"]`).count(), 0, "no action form for an auditor");
  await axe(aud, "case as auditor");
  await shot(aud, "auditor-reads");
  const token = await aud.locator('form[action="/sign-out"] input[name="csrf"]').inputValue();
  const version = (await aud.locator("dl.summary dd").nth(6).innerText()).trim();
  await aud.evaluate(
    ([action, csrf, v]) => {
      const f = document.createElement("form");
      f.method = "post";
      f.action = action;
      for (const [name, value] of [["csrf", csrf], ["version", v], ["reason", "an auditor tries"]]) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = name;
        input.value = value;
        f.append(input);
      }
      document.body.append(f);
      f.id = "forged";
    },
    [`/cases/${caseId}/lift`, token, version],
  );
  [answer] = await Promise.all([aud.waitForResponse((r) => r.request().method() === "POST"), aud.locator("#forged").evaluate((f) => f.submit())]);
  await aud.waitForLoadState("load");
  assert.equal(answer.status(), 403);
  assert.match(await aud.getByRole("alert").innerText(), /aud \(auditor\) may not lift/);
  await shot(aud, "auditor-refused");

  assert.deepEqual(problems, [], "no CSP violation or script error on any page");
  console.log(`${shots} screenshots; every step passed`);
} finally {
  await browser.close();
}
