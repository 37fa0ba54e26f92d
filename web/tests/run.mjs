// The site in a real browser (Debian's Chromium through playwright-core),
// against a running local stack (`cargo test -p binome-tests --test api site`
// starts one and runs this; by hand, against `local/run.sh`): people's journeys on a phone-sized screen,
// with and without JavaScript, and axe-core on every page and error state.
// Screenshots go to web/artifacts/ (ignored by git).
//
//   BINOME_URL=http://127.0.0.1:3000 BINOME_OUTBOX=.local/outbox node web/tests/run.mjs

import { mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.BINOME_URL ?? "http://127.0.0.1:3000";
const outbox = process.env.BINOME_OUTBOX ?? join(here, "../../.local/outbox");
const artifacts = join(here, "../artifacts");
mkdirSync(artifacts, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const phone = { width: 390, height: 844 };
const failures = [];
const audited = [];

function check(condition, message) {
  if (!condition) failures.push(message);
  return condition;
}

// WCAG 2.1 A and AA, as the RGAA asks. Without JavaScript axe cannot run:
// the screenshot is kept (the markup is the one audited with JavaScript).
async function audit(page, name, javaScript = true) {
  await page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });
  if (!javaScript) return;
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } }),
  );
  audited.push({ name, violations: result.violations.length, passes: result.passes.length });
  for (const violation of result.violations) {
    failures.push(`${name}: axe ${violation.id} (${violation.impact}) on ${violation.nodes.map((n) => n.target.join(" ")).join(", ")}`);
  }
}

