-- A digest of each applied warehouse event as mapped, so that a later event with the same id and
-- other contents is dead-lettered as a conflicting duplicate instead of taken for a repeat.
ALTER TABLE "inventory_event" ADD COLUMN "fingerprint" TEXT;
