-- Messaging: conversations, their members and one ordered sequence of
-- events (messages, system events, recalls) per conversation.

CREATE TABLE conversations (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  kind          TINYINT NOT NULL,                 -- 1 direct, 2 multi (ad hoc), 3 group
  name          VARCHAR(64) NOT NULL DEFAULT '',
  owner_id      BIGINT UNSIGNED NULL,
  direct_key    VARCHAR(48) NULL,                 -- '<min uid>:<max uid>' for kind 1
  last_seq      BIGINT UNSIGNED NOT NULL DEFAULT 0,
  last_msg_at   DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  member_count  INT NOT NULL DEFAULT 0,
  created_at    DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  dissolved_at  DATETIME(3) NULL,
  UNIQUE KEY u_conv_direct (direct_key)
) ENGINE=InnoDB;

CREATE TABLE conversation_members (
  conv_id        BIGINT UNSIGNED NOT NULL,
  user_id        BIGINT UNSIGNED NOT NULL,
  role           TINYINT NOT NULL DEFAULT 0,      -- 0 member, 1 admin, 2 owner
  joined_seq     BIGINT UNSIGNED NOT NULL DEFAULT 1, -- first seq the member may read
  last_read_seq  BIGINT UNSIGNED NOT NULL DEFAULT 0,
  muted          TINYINT NOT NULL DEFAULT 0,
  pinned         TINYINT NOT NULL DEFAULT 0,
  left_at        DATETIME(3) NULL,
  left_seq       BIGINT UNSIGNED NULL,            -- last seq a leaver may read
  PRIMARY KEY (conv_id, user_id),
  KEY k_member_user (user_id, left_at),
  CONSTRAINT fk_member_conv FOREIGN KEY (conv_id) REFERENCES conversations (id)
    ON DELETE CASCADE,
  CONSTRAINT fk_member_user FOREIGN KEY (user_id) REFERENCES users (id)
    ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE messages (
  conv_id        BIGINT UNSIGNED NOT NULL,
  seq            BIGINT UNSIGNED NOT NULL,
  sender_id      BIGINT UNSIGNED NULL,            -- NULL: system
  client_msg_id  VARCHAR(64) NULL,
  kind           TINYINT NOT NULL,                -- 1 text, 6 system, 7 recall
  body           TEXT NOT NULL,                   -- JSON text
  created_at     DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  recalled       TINYINT NOT NULL DEFAULT 0,
  PRIMARY KEY (conv_id, seq),
  UNIQUE KEY u_msg_client (sender_id, client_msg_id),
  CONSTRAINT fk_msg_conv FOREIGN KEY (conv_id) REFERENCES conversations (id)
    ON DELETE CASCADE
) ENGINE=InnoDB;