// The links to `path` in the mails sent to `address`, newest first.
function mailedLinks(address, path) {
  const pattern = new RegExp(`https?://[^\\s"<>]*${path.replace("?", "\\?")}\\?token=[A-Za-z0-9._~%-]+`, "g");
  return readdirSync(outbox)
    .filter((name) => name.endsWith(".eml"))
    .map((name) => ({ path: join(outbox, name), at: statSync(join(outbox, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at)
    .map(({ path }) => readFileSync(path, "utf8"))
    .filter((raw) => raw.includes(`To: ${address}`) || raw.includes(`<${address}>`))
    // Quoted-printable: soft line breaks, then escaped bytes.
    .map((raw) => raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))))
    .flatMap((text) => text.match(pattern) ?? []);
}

// Every mail of the outbox, newest first, as {to, text} with its
// quoted-printable undone.
function mails() {
  return readdirSync(outbox)
    .filter((name) => name.endsWith(".eml"))
    .map((name) => ({ path: join(outbox, name), at: statSync(join(outbox, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at)
    .map(({ path }) => readFileSync(path, "utf8"))
    .map((raw) => ({
      to: (raw.match(/^To: (?:.*<)?([^<>\s]+@[^<>\s]+?)>?\r?$/m) ?? [])[1],
      text: raw.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
    }));
}

// The newest link to `path` mailed to `address` that is not in `seen`.
async function waitForMail(address, path, seen = new Set()) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const link = mailedLinks(address, path).find((found) => !seen.has(found));
    if (link) {
      seen.add(link);
      return link;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return null;
}

// A browser context that fails the run on any request to another origin.
async function newContext(browser, options) {
  // `bypassCSP` only lets the test inject axe-core; the pages keep their policy.
  const context = await browser.newContext({ viewport: phone, locale: "fr-FR", bypassCSP: true, ...options });
  context.on("request", (request) => {
    const url = request.url();
    check(url.startsWith(base) || url.startsWith("data:"), `a request to another origin: ${url}`);
  });
  return context;
}

// Ticks a radio button or a checkbox as a person does: on its label (the
// design system draws the box there).
async function tick(page, label) {
  await page.locator("label", { hasText: label }).first().click();
}

// With JavaScript the long forms show one step at a time: on to the next.
async function nextStep(page) {
  const next = page.getByRole("button", { name: "Étape suivante" });
  if (await next.isVisible()) await next.click();
}

async function lastStep(page) {
  for (let step = 0; step < 10 && (await page.getByRole("button", { name: "Étape suivante" }).isVisible()); step++) {
    await nextStep(page);
  }
}

async function fillMentee(page, person) {
  await page.getByLabel("Prénom *", { exact: true }).fill(person.firstName);
  await page.getByLabel("Nom *", { exact: true }).fill("Benali");
  await page.locator("#email").fill(person.email);
  await page.locator("#postal_code").fill(person.postalCode);
  await page.locator("#birth_date").fill(person.birthDate);
  await page.locator("#birth_date").dispatchEvent("change");
  await nextStep(page);
  await tick(page, person.situation ?? "Je fais des études après le bac");
  await tick(page, "Trouver un stage ou une alternance");
  await nextStep(page);
  await tick(page, "En personne");
  await nextStep(page);
  await nextStep(page);
  if (person.guardian) {
    check(await page.locator("#tuteur").isVisible(), "minor: the guardian's part shows under 15");
    await page.locator("#guardian_name").fill("Nadia Haddad");
    await page.locator("#guardian_email").fill(person.guardian);
    await tick(page, "Mon parent ou responsable légal est d'accord");
    await nextStep(page);
  }
  await tick(page, /J'accepte que binome et l'association qui recevra ma demande/);
}

// A 19-year-old on a phone: two mistakes, corrected from the messages,
// then the mailed link confirms the request.
async function menteeJourney(browser, javaScript) {
  const tag = javaScript ? "js" : "sans-js";
  const context = await newContext(browser, { javaScriptEnabled: javaScript });
  const page = await context.newPage();
  const email = `ines.${tag}@exemple.fr`;
  await page.goto(`${base}/demande`);
  await audit(page, `demande-${tag}`, javaScript);
  if (javaScript) {
    check((await page.locator(".fr-stepper__state").innerText()) === "Étape 1 sur 5", "js: the form shows its steps");
  }
  if (javaScript) {
    check(await page.locator("#tuteur").isHidden(), `${tag}: the guardian's part waits for a birth date under 15`);
  }
  const nineteen = new Date();
  nineteen.setFullYear(nineteen.getFullYear() - 19);
  await fillMentee(page, {
    firstName: "Inès",
    email: "ines.benali@",
    postalCode: "9320",
    birthDate: nineteen.toISOString().slice(0, 10),
  });
  await page.getByRole("button", { name: "Envoyer ma demande" }).click();
  const summary = page.locator("#erreurs");
  check(await summary.isVisible(), `${tag}: the error summary shows`);
  check((await summary.locator("li").count()) === 2, `${tag}: two errors listed, got ${await summary.locator("li").count()}`);
  if (javaScript) {
    check(await page.evaluate(() => document.activeElement?.id === "erreurs"), `${tag}: the summary takes focus`);
  }
  check((await page.locator("#first_name").inputValue()) === "Inès", `${tag}: the values are kept`);
  check((await page.locator("#email").getAttribute("aria-invalid")) === "true", `${tag}: the e-mail field is marked invalid`);
  check((await page.locator("#email-error").innerText()).includes("adresse e-mail valide"), `${tag}: the e-mail error says what to fix`);
  await audit(page, `demande-erreurs-${tag}`, javaScript);
  await page.locator("#email").fill(email);
  await page.locator("#postal_code").fill("93200");
  await page.getByRole("button", { name: "Envoyer ma demande" }).click();
  check((await page.locator("h1").innerText()).includes("Vérifiez votre messagerie"), `${tag}: the request is sent`);
  await audit(page, `demande-envoyee-${tag}`, javaScript);
  const link = await waitForMail(email, "/v1/verify");
  if (check(link, `${tag}: a verification mail to ${email}`)) {
    const response = await page.goto(link);
    check(response.status() === 200, `${tag}: the verification link answers 200, got ${response.status()}`);
    await audit(page, `verification-${tag}`, javaScript);
  }
  await context.close();
}

// A volunteer reads the charter, signs up and confirms.
async function mentorJourney(browser) {
  const context = await newContext(browser, {});
  const page = await context.newPage();
  const email = "camille.mentor@exemple.fr";
  await page.goto(`${base}/`);
  await page.getByRole("link", { name: "Je deviens mentor" }).click();
  await page.getByRole("link", { name: "Lire la charte du mentorat" }).click();
  check((await page.locator("h1").innerText()).includes("charte"), "mentor: the charter opens");
  await page.goBack();
  await page.getByLabel("Prénom *", { exact: true }).fill("Camille");
  await page.getByLabel("Nom *", { exact: true }).fill("Martin");
  await page.locator("#email").fill(email);
  await page.locator("#postal_code").fill("75011");
  await nextStep(page);
  await page.getByLabel("Votre métier *").fill("Développeuse");
  await page.getByLabel("Votre secteur *").selectOption("numerique");
  await page.getByLabel("Années d'expérience *").fill("8");
  await nextStep(page);
  await tick(page, "La recherche d'emploi");
  await tick(page, "Étudiant·es");
  await page.locator("#capacity").fill("2");
  await nextStep(page);
  await tick(page, "Les deux me conviennent");
  await nextStep(page);
  await tick(page, /J'ai lu la charte/);
  await tick(page, /J'accepte que binome et l'association qui recevra mon inscription/);
  await page.getByRole("button", { name: "M'inscrire comme mentor" }).click();
  check((await page.locator("h1").innerText()).includes("Vérifiez votre messagerie"), "mentor: the sign-up is sent");
  const link = await waitForMail(email, "/v1/verify");
  if (check(link, "mentor: a verification mail")) {
    const response = await page.goto(link);
    check(response.status() === 200, `mentor: the verification link answers 200, got ${response.status()}`);
  }
  await context.close();
}

// A reader subscribes from the home page: consent forgotten, then given;
// the mailed link confirms.
async function newsletterJourney(browser) {
  const context = await newContext(browser, { javaScriptEnabled: false });
  const page = await context.newPage();
  const email = "lea.lettre@exemple.fr";
  await page.goto(`${base}/`);
  await page.locator("#newsletter-email").fill(email);
  await page.getByRole("button", { name: "S'abonner" }).click();
  check((await page.locator("#consent-error").innerText()).includes("Cochez la case"), "newsletter: the missing consent is named");
  check((await page.locator("#email").inputValue()) === email, "newsletter: the address is kept");
  await audit(page, "newsletter-erreurs", false);
  await tick(page, "J'accepte de recevoir la lettre");
  await page.getByRole("button", { name: "S'abonner" }).click();
  check((await page.locator("h1").innerText()).includes("Vérifiez votre messagerie"), "newsletter: subscribed");
  const link = await waitForMail(email, "/v1/newsletter/confirm");
  if (check(link, "newsletter: a confirmation mail")) {
    const response = await page.goto(link);
    check(response.status() === 200, `newsletter: the confirmation link answers 200, got ${response.status()}`);
    await audit(page, "newsletter-confirmee", false);
  }
  await context.close();
}

// « Où en est ma demande ? »: the address, the mailed link, the request in
// words with the association it went to.
async function myRequestJourney(browser, email) {
  const context = await newContext(browser, {});
  const page = await context.newPage();
  await page.goto(`${base}/ma-demande`);
  await audit(page, "ma-demande-adresse");
  await page.locator("#email").fill(email);
  await page.getByRole("button", { name: "Recevoir le lien" }).click();
  check((await page.locator("h1").innerText()).includes("Vérifiez votre messagerie"), "ma-demande: the link is sent");
  const link = await waitForMail(email, "/ma-demande");
  if (check(link, "ma-demande: a mail with the link")) {
    let text = "";
    // Routing reads the verification from the table's stream: give it a moment.
    for (let attempt = 0; attempt < 25 && !text.includes("transmise à"); attempt++) {
      await page.goto(link);
      text = await page.locator("main").innerText();
      if (!text.includes("transmise à")) await new Promise((resolve) => setTimeout(resolve, 400));
    }
    check(text.includes("transmise à"), `ma-demande: the request says where it went: ${text.slice(0, 300)}`);
    check(text.includes("Votre association"), "ma-demande: the association's contact");
    check(await page.getByRole("link", { name: "Télécharger mes données" }).isVisible(), "ma-demande: the export button");
    check(await page.getByRole("link", { name: "Effacer mes données" }).isVisible(), "ma-demande: the erasure button");
    await audit(page, "ma-demande");
  }
  await context.close();
}

// Tab until the element `selector` has the focus (a keyboard user's way
// there); fails when it cannot be reached.
async function tabTo(page, selector) {
  for (let presses = 0; presses < 80; presses++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return true;
    await page.keyboard.press("Tab");
  }
  return check(false, `keyboard: ${selector} cannot be reached with Tab`);
}

// The whole request form with the keyboard only: Tab, typing, arrows for a
// choice, Space for a box, Enter to send.
async function keyboardJourney(browser) {
  const context = await newContext(browser, {});
  const page = await context.newPage();
  await page.goto(`${base}/demande`);
  const born = new Date();
  born.setFullYear(born.getFullYear() - 20);
  const typed = [
    ["#first_name", "Yanis"],
    ["#last_name", "Moreau"],
    ["#email", "yanis.clavier@exemple.fr"],
    ["#postal_code", "93200"],
  ];
  for (const [selector, text] of typed) {
    if (await tabTo(page, selector)) await page.keyboard.type(text);
  }
  if (await tabTo(page, "#birth_date")) {
    // A date field takes the day, the month and the year in the locale's order.
    const [year, month, day] = born.toISOString().slice(0, 10).split("-");
    await page.keyboard.type(`${day}${month}${year}`);
  }
  const next = async () => {
    if (await tabTo(page, "button[data-step=next]")) await page.keyboard.press("Enter");
  };
  await next();
  // A choice: Tab into the group, arrows to the answer (which selects it).
  const choose = async (name, id) => {
    if (!(await tabTo(page, `input[name=${name}]`))) return;
    for (let presses = 0; presses < 8; presses++) {
      if (await page.evaluate((wanted) => document.activeElement?.id === wanted, id)) return;
      await page.keyboard.press("ArrowDown");
    }
    check(false, `keyboard: ${id} cannot be chosen with the arrows`);
  };
  await choose("situation", "situation-jeune_actif");
  if (await tabTo(page, "#needs-insertion_pro")) await page.keyboard.press("Space");
  await next();
  await choose("mode", "mode-distance");
  await next();
  await next();
  if (await tabTo(page, "#consent-oui")) await page.keyboard.press("Space");
  if (await tabTo(page, "button[type=submit]")) await page.keyboard.press("Enter");
  await page.waitForLoadState();
  check(
    (await page.locator("h1").innerText()).includes("Vérifiez votre messagerie"),
    `keyboard: the request is sent with the keyboard only: ${await page.locator("#erreurs").innerText().catch(() => "")}`,
  );
  await context.close();
}

// A 14-year-old asks twice: the guardian refuses the first request (it
// goes no further), then accepts the second, which is confirmed.
async function minorJourney(browser) {
  const context = await newContext(browser, {});
  const page = await context.newPage();
  const email = "sami.college@exemple.fr";
  const guardian = "nadia.parent@exemple.fr";
  const born = new Date();
  born.setFullYear(born.getFullYear() - 14);
  born.setMonth(born.getMonth() - 2);
  const seen = new Set();
  for (const answer of ["Je refuse", "J'accepte"]) {
    await page.goto(`${base}/demande`);
    await fillMentee(page, {
      firstName: "Sami",
      email,
      postalCode: "93200",
      birthDate: born.toISOString().slice(0, 10),
      situation: "Je suis au collège",
      guardian,
    });
    await page.getByRole("button", { name: "Envoyer ma demande" }).click();
    check((await page.locator("h1").innerText()).includes("Vérifiez votre messagerie"), `minor (${answer}): the request is sent`);
    const consent = await waitForMail(guardian, "/v1/guardian/consent", seen);
    if (!check(consent, `minor (${answer}): a mail to the guardian`)) break;
    await page.goto(consent);
    check((await page.locator("h1").innerText()).includes("Sami"), "minor: the guardian's page names the child");
    if (answer === "Je refuse") await audit(page, "accord-parent");
    await page.getByRole("button", { name: answer }).click();
    const heading = await page.locator("h1").innerText();
    check(
      answer === "Je refuse" ? heading.includes("Votre refus est enregistré") : heading.includes("votre accord est enregistré"),
      `minor (${answer}): the guardian's answer is thanked: ${heading}`,
    );
    const verify = await waitForMail(email, "/v1/verify", seen);
    if (!check(verify, `minor (${answer}): a verification mail to the child`)) break;
    await page.goto(verify);
    const confirmed = await page.locator("h1").innerText();
    check(
      answer === "Je refuse" ? confirmed.includes("ne peut pas aller plus loin") : confirmed.includes("confirmée"),
      `minor (${answer}): the child's link says what happened: ${confirmed}`,
    );
  }
  await context.close();
}

async function everyPage(browser) {
  const context = await newContext(browser, {});
  const page = await context.newPage();
  const pages = ["/", "/newsletter", "/mentor", "/charte", "/mentions-legales", "/donnees-personnelles", "/accessibilite", "/plan-du-site", "/v1/newsletter/issues"];
  for (const path of pages) {
    const response = await page.goto(`${base}${path}`);
    check(response.status() === 200, `${path}: 200, got ${response.status()}`);
    const html = await response.text();
    check(Buffer.byteLength(html) <= 30 * 1024, `${path}: ${Buffer.byteLength(html)} bytes of HTML, more than 30 KB`);
    await audit(page, path === "/" ? "accueil" : path.slice(1).replaceAll("/", "-"));
  }
  // An empty mentor form posted: every required field is named.
  await page.goto(`${base}/mentor`);
  await lastStep(page);
  await page.getByRole("button", { name: "M'inscrire comme mentor" }).click();
  await audit(page, "mentor-erreurs");
  await context.close();
}

// A sign-up through the JSON API, confirmed from its mail.
async function signUp(kind, changes) {
  const sample = JSON.parse(JSON.parse(readFileSync(join(here, `../../events/signup-${kind}.json`), "utf8")).body);
  const body = { ...sample, ...changes };
  const response = await fetch(`${base}/v1/${kind}s`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  check(response.status === 202, `${kind} ${body.email}: signed up (202), got ${response.status}`);
  const link = await waitForMail(body.email, "/v1/verify");
  if (check(link, `${kind} ${body.email}: a verification mail`)) await fetch(link);
}

// The pair a mailed answer link is about (its token's payload names it).
function pairOf(link) {
  const token = new URL(link).searchParams.get("token");
  return Buffer.from(token.split(".")[0], "base64url").toString().split(".")[2].split(":")[0];
}

// The invited member signs in from the invitation, takes a request on,
// reads the pool, runs matching, approves
// two drafts and rejects one; both people of an approved pair accept from
// their mails; the member closes the pair.
async function memberJourney(browser) {
  const mentees = ["lina", "yanis", "sarah"].map((name) => `${name}.vivier@exemple.fr`);
  for (const email of mentees) await signUp("mentee", { email, first_name: email.split(".")[0] });
  await signUp("mentor", { email: "marc.vivier@exemple.fr", first_name: "Marc", postal_code: "93200", capacity: 3 });
  const context = await newContext(browser, {});
  const page = await context.newPage();
  const invitation = await waitForMail("lou.membre@exemple.fr", "/connexion/lien");
  if (!check(invitation, "member: the invitation link")) return;
  await page.goto(invitation);
  await page.getByRole("button", { name: "Me connecter" }).click();
  check(new URL(page.url()).pathname === "/association/demandes", `member: signed in on the inbox, got ${page.url()}`);

  // A member takes a request on, then reads the pool.
  for (let attempt = 0; attempt < 50 && (await page.locator("tbody tr a").count()) === 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await page.reload();
  }
  await page.locator("tbody tr a").first().click();
  await page.getByRole("button", { name: "Prendre en charge" }).click();
  check((await page.locator(".fr-alert--success").innerText()).includes("Demande prise en charge"), "member: a request taken on");
  await page.goto(`${base}/association/vivier`);
  check((await page.locator("h1").innerText()) === "Vivier", "member: the pool");
  check((await page.getByText("Marc").count()) >= 1, "member: the mentor in the pool");
  await audit(page, "association-vivier");

  await page.goto(`${base}/association/appariement`);
  await audit(page, "association-appariement");
  await page.getByRole("button", { name: "Lancer un run" }).click();
  for (let attempt = 0; attempt < 50 && (await page.getByText("Le run est en cours").count()) > 0; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await page.reload();
  }
  const drafts = page.locator("tbody input[type=checkbox]");
  check((await drafts.count()) >= 3, `member: the run found three drafts or more, got ${await drafts.count()}`);
  check(mails().every(({ text }) => !text.includes("Une proposition de binôme")), "member: nobody is told before review");
  await audit(page, "association-run");
  await drafts.nth(0).check({ force: true });
  await drafts.nth(1).check({ force: true });
  await page.getByRole("button", { name: "Approuver la sélection" }).click();
  check((await page.locator(".fr-alert--success").innerText()).includes("2 binôme(s) proposé(s)"), "member: two drafts approved");
  await page.locator("tbody input[type=checkbox]").first().check({ force: true });
  await page.locator("#reason").fill("Le mentor a déjà deux jeunes de ce lycée");
  await page.getByRole("button", { name: "Rejeter la sélection" }).click();
  check((await page.locator(".fr-alert--success").innerText()).includes("1 binôme(s) rejeté(s)"), "member: one draft rejected");
  await audit(page, "association-run-relu");

  // The mentor and one of the approved mentees accept the same pair.
  let answers = [];
  for (let attempt = 0; attempt < 50 && answers.length < 4; attempt++) {
    answers = mails().flatMap(({ to, text }) => (text.match(/https?:\/\/[^\s"<>]*\/v1\/pairs\/answer\?token=[A-Za-z0-9._~%-]+/g) ?? []).map((link) => ({ to, link })));
    answers = answers.filter((a, i) => answers.findIndex((b) => b.link === a.link) === i);
    if (answers.length < 4) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  check(answers.length === 4, `member: two pairs proposed, four answer links, got ${answers.length}`);
  const forMentor = answers.find((a) => a.to === "marc.vivier@exemple.fr");
  const forMentee = forMentor && answers.find((a) => a.to !== forMentor.to && pairOf(a.link) === pairOf(forMentor.link));
  if (!check(forMentee, "member: both sides of one pair were mailed")) return;
  const answering = await newContext(context.browser(), {});
  const person = await answering.newPage();
  for (const [index, { link }] of [forMentee, forMentor].entries()) {
    await person.goto(link);
    if (index === 0) await audit(person, "binome-reponse");
    await person.getByRole("button", { name: "J'accepte ce binôme" }).click();
    if (index === 0) await audit(person, "binome-reponse-acceptee");
  }
  await answering.close();

  await page.goto(`${base}/association/binomes`);
  check((await page.getByRole("link", { name: "En cours (1)" }).count()) === 1, "member: one pair active");
  await audit(page, "association-binomes");
  await page.locator("tbody select").first().selectOption("completed");
  await page.getByRole("button", { name: /Clore le binôme/ }).first().click();
  check((await page.locator(".fr-alert--success").innerText()).includes("Binôme clos"), "member: the pair is closed");
  await audit(page, "association-binomes-clos");
  await context.close();
}

// Association staff: the network invites an association's first admin,
// who signs in from the invitation, then, elsewhere, opens a request from
// the association's mail and signs in by a mailed link, takes the request on, invites a member, reads the journal and
// signs out. Every page of the space audited.
async function staffJourney(browser) {
  const directory = JSON.parse(readFileSync(join(here, "../../local/src/directory.json"), "utf8"));
  let notice = null;
  for (let attempt = 0; attempt < 50 && !notice; attempt++) {
    notice = mails()
      .map(({ to, text }) => ({ to, link: (text.match(/https?:\/\/[^\s"<>]*\/association\/demandes\/[A-Za-z0-9]+/) ?? [])[0] }))
      .find(({ to, link }) => link && directory.some((a) => a.contact_email === to));
    if (!notice) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (!check(notice, "staff: an association was told of a request")) return;
  const slug = directory.find((a) => a.contact_email === notice.to).slug;
  const admin = "camille.admin@exemple.fr";
  const invited = await fetch(`${base}/v1/admin/associations/${slug}/admins`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${process.env.BINOME_ADMIN_KEY}` },
    body: JSON.stringify({ name: "Camille Martin", email: admin }),
  });
  check(invited.status === 202, `staff: the first admin is invited (202), got ${invited.status}`);
  // The invitation's link signs the admin in, on the space's inbox.
  const invitation = await waitForMail(admin, "/connexion/lien");
  if (!check(invitation, "staff: the first admin's invitation is mailed")) return;
  const invitedContext = await newContext(browser, {});
  const invitedPage = await invitedContext.newPage();
  await invitedPage.goto(invitation);
  await invitedPage.getByRole("button", { name: "Me connecter" }).click();
  check(new URL(invitedPage.url()).pathname === "/association/demandes", `staff: the first admin signed in from the invitation, got ${invitedPage.url()}`);
  await invitedContext.close();
  const context = await newContext(browser, {});
  const page = await context.newPage();

  // The mail's link, signed out: the sign-in page, which comes back to it.
  await page.goto(notice.link);
  check(new URL(page.url()).pathname === "/connexion", `staff: signed out, the request opens the sign-in page, got ${page.url()}`);
  await audit(page, "connexion");
  await page.locator("#email").fill(admin);
  await page.getByRole("button", { name: "Recevoir un lien de connexion" }).click();
  check((await page.locator("h1").innerText()).includes("Vérifiez votre boîte mail"), "staff: the link is on its way");
  await audit(page, "connexion-envoyee");
  let signIn = null;
  for (let attempt = 0; attempt < 50 && !signIn; attempt++) {
    signIn = mails()
      .filter(({ to }) => to === admin)
      .map(({ text }) => (text.match(/https?:\/\/[^\s"<>]*\/connexion\/lien\?token=[A-Za-z0-9._~%-]+&suite=[A-Za-z0-9._~%-]+/) ?? [])[0])
      .find(Boolean);
    if (!signIn) await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (!check(signIn, "staff: a sign-in link coming back to the request")) return;
  await page.goto(signIn);
  await audit(page, "connexion-lien");
  await page.getByRole("button", { name: "Me connecter" }).click();
  check(page.url() === notice.link, `staff: signed in, back on the request, got ${page.url()}`);
  const cookie = (await context.cookies()).find((c) => c.name === "__Host-binome_session");
  check(cookie && cookie.httpOnly && cookie.secure && cookie.sameSite === "Lax", "staff: the session cookie is HttpOnly, Secure, SameSite=Lax");
  await audit(page, "association-demande");
  await page.getByRole("button", { name: "Prendre en charge" }).click();
  check((await page.locator(".fr-alert--success").innerText()).includes("Demande prise en charge"), "staff: the request is taken on");
  await audit(page, "association-demande-prise-en-charge");
  await page.getByRole("link", { name: "Voir les mentors suggérés" }).click();
  check((await page.locator("h1").innerText()) === "Mentors suggérés", "staff: a mentee's suggested mentors");
  await audit(page, "association-suggestions");
  await page.goBack();
  await page.goto(`${base}/association/demandes?statut=prises-en-charge`);
  check((await page.locator("tbody tr").count()) >= 1, "staff: the request is listed as taken on");
  await audit(page, "association-demandes");

  await page.goto(`${base}/association/equipe`);
  await audit(page, "association-equipe");
  await page.getByRole("button", { name: "Envoyer l'invitation" }).click();
  check((await page.locator("#erreurs li").count()) === 2, "staff: an empty invitation names its two fields");
  await audit(page, "association-equipe-erreurs");
  await page.locator("#name").fill("Lou Bernard");
  await page.locator("#email").fill("lou.membre@exemple.fr");
  await page.getByRole("button", { name: "Envoyer l'invitation" }).click();
  check((await page.locator(".fr-alert--success").innerText()).includes("Invitation envoyée"), "staff: the member is invited");
  check(await waitForMail("lou.membre@exemple.fr", "/connexion/lien"), "staff: the member's invitation is mailed");
  await audit(page, "association-equipe-invitation");

  await memberJourney(browser);

  await page.goto(`${base}/association/reglages`);
  await page.locator("#sla_days").fill("90");
  await page.getByRole("button", { name: "Enregistrer les réglages" }).click();
  check((await page.locator("#erreurs li").count()) === 1, "staff: a delay of 90 days is refused, named in the summary");
  await audit(page, "association-reglages-erreurs");
  await page.locator("#sla_days").fill("10");
  await page.getByRole("button", { name: "Enregistrer les réglages" }).click();
  check((await page.locator(".fr-alert--success").innerText()).includes("Réglages enregistrés"), "staff: the settings are saved");
  await audit(page, "association-reglages");

  await page.goto(`${base}/association/cles`);
  await audit(page, "association-cles");
  await page.locator("#name").fill("Tableur de suivi");
  await page.getByRole("button", { name: "Créer la clé" }).click();
  const key = (await page.locator(".site-key").innerText()).trim();
  const api = await fetch(`${base}/v1/association/requests`, { headers: { authorization: `Bearer ${key}` } });
  check(api.status === 200, `staff: the new key opens the API, got ${api.status}`);
  await audit(page, "association-cles-creee");

  await page.goto(`${base}/association/journal`);
  const journal = await page.locator("tbody").innerText();
  for (const action of ["Demande prise en charge", "Membre invité·e", "Binôme approuvé et proposé", "Binôme rejeté", "Binôme clos", "Réglages modifiés"]) {
    check(journal.includes(action), `staff: the journal lists « ${action} », got ${journal}`);
  }
  await audit(page, "association-journal");
  const csv = await page.request.get(`${base}/association/binomes/export`);
  check(csv.status() === 200 && csv.headers()["content-type"].startsWith("text/csv"), `staff: the pairs export as CSV, got ${csv.status()}`);
  const lines = (await csv.text()).trim().split("\n");
  check(lines[0].replace(/^\uFEFF/, "").startsWith("binome,statut,jeune,mentor") && lines.length >= 3, `staff: the CSV lists the pairs, got ${lines.length} lines`);

  await page.getByRole("button", { name: "Se déconnecter" }).click();
  check((await page.locator("main").innerText()).includes("Vous êtes déconnecté·e"), "staff: signed out");
  await audit(page, "deconnexion");
  await page.goto(`${base}/association/demandes`);
  check(new URL(page.url()).pathname === "/connexion", "staff: after signing out the space asks to sign in again");
  await context.close();
}

// A network admin, invited with the admin key, reads the directory, the
// waiting list and a request's routing decision.
async function networkJourney(browser) {
  const email = "alex.reseau@exemple.fr";
  const invited = await fetch(`${base}/v1/admin/network-admins`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${process.env.BINOME_ADMIN_KEY}` },
    body: JSON.stringify({ name: "Alex Durand", email }),
  });
  check(invited.status === 202, `network: invited (202), got ${invited.status}`);
  const link = await waitForMail(email, "/connexion/lien");
  if (!check(link, "network: an invitation link")) return;
  const context = await newContext(browser, {});
  const page = await context.newPage();
  await page.goto(link);
  await page.getByRole("button", { name: "Me connecter" }).click();
  check(new URL(page.url()).pathname === "/admin/annuaire", `network: signed in on the directory, got ${page.url()}`);
  check((await page.locator("tbody tr").count()) >= 10, "network: the directory lists the associations");
  await audit(page, "admin-annuaire");
  await page.goto(`${base}/admin/attente`);
  await audit(page, "admin-attente");
  // A request an association received: where it went, and why.
  const routed = mails().map(({ text }) => (text.match(/\/association\/demandes\/([A-Za-z0-9]+)/) ?? [])[1]).find(Boolean);
  if (check(routed, "network: a routed request to look at")) {
    await page.goto(`${base}/admin/demandes/${routed}`);
    const decision = await page.locator("main").innerText();
    check(decision.includes("Routée à") && decision.includes("Les associations candidates"), `network: a request's decision in words, got ${decision}`);
    await audit(page, "admin-demande");
  }
  await page.goto(`${base}/admin/equipe`);
  await audit(page, "admin-equipe");

  // A new association from the directory's form: errors first, then its key once.
  await page.goto(`${base}/admin/annuaire`);
  await page.getByRole("link", { name: "Ajouter une association" }).click();
  await audit(page, "admin-annuaire-nouvelle");
  await page.locator("#slug").fill("Pas valide");
  await page.getByRole("button", { name: "Créer l'association" }).click();
  check((await page.locator("#erreurs li").count()) >= 3, "network: the form names what to fix");
  await audit(page, "admin-annuaire-nouvelle-erreurs");
  await page.locator("#slug").fill("elan-navigateur");
  await page.locator("#name").fill("Élan navigateur");
  await page.locator("#contact_email").fill("demandes@elan.example");
  await page.locator("#departements").fill("93, 94");
  await page.locator("#monthly_capacity").fill("20");
  await page.locator("label[for=needs-orientation]").click();
  await page.getByRole("button", { name: "Créer l'association" }).click();
  const key = await page.locator("main code").innerText().catch(() => "");
  check(key.startsWith("bnm_elan-navigateur_"), `network: the new association's key shown once, got ${key}`);
  await audit(page, "admin-annuaire-creee");
  await page.goto(`${base}/admin/annuaire/elan-navigateur/fiche`);
  await audit(page, "admin-fiche");
  await page.locator("#monthly_capacity").fill("25");
  await page.getByRole("button", { name: "Enregistrer la fiche" }).click();
  check((await page.locator(".fr-alert--success").innerText()).includes("Fiche enregistrée"), "network: the entry edited");
  await audit(page, "admin-fiche-enregistree");
  await context.close();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  await everyPage(browser);
  await menteeJourney(browser, true);
  await myRequestJourney(browser, "ines.js@exemple.fr");
  await minorJourney(browser);
  await keyboardJourney(browser);
  await menteeJourney(browser, false);
  await mentorJourney(browser);
  await newsletterJourney(browser);
  await staffJourney(browser);
  await networkJourney(browser);
} catch (error) {
  failures.push(`the browser tests stopped: ${error.stack ?? error}`);
} finally {
  await browser.close();
}

for (const { name, violations, passes } of audited) {
  console.log(`axe ${name}: ${violations} violation(s), ${passes} rule(s) passed`);
}
if (failures.length > 0) {
  console.error(`\n${failures.length} failure(s):`);
  for (const failure of failures) console.error(`- ${failure}`);
  process.exit(1);
}
console.log(`\nbrowser tests passed: ${audited.length} pages and states audited, screenshots in ${artifacts}`);
