"""Mail in and out: the gateway's parser and intake, the outbox, phone-request detection, size
limits."""
