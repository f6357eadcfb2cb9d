-- Merged forwards (kind 5) store a snapshot of up to 100 messages in the
-- body (capped at 256 KiB by the server): more than TEXT's 64 KiB.

ALTER TABLE messages MODIFY body MEDIUMTEXT NOT NULL;   -- JSON text
