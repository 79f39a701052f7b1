// Live inbox: refreshes on ticket events, catches up after a reconnect, keyboard moves and bulk selection.
(function () {
  "use strict";
  const table = document.getElementById("inbox");
  const status = document.getElementById("live-status");
  if (!table) return;
  let retryDelay = 500;
  let refreshTimer = null;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function refreshRows() {
    // Coalesce bursts of events into one refresh of the current view.
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      if (window.htmx) {
        window.htmx.ajax("GET", table.dataset.refreshUrl, { target: "#inbox-rows", select: "#inbox-rows > *", swap: "innerHTML" });
      }
    }, 150);
  }

  // From the number of the latest live event when the server read these rows; a counter that started
  // again means the rows are read again.
  const live = window.helpdeskLiveSequence.track(table.dataset.seq, refreshRows);

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(scheme + "://" + window.location.host + table.dataset.socket);
    socket.onopen = function () {
      retryDelay = 500;
      setStatus("live", "Live");
    };
    socket.onmessage = function (message) {
      const event = JSON.parse(message.data);
      if (live.handleControl(event, socket) || !live.isNew(event)) return;
      if (event.type && event.type.indexOf("notification.") === 0) { window.helpdeskNotifications.show(event); return; }
      if (!event.type || event.type.indexOf("ticket.") !== 0) return;
      refreshRows();
    };
    socket.onclose = function (closed) {
      if (closed.code === 4401 || closed.code === 4403) { setStatus("offline", "Live updates are off"); return; }
      setStatus("offline", "Reconnecting…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }
  connect();

  const bulkForm = document.getElementById("bulk-form");
  if (bulkForm) {
    bulkForm.addEventListener("submit", function () {
      const ids = Array.prototype.map.call(document.querySelectorAll(".row-select:checked"), function (box) { return box.value; });
      document.getElementById("bulk-ids").value = ids.join(",");
    });
  }

  let cursor = -1;
  function rows() { return document.querySelectorAll("#inbox-rows tr.ticket-row"); }
  function focusRow(index) {
    const all = rows();
    if (!all.length) return;
    cursor = Math.max(0, Math.min(index, all.length - 1));
    all.forEach(function (row) { row.classList.remove("focused"); });
    all[cursor].classList.add("focused");
    all[cursor].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (event) {
    if (event.target.closest("input, textarea, select") || event.metaKey || event.ctrlKey || event.altKey) return;
    const all = rows();
    if (event.key === "j") { focusRow(cursor + 1); event.preventDefault(); }
    else if (event.key === "k") { focusRow(cursor - 1); event.preventDefault(); }
    else if (event.key === "Enter" && all[cursor]) { window.location.href = all[cursor].dataset.href; }
    else if (event.key === "x" && all[cursor]) { const box = all[cursor].querySelector(".row-select"); box.checked = !box.checked; }
    else if (event.key === "/") { event.preventDefault(); document.getElementById("inbox-search").focus(); }
  });
})();
