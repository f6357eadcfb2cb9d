-- App messages (/cgi/msg/send, PROTOCOL.md 4.1): every (app, user) pair has
-- one conversation of kind 4 whose only member is the user; the app's
-- messages are cards (messages.kind 4, sender_id NULL) in it and the
-- user's replies go back to the app as callbacks.  direct_key is
-- 'app:<app pk>:<user id>' (unique, so concurrent sends create it once).
ALTER TABLE conversations
  ADD COLUMN app_pk INT UNSIGNED NULL AFTER owner_id,
  ADD KEY k_conv_app (app_pk),
  ADD CONSTRAINT fk_conv_app FOREIGN KEY (app_pk) REFERENCES apps (id)
    ON DELETE SET NULL;

-- per-user badges of apps (/cgi/set.ent.notice); count 0 deletes the row
CREATE TABLE app_notices (
  user_id     BIGINT UNSIGNED NOT NULL,
  app_pk      INT UNSIGNED NOT NULL,
  count       INT UNSIGNED NOT NULL,
  tip         VARCHAR(255) NOT NULL DEFAULT '',
  pop_wind    TEXT NULL,                          -- JSON object or NULL
  updated_at  DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  PRIMARY KEY (user_id, app_pk),
  KEY k_notice_app (app_pk),
  CONSTRAINT fk_notice_user FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE,
  CONSTRAINT fk_notice_app FOREIGN KEY (app_pk) REFERENCES apps (id)
    ON DELETE CASCADE
) ENGINE=InnoDB;
