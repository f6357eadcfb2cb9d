-- User preferences shared by all devices of a user (GET/PUT
-- /api/v1/me/preferences): do not disturb, notifications, language, idle
-- lock.  prefs holds only the keys the user set (the server lays them over
-- its defaults); version grows with every change and is pushed with it.
-- No row: nothing set yet (version 0).
CREATE TABLE user_preferences (
  user_id     BIGINT UNSIGNED NOT NULL PRIMARY KEY,
  prefs       JSON NOT NULL,
  version     BIGINT UNSIGNED NOT NULL DEFAULT 0,
  updated_at  DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  CONSTRAINT fk_prefs_user FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB;
