//! Images: the registry's model, who may see and change an image, and the rules for creating one.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::tag::TagSet;

/// Who may see an image besides its owner. `shared` and `community` behave as owner-only, since the service
/// has no member API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Only the owner project.
    Private,
    /// Every project.
    Public,
    /// Owner-only here (no member API).
    Shared,
    /// Owner-only here (no member API).
    Community,
}

/// An image's lifecycle status, as Glance names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Created, no data yet.
    Queued,
    /// Data being uploaded.
    Saving,
    /// Data being uploaded to staging.
    Uploading,
    /// Data being imported.
    Importing,
    /// Ready for use.
    Active,
    /// Upload failed.
    Killed,
    /// Deactivated by its owner.
    Deactivated,
    /// Scheduled for deletion.
    PendingDelete,
}

macro_rules! str_enum {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }
        }

        impl FromStr for $ty {
            type Err = String;

            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($ty::$variant),)+
                    other => Err(format!(
                        "{other:?} is not one of {}.",
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(Visibility { Private => "private", Public => "public", Shared => "shared", Community => "community" });
str_enum!(Status {
    Queued => "queued",
    Saving => "saving",
    Uploading => "uploading",
    Importing => "importing",
    Active => "active",
    Killed => "killed",
    Deactivated => "deactivated",
    PendingDelete => "pending_delete",
});

/// A stored image with its tags and extra properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The image id.
    pub id: Uuid,
    /// The display name, if any.
    pub name: Option<String>,
    /// The lifecycle status.
    pub status: Status,
    /// Who may see it.
    pub visibility: Visibility,
    /// The owner project.
    pub owner: String,
    /// Whether deletion is refused.
    pub protected: bool,
    /// Whether it is left out of lists by default.
    pub os_hidden: bool,
    /// Glance container format.
    pub container_format: Option<String>,
    /// Glance disk format.
    pub disk_format: Option<String>,
    /// Minimum disk, in GB.
    pub min_disk: i64,
    /// Minimum RAM, in MB.
    pub min_ram: i64,
    /// Data size in bytes, once known.
    pub size: Option<i64>,
    /// Virtual size in bytes, once known.
    pub virtual_size: Option<i64>,
    /// Data checksum, once known.
    pub checksum: Option<String>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Last change, Unix seconds; every tag write bumps it.
    pub updated_at: i64,
    /// The image's tags.
    pub tags: TagSet,
    /// Extra string properties (`__os_type`, `architecture`, ...), stored and returned as given.
    pub properties: BTreeMap<String, String>,
}

/// What a project may do with an image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// The project cannot see the image: it is answered as not found.
    Hidden,
    /// The project sees a public image it does not own.
    Read,
    /// The project owns the image.
    Owner,
}

impl Access {
    /// The access a project has to an image with this owner and visibility: the owner reads and changes it,
    /// public images are readable by all, everything else is hidden.
    pub fn of(owner: &str, visibility: Visibility, project: &str) -> Access {
        if owner == project {
            Access::Owner
        } else if visibility == Visibility::Public {
            Access::Read
        } else {
            Access::Hidden
        }
    }
}

/// An image to create, already validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewImage {
    /// The id to use.
    pub id: Uuid,
    /// Display name.
    pub name: Option<String>,
    /// Initial status: `queued` from the API, others from the seeding command.
    pub status: Status,
    /// Visibility.
    pub visibility: Visibility,
    /// Owner project.
    pub owner: String,
    /// Protected flag.
    pub protected: bool,
    /// Hidden flag.
    pub os_hidden: bool,
    /// Container format.
    pub container_format: Option<String>,
    /// Disk format.
    pub disk_format: Option<String>,
    /// Minimum disk, GB.
    pub min_disk: i64,
    /// Minimum RAM, MB.
    pub min_ram: i64,
    /// Initial tags.
    pub tags: TagSet,
    /// Extra string properties.
    pub properties: BTreeMap<String, String>,
}

/// Glance's default disk formats.
pub const DISK_FORMATS: &[&str] =
    &["ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"];
/// Glance's default container formats.
pub const CONTAINER_FORMATS: &[&str] = &["ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"];
/// Attributes a client may not set when creating an image.
pub const READ_ONLY_ATTRIBUTES: &[&str] = &[
    "status",
    "owner",
    "created_at",
    "updated_at",
    "size",
    "virtual_size",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "self",
    "file",
    "schema",
    "direct_url",
    "locations",
    "stores",
];
/// Longest image name, in characters.
pub const NAME_MAX_CHARS: usize = 255;
/// Longest extra property name, in characters.
pub const PROPERTY_NAME_MAX_CHARS: usize = 255;
/// Longest extra property value, in characters.
pub const PROPERTY_VALUE_MAX_CHARS: usize = 4096;
/// Most extra properties on one image.
pub const PROPERTIES_MAX: usize = 128;

/// Checks the extra properties of a create request.
pub fn check_properties(properties: &BTreeMap<String, String>) -> Result<(), String> {
    if properties.len() > PROPERTIES_MAX {
        return Err(format!("An image may hold at most {PROPERTIES_MAX} extra properties."));
    }
    for (name, value) in properties {
        if let Some(reserved) = READ_ONLY_ATTRIBUTES.iter().find(|r| *r == name) {
            return Err(format!("Attribute '{reserved}' is read-only."));
        }
        let n = name.chars().count();
        if n == 0 || n > PROPERTY_NAME_MAX_CHARS {
            return Err(format!("Property names must be 1 to {PROPERTY_NAME_MAX_CHARS} characters long."));
        }
        if value.chars().count() > PROPERTY_VALUE_MAX_CHARS {
            return Err(format!(
                "The value of property {name:?} must be at most {PROPERTY_VALUE_MAX_CHARS} characters long."
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rule() {
        assert_eq!(Access::of("p1", Visibility::Private, "p1"), Access::Owner);
        assert_eq!(Access::of("p1", Visibility::Public, "p2"), Access::Read);
        for hidden in [Visibility::Private, Visibility::Shared, Visibility::Community] {
            assert_eq!(Access::of("p1", hidden, "p2"), Access::Hidden, "{hidden} is owner-only");
        }
    }

    #[test]
    fn enums_parse_their_wire_names_only() {
        assert_eq!("pending_delete".parse::<Status>(), Ok(Status::PendingDelete));
        assert!("Active".parse::<Status>().is_err(), "case-sensitive");
        assert_eq!("community".parse::<Visibility>(), Ok(Visibility::Community));
        for v in Visibility::ALL {
            assert_eq!(v.as_str().parse::<Visibility>(), Ok(*v));
        }
    }

    #[test]
    fn properties_refuse_read_only_names_and_oversized_values() {
        let ok: BTreeMap<_, _> = [("__os_type".to_string(), "Linux".to_string())].into();
        assert!(check_properties(&ok).is_ok());
        let status: BTreeMap<_, _> = [("status".to_string(), "active".to_string())].into();
        assert!(check_properties(&status).unwrap_err().contains("read-only"));
        let long: BTreeMap<_, _> = [("x".to_string(), "v".repeat(PROPERTY_VALUE_MAX_CHARS + 1))].into();
        assert!(check_properties(&long).is_err());
    }
}
