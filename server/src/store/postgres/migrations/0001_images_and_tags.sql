-- Images, their tags and their extra properties, laid out to be distributed by project (the owner): every
-- table but the id directory leads with the owner, in its primary key and in every index, and foreign keys
-- only join rows of one owner. Text compares byte for byte (COLLATE "C", whatever the database's default
-- collation), so keys and values are case-sensitive and sort by their UTF-8 bytes, as on SQLite.
CREATE TABLE images (
    owner            text COLLATE "C" NOT NULL,
    id               uuid             NOT NULL,
    name             text COLLATE "C",
    name_folded      text COLLATE "C" NOT NULL,
    status           text COLLATE "C" NOT NULL,
    visibility       text COLLATE "C" NOT NULL,
    protected        boolean          NOT NULL,
    os_hidden        boolean          NOT NULL,
    container_format text COLLATE "C",
    disk_format      text COLLATE "C",
    min_disk         bigint           NOT NULL,
    min_ram          bigint           NOT NULL,
    size             bigint,
    virtual_size     bigint,
    checksum         text COLLATE "C",
    created_at       bigint           NOT NULL,
    updated_at       bigint           NOT NULL,
    PRIMARY KEY (owner, id)
);
-- A project's own images, newest first (op 5, and the owned arm of the lists).
CREATE INDEX images_owner_created ON images (owner, created_at DESC, id);
-- Public images (the other arm of what a project sees): few, read whole and sorted.
CREATE INDEX images_public ON images (owner, created_at DESC, id) WHERE visibility = 'public';

-- Every image id and its owner: ids are unique across projects (a second image with an id is 409, whoever
-- creates it), and an image named by id alone (GET /v2/images/{id}, a public image of another project) is
-- found here first, then read from its owner's rows. The one table keyed by id rather than by owner.
CREATE TABLE image_directory (
    id    uuid             NOT NULL PRIMARY KEY,
    owner text COLLATE "C" NOT NULL
);

-- The owner is repeated here (it never changes): the tags of an image live with the image, and per-project
-- tag lookups and aggregation (op 5, op 10, op 4) read one owner-first index.
CREATE TABLE image_tags (
    owner    text COLLATE "C" NOT NULL,
    image_id uuid             NOT NULL,
    key      text COLLATE "C" NOT NULL,
    value    text COLLATE "C" NOT NULL,
    PRIMARY KEY (owner, image_id, key),
    FOREIGN KEY (owner, image_id) REFERENCES images (owner, id) ON DELETE CASCADE
);
CREATE INDEX image_tags_owner_key_value ON image_tags (owner, key, value, image_id);

CREATE TABLE image_properties (
    owner    text COLLATE "C" NOT NULL,
    image_id uuid             NOT NULL,
    name     text COLLATE "C" NOT NULL,
    value    text COLLATE "C" NOT NULL,
    PRIMARY KEY (owner, image_id, name),
    FOREIGN KEY (owner, image_id) REFERENCES images (owner, id) ON DELETE CASCADE
);
-- Property filters (op 4) of one project, driven from the properties rather than from every image.
CREATE INDEX image_properties_owner_name_value ON image_properties (owner, name, value, image_id);
