// The discussion packet: a "Print or save as PDF" button (without JavaScript the page says
// how to print it from the browser's menu).
for (const button of document.querySelectorAll("[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
