// The live event numbers a page has seen, shared by the inbox and the ticket page: after each (re)connect
// the page catches up from the last number it saw, never takes an event twice, and is told when the
// server's counter started again (what was missed then cannot be replayed).
(function () {
  "use strict";
  // ``initial``: the number the page was read at (its data-seq), if any. ``onMissed``: what the page does
  // when it may have missed events it cannot get back (read its rows again, offer a reload).
  function track(initial, onMissed) {
    let lastSeq = initial ? parseInt(initial, 10) : null;
    return {
      // Handles the socket's hello and reset frames; true when the event was one of them.
      handleControl: function (event, socket) {
        if (event.type === "hello") {
          if (lastSeq !== null && event.seq > lastSeq) {
            socket.send(JSON.stringify({ action: "catch_up", since: lastSeq }));
          } else if (lastSeq !== null && event.seq < lastSeq) {
            lastSeq = event.seq;
            onMissed();
          }
          lastSeq = lastSeq === null ? event.seq : lastSeq;
          return true;
        }
        if (event.type === "reset") {
          lastSeq = event.seq;
          onMissed();
          return true;
        }
        return false;
      },
      // False for a ticket.* event already taken (caught up on, or read with the page). Only ticket.*
      // events are numbered by the counter hello and catch_up use; notifications count separately.
      isNew: function (event) {
        if (!event.type || event.type.indexOf("ticket.") !== 0 || typeof event.seq !== "number") return true;
        if (lastSeq !== null && event.seq <= lastSeq) return false;
        lastSeq = event.seq;
        return true;
      },
    };
  }
  window.helpdeskLiveSequence = { track: track };
})();
