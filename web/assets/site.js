// Progressive enhancement only: every form works without this file.

// The guardian's part of the request form is shown only under 15.
const birthDate = document.getElementById("birth_date");
const guardian = document.getElementById("tuteur");
if (birthDate && guardian) {
  // A date field gives 2007-05-14; a plain text field, as typed: 14/05/2007.
  const parse = (value) => {
    const dayFirst = value.match(/^(\d{1,2})\/(\d{1,2})\/(\d{4})$/);
    return dayFirst ? new Date(Number(dayFirst[3]), Number(dayFirst[2]) - 1, Number(dayFirst[1])) : new Date(value);
  };
  const under15 = () => {
    const born = parse(birthDate.value.trim());
    if (Number.isNaN(born.getTime())) return false;
    const fifteen = new Date(born.getFullYear() + 15, born.getMonth(), born.getDate());
    return new Date() < fifteen;
  };
  const hasError = guardian.querySelector("[aria-invalid='true']") !== null;
  const update = () => {
    guardian.hidden = !(under15() || hasError);
  };
  birthDate.addEventListener("change", update);
  update();
}

// The error summary takes focus, so that a screen reader reads it first.
const summary = document.getElementById("erreurs");
if (summary) summary.focus();

// A long form shows one step at a time on a phone, with the design
// system's stepper; without JavaScript, or once the server found errors,
// every step shows at once.
const stepped = document.querySelector("form[data-steps]");
if (stepped && !summary) {
  const steps = [...stepped.querySelectorAll(":scope > fieldset")];
  const submit = stepped.querySelector("button[type=submit]");
  const stepper = document.createElement("div");
  stepper.className = "fr-stepper";
  stepper.innerHTML =
    '<h2 class="fr-stepper__title"><span class="site-step-title"></span><span class="fr-stepper__state"></span></h2>' +
    '<div class="fr-stepper__steps"></div><p class="fr-stepper__details"></p>';
  stepped.before(stepper);
  const nav = document.createElement("ul");
  nav.className = "fr-btns-group fr-btns-group--inline fr-mt-2w";
  nav.innerHTML =
    '<li><button type="button" class="fr-btn fr-btn--secondary" data-step="previous">Étape précédente</button></li>' +
    '<li><button type="button" class="fr-btn" data-step="next">Étape suivante</button></li>';
  submit.closest("ul").before(nav);
  const [previous, next] = nav.querySelectorAll("button");
  let current = 0;
  const shown = () => steps.filter((step) => !step.hidden);
  const title = (step) => step.querySelector("legend h2")?.textContent.replace(/^\d+\.\s*/, "") ?? "";
  const show = (index, focus) => {
    const visible = shown();
    current = Math.max(0, Math.min(index, visible.length - 1));
    steps.forEach((step) => step.classList.toggle("site-step--off", step !== visible[current]));
    stepper.querySelector(".site-step-title").textContent = title(visible[current]);
    stepper.querySelector(".fr-stepper__state").textContent = `Étape ${current + 1} sur ${visible.length}`;
    const bar = stepper.querySelector(".fr-stepper__steps");
    bar.dataset.frCurrentStep = String(current + 1);
    bar.dataset.frSteps = String(visible.length);
    const after = visible[current + 1];
    stepper.querySelector(".fr-stepper__details").innerHTML = after
      ? `<span class="fr-text--bold">Étape suivante :</span> ${title(after)}`
      : "";
    previous.hidden = current === 0;
    next.hidden = current === visible.length - 1;
    submit.hidden = current !== visible.length - 1;
    if (focus) {
      const heading = visible[current].querySelector("legend h2");
      heading.tabIndex = -1;
      heading.focus();
    }
  };
  previous.addEventListener("click", () => show(current - 1, true));
  next.addEventListener("click", () => show(current + 1, true));
  show(0, false);
}
