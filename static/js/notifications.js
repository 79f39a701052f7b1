// A colleague's own notifications (mentions, SLA warnings) as a short list, on every page whose socket hears them.
(function () {
  "use strict";
  function show(event) {
    const notifications = document.getElementById("notifications");
    if (!notifications || !event.payload) return;
    const payload = event.payload;
    const item = document.createElement("li");
    const link = document.createElement("a");
    link.href = "/inbox/tickets/" + payload.number + "/";
    if (event.type === "notification.mention") {
      link.textContent = (payload.by || "A colleague") + " mentioned you on #" + payload.number + ": " + (payload.excerpt || "");
    } else if (event.type === "notification.sla_breach") {
      link.textContent = "SLA missed on #" + payload.number + " (" + (payload.target || "").replace("_", " ") + "): " + (payload.subject || "");
    } else if (event.type === "notification.sla_warning") {
      link.textContent = "SLA due soon on #" + payload.number + " (" + (payload.target || "").replace("_", " ") + "): " + (payload.subject || "");
    } else {
      link.textContent = "#" + payload.number + ": " + event.type.replace("notification.", "");
    }
    item.appendChild(link);
    notifications.prepend(item);
    while (notifications.children.length > 5) notifications.removeChild(notifications.lastChild);
  }
  window.helpdeskNotifications = { show: show };
})();
