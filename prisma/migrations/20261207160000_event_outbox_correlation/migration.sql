-- Each outbox record remembers the request (or the event) that caused it: its correlation id,
-- published in the event's envelope, and the W3C traceparent of the span that wrote it, which
-- the relay's publish span links to.
ALTER TABLE "event_outbox" ADD COLUMN "correlation_id" TEXT,
ADD COLUMN "traceparent" TEXT;
