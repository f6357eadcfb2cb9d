-- Avatars (PROTOCOL.md 4.5 items 15-16, REST /org/users/:id/avatar): a
-- files row whose file is the large square PNG and whose thumbnail is the
-- small one.  Setting an avatar is an org write (the user's version moves,
-- clients refresh).
ALTER TABLE users
  ADD COLUMN avatar_file_id BIGINT UNSIGNED NULL,
  ADD CONSTRAINT fk_user_avatar FOREIGN KEY (avatar_file_id) REFERENCES files (id)
    ON DELETE SET NULL;
