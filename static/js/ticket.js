// Ticket page: who else is here (viewing or typing), a banner when the ticket changes, macro
// previews, and keyboard shortcuts for the common moves.
(function () {
  "use strict";
  const root = document.getElementById("ticket-main");
  if (!root) return;
  const presence = document.getElementById("presence");
  const staleBanner = document.getElementById("stale-banner");
  const replyBox = document.querySelector("#reply-form textarea");
  const noteBox = document.querySelector("#note-form textarea");
  let socket = null;
  let typingTimer = null;
  let retryDelay = 500;
  // From the number of the ticket's latest change when the server read this page; a counter that started
  // again means changes may have been missed, so the page offers a reload.
  const live = window.helpdeskLiveSequence.track(root.dataset.seq, function () { staleBanner.hidden = false; });

  function showPresence(people) {
    if (!people.length) { presence.textContent = ""; return; }
    presence.textContent = people.map(function (p) {
      return p.name + (p.state === "typing" ? " is typing…" : " is viewing");
    }).join(" · ");
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(scheme + "://" + window.location.host + root.dataset.socket);
    socket.onopen = function () { retryDelay = 500; };
    const opened = socket;
    socket.onmessage = function (message) {
      const event = JSON.parse(message.data);
      if (live.handleControl(event, opened) || !live.isNew(event)) return;
      if (event.type === "presence") showPresence(event.people);
      if (event.type === "ticket.updated") staleBanner.hidden = false;
      if (event.type && event.type.indexOf("notification.") === 0) window.helpdeskNotifications.show(event);
    };
    socket.onclose = function (closed) {
      if (closed.code === 4401 || closed.code === 4403) return;
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 10000);
    };
  }
  connect();

  function announce(state) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ action: state }));
  }
  [replyBox, noteBox].forEach(function (box) {
    if (!box) return;
    box.addEventListener("input", function () {
      if (!typingTimer) announce("typing");
      clearTimeout(typingTimer);
      typingTimer = setTimeout(function () { typingTimer = null; announce("viewing"); }, 4000);
    });
  });
  // Presence entries expire after a minute: renew ours, typing or not, well within it.
  setInterval(function () { announce(typingTimer ? "typing" : "viewing"); }, 30000);

  const macroSelect = document.getElementById("macro-select");
  const macroPreview = document.getElementById("macro-preview");
  if (macroSelect) {
    macroSelect.addEventListener("change", function () {
      if (!macroSelect.value) { macroPreview.innerHTML = ""; return; }
      // The version of the page being read, so a macro sent after a colleague answered is held back.
      const pageVersion = document.querySelector("#reply-form input[name=expected_version]");
      const lastSeen = document.querySelector("#reply-form input[name=last_seen_message_id]");
      const query = new URLSearchParams({
        macro: macroSelect.value,
        expected_version: pageVersion ? pageVersion.value : root.dataset.version,
        last_seen_message_id: lastSeen ? lastSeen.value : "",
      });
      fetch(macroSelect.dataset.previewUrl + "?" + query.toString(), {
        headers: { "HX-Request": "true" }, credentials: "same-origin",
      }).then(function (response) { return response.text(); }).then(function (html) {
        macroPreview.innerHTML = html;
        const useButton = macroPreview.querySelector("[data-use-macro]");
        if (useButton && replyBox) {
          useButton.addEventListener("click", function () {
            replyBox.value = macroPreview.querySelector("[data-macro-text]").textContent;
            replyBox.focus();
          });
        }
      });
    });
  }

  function typingInField(target) {
    return target.closest("input, textarea, select, [contenteditable]");
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey && event.key === "Enter" && typingInField(event.target)) {
      const form = event.target.closest("form");
      if (form) { event.preventDefault(); form.requestSubmit(); }
      return;
    }
    if (event.metaKey || event.ctrlKey || event.altKey || typingInField(event.target)) return;
    const moves = {
      r: function () { if (replyBox) replyBox.focus(); },
      n: function () { if (noteBox) noteBox.focus(); },
      m: function () { if (macroSelect) macroSelect.focus(); },
      s: function () { const select = document.querySelector("select[name=status]"); if (select) select.focus(); },
      e: function () { const details = document.querySelector("details:has(form[action$='/escalate/'])"); if (details) { details.open = true; details.querySelector("textarea").focus(); } },
      u: function () { window.location.href = "/inbox/"; },
    };
    if (moves[event.key]) { event.preventDefault(); moves[event.key](); }
  });
})();
