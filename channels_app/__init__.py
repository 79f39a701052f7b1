"""Every channel's adapter: email, live chat, SMS, social; realtime events."""
