// A "print this page" button: hidden without JavaScript, since it can do nothing then.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
