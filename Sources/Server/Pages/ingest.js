// Lineup: follows an upload's ingest on its page (/ingests/{job}) by polling the
// API's GET /api/v1/ingest-jobs/{id} once a second until the job ends. The page
// already shows the state at load, so without this script it still works (Reload).
// The session cookie authenticates the GET; nothing here changes anything.
(function () {
  "use strict";

  var panel = document.getElementById("ingest-job");
  if (!panel || !panel.dataset.jobUrl) { return; }
  var url = panel.dataset.jobUrl;
  var failures = 0;

  // A queued job waits for an ingest worker; both are still under way.
  function inProgress(state) { return state === "running" || state === "queued"; }
  function byId(id) { return document.getElementById(id); }
  function setText(id, value) { var element = byId(id); if (element) { element.textContent = String(value); } }
  function show(id, visible) { var element = byId(id); if (element) { element.hidden = !visible; } }

  function list(id, items, describe) {
    var element = byId(id);
    if (!element) { return; }
    while (element.firstChild) { element.removeChild(element.firstChild); }
    items.forEach(function (item) {
      var entry = document.createElement("li");
      var path = document.createElement("code");
      path.textContent = item.path;
      entry.appendChild(path);
      entry.appendChild(document.createTextNode(": " + describe(item)));
      element.appendChild(entry);
    });
  }

  function render(job) {
    var state = byId("job-state");
    if (state) {
      state.textContent = job.state;
      state.className = "status status-" + job.state;
    }
    panel.dataset.state = job.state;
    var bar = byId("job-progress");
    if (bar) {
      bar.max = Math.max(job.files_total, 1);
      bar.value = job.files_total === 0 && !inProgress(job.state) ? 1 : job.files_done;
    }
    setText("job-files-done", job.files_done);
    setText("job-files-total", job.files_total);
    setText("job-faces", job.faces);
    setText("job-skipped", job.skipped);
    setText("job-error-count", job.error_count);
    list("job-errors", job.errors || [], function (error) { return error.message; });
    show("job-errors-panel", (job.errors || []).length > 0);
    setText("job-failure", job.failure || "");
    show("job-failure", Boolean(job.failure));
    show("job-running-hint", inProgress(job.state));
    if (job.finished_at) { setText("job-finished-at", job.finished_at); }
    show("job-finished", Boolean(job.finished_at));
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (job) {
        failures = 0;
        render(job);
        if (inProgress(job.state)) { window.setTimeout(poll, 1000); }
      })
      .catch(function () {
        // A dropped connection or a restarted server: try a few more times, then
        // leave the Reload link to the reader.
        failures += 1;
        if (failures < 5) { window.setTimeout(poll, 2000); }
      });
  }

  if (inProgress(panel.dataset.state)) { window.setTimeout(poll, 1000); }
}());
