// The console's own script (no inline script anywhere: the pages' CSP forbids it).
// 1. A job page follows its job through server-sent events; 2. an upload form shows its progress.
"use strict";

function followJob(list) {
  var url = list.getAttribute("data-stream");
  if (!url || !window.EventSource) return;
  var source = new EventSource(url);
  var refresh = null;
  function refreshTraining() {
    // Redraw the loss chart and the eval figures from the page the server renders.
    fetch(window.location.pathname, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        ["#loss-chart", "#loss-title", "#eval-before", "#eval-after", "#steps-logged", "#job-status"].forEach(function (sel) {
          var now = document.querySelector(sel), next = doc.querySelector(sel);
          if (now && next) now.replaceWith(next);
        });
      })
      .catch(function () {});
  }
  source.addEventListener("job", function (message) {
    var event = JSON.parse(message.data);
    var item = document.createElement("li");
    var kind = document.createElement("span");
    kind.className = "kind";
    kind.textContent = event.kind;
    item.appendChild(kind);
    var text = " just now";
    if (event.kind === "step") {
      text += " · step " + event.data.step + "/" + event.data.steps + " loss " + Number(event.data.loss).toFixed(4);
    }
    item.appendChild(document.createTextNode(text));
    list.appendChild(item);
    if (["succeeded", "failed", "cancelled"].indexOf(event.kind) >= 0) {
      source.close();
      window.location.reload();
      return;
    }
    if (refresh === null) {
      refresh = window.setTimeout(function () { refresh = null; refreshTraining(); }, 1500);
    }
  });
}

function uploadWithProgress(form) {
  form.addEventListener("submit", function (submitted) {
    if (!window.XMLHttpRequest || !window.FormData) return;
    submitted.preventDefault();
    var bar = form.querySelector("progress");
    var status = form.querySelector("#upload-status");
    var button = form.querySelector("button[type=submit]");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      bar.hidden = false;
      bar.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = "Uploading: " + bar.value + "%";
    });
    xhr.addEventListener("load", function () {
      if (xhr.responseURL && xhr.responseURL !== form.action) {
        window.location.assign(xhr.responseURL);  // received: the dataset's page follows its scan
        return;
      }
      var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var main = doc.querySelector("main");
      if (main) {
        document.querySelector("main").replaceWith(main);
        var again = document.querySelector("form[data-upload]");
        if (again) uploadWithProgress(again);
      } else {
        status.textContent = "The upload was refused (" + xhr.status + ").";
      }
    });
    xhr.addEventListener("error", function () {
      status.textContent = "The upload failed: the connection was lost.";
      button.disabled = false;
    });
    button.disabled = true;
    xhr.send(new FormData(form));
  });
}

document.addEventListener("DOMContentLoaded", function () {
  var list = document.getElementById("job-events");
  if (list) followJob(list);
  document.querySelectorAll("form[data-upload]").forEach(uploadWithProgress);
});
