//! Deterministic demo and benchmark data: images with predictable ids, names, statuses and tags.
//!
//! Image `n` has the id `00000000-0000-4000-8000-{n:012x}`, the name `image-{n}`, the owner
//! `projects[n % projects.len()]`, and (up to `tags_per_image`) the tags `env` (prod, dev or test), `team`
//! (`team-{n % 50}`), `app` (`app-{n % 1000}`), `tier` (`{n % 7}`), then key-only tags `flag-{k}`. One image
//! in a hundred is public, one in ten is `queued`, the rest `active`.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::domain::image::{NewImage, Status, Visibility};
use crate::domain::tag::TagSet;
use crate::store::{Store, StoreError};

/// What to create.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    /// How many images.
    pub images: u64,
    /// The owner projects, used in turn.
    pub projects: Vec<String>,
    /// Tags on each image.
    pub tags_per_image: usize,
    /// The first image number (to add to an earlier seed).
    pub first: u64,
}

/// The id of seeded image `n`.
pub fn image_id(n: u64) -> Uuid {
    Uuid::from_u128(0x0000_0000_0000_4000_8000_0000_0000_0000 | u128::from(n & 0xffff_ffff_ffff))
}

/// Seeded image `n`.
pub fn image(plan: &SeedPlan, n: u64) -> NewImage {
    let mut tags = TagSet::new();
    let standard = [
        ("env", ["prod", "dev", "test"][(n % 3) as usize].to_owned()),
        ("team", format!("team-{}", n % 50)),
        ("app", format!("app-{}", n % 1000)),
        ("tier", (n % 7).to_string()),
    ];
    let standard_count = standard.len();
    for (key, value) in standard.into_iter().take(plan.tags_per_image) {
        tags.insert(key.to_owned(), value);
    }
    for k in standard_count..plan.tags_per_image {
        tags.insert(format!("flag-{k}"), String::new());
    }
    let project = &plan.projects[(n % plan.projects.len() as u64) as usize];
    NewImage {
        id: image_id(n),
        name: Some(format!("image-{n}")),
        status: if n.is_multiple_of(10) { Status::Queued } else { Status::Active },
        visibility: if n.is_multiple_of(100) { Visibility::Public } else { Visibility::Private },
        owner: project.clone(),
        protected: false,
        os_hidden: false,
        container_format: Some("bare".into()),
        disk_format: Some("qcow2".into()),
        min_disk: 40,
        min_ram: 1024,
        tags,
        properties: BTreeMap::from([(
            "__os_type".to_owned(),
            if n.is_multiple_of(2) { "Linux" } else { "Windows" }.to_owned(),
        )]),
    }
}

/// Creates the planned images in batches of `batch` per transaction; calls `progress` after each batch.
pub async fn run(
    store: &dyn Store,
    plan: &SeedPlan,
    batch: u64,
    mut progress: impl FnMut(u64),
) -> Result<(), StoreError> {
    let end = plan.first + plan.images;
    let mut next = plan.first;
    while next < end {
        let upto = (next + batch.max(1)).min(end);
        store.create_images((next..upto).map(|n| image(plan, n)).collect()).await?;
        next = upto;
        progress(next - plan.first);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_images_are_deterministic() {
        let plan =
            SeedPlan { images: 10, projects: vec!["a".into(), "b".into()], tags_per_image: 6, first: 0 };
        assert_eq!(image_id(255).to_string(), "00000000-0000-4000-8000-0000000000ff");
        let seven = image(&plan, 7);
        assert_eq!(seven.owner, "b");
        assert_eq!(seven.tags.get("env").map(String::as_str), Some("dev"));
        assert_eq!(seven.tags.len(), 6);
        assert_eq!(seven.tags.get("flag-5").map(String::as_str), Some(""));
        assert_eq!(image(&plan, 100).visibility, Visibility::Public);
        assert_eq!(image(&plan, 7), image(&plan, 7));
    }
}
