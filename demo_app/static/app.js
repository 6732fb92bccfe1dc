// Fault knobs that act in the browser. DEMO_CLS: a late banner pushes the whole page (taller
// than the viewport, so the impact fraction is 1) down by cls * the viewport's largest side,
// which makes one layout shift of exactly `cls`. DEMO_INP_MS: the form's click handler blocks
// the main thread this long before it sends.
// The dashboard is also a small single-page app: "Clients" and "Dashboard" switch views with
// history.pushState (soft navigations) and fetch the list from the API.
(function () {
  var clients = document.getElementById("clients-view");
  if (clients) {
    var home = document.getElementById("home-view");
    var render = function () {
      if (location.pathname !== "/dashboard/clients") {
        clients.hidden = true;
        home.hidden = false;
        return;
      }
      fetch("/api/dashboard", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (d) {
        var list = document.createElement("ul");
        d.couples.forEach(function (c) {
          var item = document.createElement("li");
          item.textContent = c.names + " \u00b7 " + c.wedding_date + " \u00b7 " + c.venue;
          list.appendChild(item);
        });
        var title = document.createElement("h1");
        title.id = "clients-title";
        title.textContent = d.couples.length + " clients";
        clients.replaceChildren(title, list);
        home.hidden = true;
        clients.hidden = false;
      });
    };
    document.querySelectorAll("a[data-spa]").forEach(function (a) {
      a.addEventListener("click", function (e) {
        e.preventDefault();
        if (a.pathname !== location.pathname) history.pushState({}, "", a.pathname);
        render();
      });
    });
    addEventListener("popstate", render);
    render();
  }

  var cls = parseFloat(document.body.dataset.cls || "0");
  if (cls > 0) {
    window.addEventListener("load", function () {
      setTimeout(function () {
        var px = Math.round(cls * Math.max(window.innerWidth, window.innerHeight));
        var banner = document.createElement("div");
        banner.style.height = px + "px";
        banner.textContent = "Limited offer: book your 2027 date now";
        document.getElementById("banner-slot").appendChild(banner);
      }, 300);
    });
  }
  var button = document.getElementById("submit-form");
  if (!button) return;
  var blockMs = parseFloat(document.body.dataset.inpMs || "0");
  button.addEventListener("click", function submitIntake() {
    var until = performance.now() + blockMs;
    while (performance.now() < until) { /* the injected long task */ }
    var form = document.getElementById("intake");
    var data = Object.fromEntries(new FormData(form).entries());
    data.form_id = parseInt(form.dataset.formId, 10);
    fetch("/api/forms/submit", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data),
      credentials: "same-origin"
    }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      form.hidden = true;
      document.getElementById("confirmation").hidden = false;
    }).catch(function (e) {
      var err = document.getElementById("form-error");
      err.textContent = "Could not send: " + e.message;
      err.hidden = false;
    });
  });
})();
