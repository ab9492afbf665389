-- Images, their tags and their extra properties. Text compares byte for byte (SQLite's BINARY collation),
-- so keys and values are case-sensitive and sort by their UTF-8 bytes.
CREATE TABLE images (
    id               TEXT    NOT NULL PRIMARY KEY,
    owner            TEXT    NOT NULL,
    name             TEXT,
    name_folded      TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    visibility       TEXT    NOT NULL,
    protected        INTEGER NOT NULL,
    os_hidden        INTEGER NOT NULL,
    container_format TEXT,
    disk_format      TEXT,
    min_disk         INTEGER NOT NULL,
    min_ram          INTEGER NOT NULL,
    size             INTEGER,
    virtual_size     INTEGER,
    checksum         TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
-- A project sees two disjoint arms, each read newest first from its own index: its images, and public ones.
CREATE INDEX images_owner_created ON images (owner, created_at DESC, id);
CREATE INDEX images_visibility_created ON images (visibility, created_at DESC, id);

-- The owner is repeated here (it never changes) so that per-project tag lookups and aggregation read one
-- covering index; the key-first index serves public images.
CREATE TABLE image_tags (
    image_id TEXT NOT NULL REFERENCES images (id),
    key      TEXT NOT NULL,
    value    TEXT NOT NULL,
    owner    TEXT NOT NULL,
    PRIMARY KEY (image_id, key)
) WITHOUT ROWID;
CREATE INDEX image_tags_key_value ON image_tags (key, value, image_id);
CREATE INDEX image_tags_owner_key_value ON image_tags (owner, key, value, image_id);

CREATE TABLE image_properties (
    image_id TEXT NOT NULL REFERENCES images (id),
    name     TEXT NOT NULL,
    value    TEXT NOT NULL,
    PRIMARY KEY (image_id, name)
) WITHOUT ROWID;
CREATE INDEX image_properties_name_value ON image_properties (name, value, image_id);
