// Live inbox: refreshes on ticket events, catches up after a reconnect, keyboard moves and bulk selection.
(function () {
  "use strict";
  const table = document.getElementById("inbox");
  const status = document.getElementById("live-status");
  if (!table) return;
  // The number of the latest live event when the server read these rows: the first hello catches up from it.
  let lastSeq = table.dataset.seq ? parseInt(table.dataset.seq, 10) : null;
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

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(scheme + "://" + window.location.host + table.dataset.socket);
    socket.onopen = function () {
      retryDelay = 500;
      setStatus("live", "Live");
    };
    socket.onmessage = function (message) {
      const event = JSON.parse(message.data);
      if (event.type === "hello") {
        if (lastSeq !== null && event.seq > lastSeq) {
          socket.send(JSON.stringify({ action: "catch_up", since: lastSeq }));
        } else if (lastSeq !== null && event.seq < lastSeq) {
          // The server's counter started again: what was missed cannot be replayed, so read the rows again.
          lastSeq = event.seq;
          refreshRows();
        }
        lastSeq = lastSeq === null ? event.seq : lastSeq;
        return;
      }
      if (event.type === "reset") {
        lastSeq = event.seq;
        refreshRows();
        return;
      }
      if (event.type && event.type.indexOf("notification.") === 0) { window.helpdeskNotifications.show(event); return; }
      // Only ticket.* events are numbered by the inbox's counter (the one hello and catch_up use);
      // the agent's own notifications on this socket count separately and must not move lastSeq.
      if (!event.type || event.type.indexOf("ticket.") !== 0) return;
      if (typeof event.seq === "number") {
        if (lastSeq !== null && event.seq <= lastSeq) return;
        lastSeq = event.seq;
      }
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
