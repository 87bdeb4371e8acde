// Returns the screen to the start page after a while without a touch.
(function () {
  var body = document.body;
  var secs = parseInt(body.getAttribute("data-timeout"), 10) || 120;
  var home = body.getAttribute("data-home") || "/";
  var timer = null;
  function reset() {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(function () { location.replace(home); }, secs * 1000);
  }
  ["pointerdown", "keydown", "input", "touchstart", "scroll"].forEach(function (e) {
    document.addEventListener(e, reset, { passive: true });
  });
  reset();
})();
