-- Tag rows carry what lists order and split by, so that a page comes straight from an index in its order: the
-- image's `created_at` and whether it is public. Neither ever changes after the image is created (there is no
-- PATCH; visibility is set once), so the copies cannot drift.
--
-- * `image_tags_owner_key_value_created`: a project's images holding a tag, newest first (op 5's page and
--   total, the owned arm of `GET /v2/images?tag=`), and its distinct tags (op 4, op 10), read without the
--   images table. It replaces `image_tags_owner_key_value`.
-- * `image_tags_public_key_value_created`: the same for public images, whoever owns them (the other arm of
--   op 4 and of `GET /v2/images?tag=`). It replaces the key-first index over every tag row, which only that arm
--   used, so that a tag write updates one index fewer.
CREATE TABLE image_tags_new (
    image_id   TEXT    NOT NULL REFERENCES images (id),
    key        TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    is_public  INTEGER NOT NULL,
    PRIMARY KEY (image_id, key)
) WITHOUT ROWID;
INSERT INTO image_tags_new (image_id, key, value, owner, created_at, is_public)
    SELECT t.image_id, t.key, t.value, t.owner, i.created_at, i.visibility = 'public'
    FROM image_tags t JOIN images i ON i.id = t.image_id;
DROP TABLE image_tags;
ALTER TABLE image_tags_new RENAME TO image_tags;
CREATE INDEX image_tags_owner_key_value_created ON image_tags (owner, key, value, created_at, image_id);
CREATE INDEX image_tags_public_key_value_created ON image_tags (key, value, created_at, image_id)
    WHERE is_public = 1;
