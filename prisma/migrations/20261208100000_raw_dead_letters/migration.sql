-- A dead letter keeps the event's text exactly as the source sent it, beside the parsed payload.
ALTER TABLE "dead_letter" ADD COLUMN "raw_payload" TEXT;
