// Progressive enhancement only: every form works without this file.

// The guardian's part of the request form is shown only under 15.
const birthDate = document.getElementById("birth_date");
const guardian = document.getElementById("tuteur");
if (birthDate && guardian) {
  const under15 = () => {
    const born = new Date(birthDate.value);
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
