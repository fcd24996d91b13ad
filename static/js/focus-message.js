// After a form was sent, move the focus to what happened, so a screen reader reads it out and a
// keyboard user goes on from there: the error summary of a failed submit first, else the first
// message (saved, sent, ...). Both carry data-focus-message and tabindex="-1" (base.html and the
// error summaries). A page without them keeps its focus, and so does a link to a place on a page.
(function () {
  var target =
    document.querySelector('[data-focus-message="error"]') ||
    document.querySelector("[data-focus-message]");
  if (!target) return;
  var id = "";
  try {
    id = decodeURIComponent(window.location.hash.slice(1));
  } catch (error) {
    id = "";
  }
  if (id && document.getElementById(id)) return;
  target.focus({ preventScroll: true });
  target.scrollIntoView({ block: "nearest" });
})();
