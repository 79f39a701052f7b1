// Live inbox: listens for ticket events, refreshes the first page, and catches up after a reconnect.
(function () {
  "use strict";
  const table = document.getElementById("inbox");
  const status = document.getElementById("live-status");
  if (!table) return;
  let lastSeq = null;
  let retryDelay = 500;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function refreshRows() {
    if (window.htmx) {
      window.htmx.ajax("GET", window.location.pathname, { target: "#inbox-rows", swap: "innerHTML" });
    }
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
        }
        lastSeq = lastSeq === null ? event.seq : lastSeq;
        return;
      }
      if (typeof event.seq === "number") {
        if (lastSeq !== null && event.seq <= lastSeq) return;
        lastSeq = event.seq;
      }
      if (event.type && event.type.indexOf("ticket.") === 0) refreshRows();
    };
    socket.onclose = function () {
      setStatus("offline", "Reconnecting…");
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }
  connect();
})();
