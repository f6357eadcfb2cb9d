-- Files and images: one row per upload (the bytes live in youdu_files_path,
-- content-addressed by sha256), and which messages refer to which file
-- (download access follows the messages a user may read).

CREATE TABLE files (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  uploader_id   BIGINT UNSIGNED NULL,            -- NULL: the uploader was deleted
  name          VARCHAR(255) NOT NULL,           -- metadata only, never a path
  size          BIGINT UNSIGNED NOT NULL,
  mime          VARCHAR(100) NOT NULL,
  sha256        CHAR(64) NOT NULL,               -- also the storage name
  is_image      TINYINT NOT NULL DEFAULT 0,
  width         INT UNSIGNED NULL,
  height        INT UNSIGNED NULL,
  has_thumb     TINYINT NOT NULL DEFAULT 0,
  thumb_width   INT UNSIGNED NULL,
  thumb_height  INT UNSIGNED NULL,
  created_at    DATETIME(3) NOT NULL DEFAULT UTC_TIMESTAMP(3),
  KEY k_files_uploader (uploader_id, id),
  KEY k_files_sha (sha256),
  -- what was shared stays readable when its uploader's account goes
  CONSTRAINT fk_files_user FOREIGN KEY (uploader_id) REFERENCES users (id)
    ON DELETE SET NULL
) ENGINE=InnoDB;

-- written in the transaction that stores the message (kind 2 image, 3 file)
CREATE TABLE message_files (
  file_id       BIGINT UNSIGNED NOT NULL,
  conv_id       BIGINT UNSIGNED NOT NULL,
  seq           BIGINT UNSIGNED NOT NULL,
  PRIMARY KEY (file_id, conv_id, seq),
  KEY k_mf_msg (conv_id, seq),
  CONSTRAINT fk_mf_file FOREIGN KEY (file_id) REFERENCES files (id)
    ON DELETE CASCADE,
  CONSTRAINT fk_mf_conv FOREIGN KEY (conv_id) REFERENCES conversations (id)
    ON DELETE CASCADE
) ENGINE=InnoDB;
