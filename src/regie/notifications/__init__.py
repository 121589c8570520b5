"""Notifications: who gets which notice, the durable outbox, rendering and sending."""
