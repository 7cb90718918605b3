// A confirm step for destructive forms, on any page: submitting a form that has
// data-confirm="Delete this?" opens a modal <dialog> with that question, a Cancel button and
// a confirm button named for the action (data-confirm-label, else the text of the button that
// submitted the form, else "Confirm"). Cancel or Escape does nothing; confirming submits the
// form as the reader meant to, adding confirmed=1 so the server can skip its own confirm page
// (the one it shows when JavaScript is off).

const READY = "confirmReady";

// The base template and page scripts may both load this module, and once static files are
// hashed their two URLs differ (so it would run twice): listen only once.
if (!document.documentElement.dataset[READY]) {
  document.documentElement.dataset[READY] = "1";
  let confirming = null; // the form being submitted again, once confirmed
  let dialog = null;

  function build() {
    dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-message");
    const message = document.createElement("p");
    message.id = "confirm-dialog-message";
    message.className = "confirm-dialog__message";
    const actions = document.createElement("div");
    actions.className = "form-actions confirm-dialog__actions";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button--quiet";
    cancel.textContent = "Cancel";
    cancel.dataset.confirmCancel = "";
    const ok = document.createElement("button");
    ok.type = "button";
    ok.className = "button--danger";
    ok.dataset.confirmOk = "";
    cancel.addEventListener("click", () => dialog.close("cancel"));
    ok.addEventListener("click", () => dialog.close("confirm"));
    actions.append(cancel, ok);
    dialog.append(message, actions);
    document.body.append(dialog);
  }

  /** Ask `question`; resolves true if the reader confirms with the button named `label`. */
  function ask(question, label) {
    if (!dialog) build();
    dialog.querySelector("#confirm-dialog-message").textContent = question;
    dialog.querySelector("[data-confirm-ok]").textContent = label;
    dialog.returnValue = "";
    dialog.showModal();
    dialog.querySelector("[data-confirm-cancel]").focus(); // the safe choice, under Enter
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    });
  }

  document.addEventListener(
    "submit",
    async (event) => {
      const form = event.target;
      if (!form.matches("form[data-confirm]")) return;
      if (form === confirming) return; // asked already: let it go on (to page scripts too)
      event.preventDefault();
      event.stopImmediatePropagation();
      const submitter = event.submitter;
      const named = (submitter?.textContent || submitter?.value || "").trim();
      const label = form.dataset.confirmLabel || named || "Confirm";
      if (!(await ask(form.dataset.confirm, label))) return;
      if (!form.querySelector("input[name=confirmed]")) {
        const input = document.createElement("input");
        Object.assign(input, { type: "hidden", name: "confirmed", value: "1" });
        form.append(input);
      }
      confirming = form;
      form.requestSubmit(submitter && form.contains(submitter) ? submitter : null);
      confirming = null;
    },
    true,
  );
}
