"""E-mail over SMTP: the notifier, its rendering and its sent-log."""
