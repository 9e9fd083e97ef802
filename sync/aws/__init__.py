"""The I/O edge towards AWS: sessions, credentials, clients, rate limits, retries, error classes."""
