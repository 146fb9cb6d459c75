/* multisms web panel: history that refreshes itself, recipients on demand, small form helpers.
   Everything the server sends is inserted with textContent, never as HTML. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var FIELDS = ["id", "created_at", "body_preview", "status_label", "error", "success", "delivered", "failure", "invalid", "pending", "total"];

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } }).then(function (response) {
      if (response.status === 401) { throw new Error("session"); }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  function announce(text) {
    var live = $("#live");
    if (live && text) { live.textContent = text; }
  }

  /* ---- history ---- */
  function History(section) {
    this.section = section;
    this.table = $("table.history", section);
    this.template = $("#history-row");
    this.batchUrl = section.getAttribute("data-batch-url");
    this.interval = parseInt(section.getAttribute("data-interval"), 10) || 3000;
    this.timer = null;
    this.stopped = false;
    var self = this;
    $all("tbody.batch", this.table).forEach(function (body) { self.wire(body); });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) { self.schedule(0); } });
    this.schedule(this.interval);
  }

  History.prototype.schedule = function (delay) {
    var self = this;
    if (this.stopped) { return; }
    clearTimeout(this.timer);
    this.timer = setTimeout(function () { self.refresh(); }, delay);
  };

  History.prototype.refresh = function () {
    var self = this;
    if (document.hidden) { return; }  /* resumes on visibilitychange */
    getJSON(this.section.getAttribute("data-url")).then(function (data) {
      self.apply(data.items || []);
      var stamp = $("#history-updated");
      if (stamp) { stamp.textContent = "Last checked " + new Date().toLocaleTimeString() + "."; }
      self.schedule(self.interval);
    }).catch(function (error) {
      if (error.message === "session") {
        self.stopped = true;
        announce("Your panel session has ended. Reload the page to log in again.");
        var stamp = $("#history-updated");
        if (stamp) { stamp.textContent = "Stopped: your session has ended; reload the page to log in again."; }
        return;
      }
      self.schedule(self.interval * 3);
    });
  };

  History.prototype.apply = function (items) {
    var self = this, changes = [], previous = null;
    items.forEach(function (item) {
      var body = document.getElementById("batch-" + item.id);
      if (!body) {
        body = self.create(item);
        if (previous) { previous.parentNode.insertBefore(body, previous.nextSibling); }
        else { var first = $("tbody.batch", self.table); self.table.insertBefore(body, first || null); }
        changes.push("New batch #" + item.id + ": " + item.status_label + ".");
      } else if (body.getAttribute("data-status") !== item.status) {
        changes.push("Batch #" + item.id + ": " + item.status_label + ".");
      }
      self.fill(body, item);
      previous = body;
    });
    var empty = $("#history-empty");
    if (empty) { empty.hidden = items.length > 0; }
    if (changes.length) { announce(changes.join(" ")); }
  };

  History.prototype.create = function (item) {
    var body = this.template.content.firstElementChild.cloneNode(true);
    body.id = "batch-" + item.id;
    body.setAttribute("data-batch-id", item.id);
    $("a[data-field=link]", body).href = this.batchUrl + item.id;
    $("tr.recipients", body).id = "recipients-" + item.id;
    $("button.toggle", body).setAttribute("aria-controls", "recipients-" + item.id);
    this.wire(body);
    return body;
  };

  History.prototype.fill = function (body, item) {
    var finishedBefore = body.getAttribute("data-finished") === "true";
    body.setAttribute("data-status", item.status);
    body.setAttribute("data-finished", item.finished ? "true" : "false");
    FIELDS.forEach(function (name) {
      $all("[data-field=" + name + "]", body).forEach(function (node) {
        var text = String(item[name] === undefined || item[name] === null ? "" : item[name]);
        if (node.textContent !== text) { node.textContent = text; }
      });
    });
    var row = $("tr.recipients", body);
    if (row && !row.hidden && !finishedBefore) { loadRecipients(body); }
  };

  History.prototype.wire = function (body) {
    var button = $("button.toggle", body);
    if (!button) { return; }
    button.addEventListener("click", function () {
      var row = $("tr.recipients", body), open = button.getAttribute("aria-expanded") === "true";
      button.setAttribute("aria-expanded", open ? "false" : "true");
      row.hidden = open;
      if (!open) { loadRecipients(body); }
    });
  };

  function loadRecipients(body) {
    var id = body.getAttribute("data-batch-id"), box = $("[data-field=recipients]", body);
    var section = $("#history"), url = section.getAttribute("data-batch-url") + id + "/recipients.json";
    if (!box.firstChild) { box.textContent = "Loading recipients…"; }
    getJSON(url).then(function (data) { renderRecipients(box, data.items || []); })
      .catch(function () { box.textContent = "Could not load the recipients. They are on the batch page."; });
  }

  function renderRecipients(box, items) {
    var table = document.createElement("table"), head = table.createTHead().insertRow(), tbody = table.createTBody();
    table.className = "list";
    ["Number", "As written", "Status", "Sent (UTC)", "Error"].forEach(function (title) {
      var th = document.createElement("th"); th.scope = "col"; th.textContent = title; head.appendChild(th);
    });
    items.forEach(function (item) {
      var tr = tbody.insertRow();
      [item.number, item.written_as, item.status_label, item.sent_at, item.error].forEach(function (value) {
        tr.insertCell().textContent = value || "";
      });
      tr.setAttribute("data-status", item.status);
    });
    box.textContent = "";
    if (!items.length) { box.textContent = "No recipients."; return; }
    box.appendChild(table);
  }

  /* ---- forms ---- */
  function wireForms() {
    $all("button[data-once]").forEach(function (button) {
      button.form.addEventListener("submit", function () {
        setTimeout(function () { button.disabled = true; button.textContent = "Sending…"; }, 0);
      });
    });
    var body = $("#body"), counter = $("#body-count");
    if (body && counter) {
      var update = function () { counter.textContent = body.value.length + " / 1600 characters"; };
      body.addEventListener("input", update);
      update();
    }
    var preview = $("#preview");
    if (preview) { preview.focus(); }
  }

  /* Printing or saving as PDF: open every collapsed part so nothing is left out. */
  var closedForPrint = [];
  window.addEventListener("beforeprint", function () {
    closedForPrint = $all("details:not([open])");
    closedForPrint.forEach(function (node) { node.open = true; });
  });
  window.addEventListener("afterprint", function () {
    closedForPrint.forEach(function (node) { node.open = false; });
  });

  document.addEventListener("DOMContentLoaded", function () {
    wireForms();
    var section = $("#history");
    if (section) { new History(section); }
  });
})();
