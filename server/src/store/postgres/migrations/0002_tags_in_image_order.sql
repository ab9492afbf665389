-- Tag rows carry what lists order and split by, so that a page comes straight from an index in its order: the
-- image's `created_at` and whether it is public. Neither ever changes after the image is created (there is no
-- PATCH; visibility is set once), so the copies cannot drift.
--
-- * `image_tags_owner_key_value_created`: a project's images holding a tag, newest first (op 5's page and
--   total, the owned arm of `GET /v2/images?tag=`), and its distinct tags (op 4, op 10), read without the
--   images table. It replaces `image_tags_owner_key_value`.
-- * `image_tags_public_key_value_created`: the same for public images, whoever owns them (the other arm of
--   op 4 and of `GET /v2/images?tag=`). The one index that does not lead with the owner: it serves only the arm
--   of other projects' public images, which reads every node anyway once the tables are distributed by owner
--   (each node then indexes its own public tag rows).
--
-- The table is rebuilt rather than altered in place, so that it is written once, without dead rows.
CREATE TABLE image_tags_new (
    owner      text COLLATE "C" NOT NULL,
    image_id   uuid             NOT NULL,
    key        text COLLATE "C" NOT NULL,
    value      text COLLATE "C" NOT NULL,
    created_at bigint           NOT NULL,
    is_public  boolean          NOT NULL
);
INSERT INTO image_tags_new (owner, image_id, key, value, created_at, is_public)
    SELECT t.owner, t.image_id, t.key, t.value, i.created_at, i.visibility = 'public'
    FROM image_tags t JOIN images i ON i.owner = t.owner AND i.id = t.image_id;
DROP TABLE image_tags;
ALTER TABLE image_tags_new RENAME TO image_tags;
ALTER TABLE image_tags
    ADD CONSTRAINT image_tags_pkey PRIMARY KEY (owner, image_id, key),
    ADD CONSTRAINT image_tags_owner_image_id_fkey
        FOREIGN KEY (owner, image_id) REFERENCES images (owner, id) ON DELETE CASCADE;
CREATE INDEX image_tags_owner_key_value_created ON image_tags (owner, key, value, created_at, image_id);
CREATE INDEX image_tags_public_key_value_created ON image_tags (key, value, created_at, image_id)
    WHERE is_public;
ANALYZE image_tags;
