//! Faults of what is stored: a cache wiped, a blob corrupted or deleted in a region's
//! storage volume, the volume filled. They act on the volume from a toolbox container.

use super::given::Given;
use super::target::{aimed, Aim};
use super::{Action, Cx, Heal, Reach, Report, Verb, Volume};
use crate::model::kinds::FaultKind;
use crate::model::registry::BlobLayout;
use crate::model::toolbox::BUSYBOX;
use crate::scenario::names::Target;
use crate::scenario::registry::{Layout, Resolved};
use crate::scenario::{BlobRef, Pick, Scenario};

#[derive(Debug, Clone, PartialEq)]
pub enum StorageFault {
    /// A proxy's cache emptied, or a registry restarted (its in-memory descriptor cache).
    CacheWipe {
        written: String,
        target: Target,
        pick: Option<Pick>,
    },
    Blob {
        region: String,
        image: String,
        blob: Option<BlobRef>,
        /// Overwritten (true) or deleted.
        corrupt: bool,
    },
    FillDisk {
        region: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageKind {
    CacheWipe,
    CorruptBlob,
    DeleteBlob,
    FillDisk,
}

pub(super) fn check(
    kind: StorageKind,
    given: &Given,
    cx: &Cx,
    r: &mut Report,
) -> Option<StorageFault> {
    match kind {
        StorageKind::CacheWipe => {
            let pick = given.pick();
            let (written, target) = aimed(FaultKind::CacheWipe, Aim::Part, pick, given, cx, r)?;
            Some(StorageFault::CacheWipe {
                written,
                target,
                pick,
            })
        }
        StorageKind::CorruptBlob | StorageKind::DeleteBlob => {
            let corrupt = kind == StorageKind::CorruptBlob;
            let fault_kind = if corrupt {
                FaultKind::CorruptBlob
            } else {
                FaultKind::DeleteBlob
            };
            let (image, blob) = (given.image(), given.blob());
            let region = aimed(fault_kind, Aim::Region, None, given, cx, r)
                .filter(|(region, _)| blobs_findable(fault_kind, region, cx, r));
            let image = damaged_image(fault_kind, image, blob, cx, r);
            match (region, image) {
                (Some((region, _)), Some(image)) => Some(StorageFault::Blob {
                    region,
                    image,
                    blob,
                    corrupt,
                }),
                _ => None,
            }
        }
        StorageKind::FillDisk => {
            let (region, _) = aimed(FaultKind::FillDisk, Aim::Region, None, given, cx, r)?;
            // Filling a volume on the engine's own disk would fill the machine.
            if cx
                .s
                .region(&region)
                .is_some_and(|g| g.storage_limit.is_none())
            {
                r.problem(
                    "target",
                    format!(
                        "fill-disk fills a size-limited storage volume: give region '{region}' a \
                         storage_limit (e.g. storage_limit: 64MiB) under topology.regions"
                    ),
                );
                return None;
            }
            Some(StorageFault::FillDisk { region })
        }
    }
}

/// Whether drill knows where the region's registry keeps a blob: a brought one says so
/// with its storage layout.
fn blobs_findable(kind: FaultKind, region: &str, cx: &Cx, r: &mut Report) -> bool {
    let Some(g) = cx.s.region(region) else {
        return true;
    };
    match cx.s.registry_of(g) {
        Resolved::Custom { name, spec } if spec.storage.layout == Layout::None => {
            r.problem(
                "target",
                format!(
                    "{} needs to find a blob in region '{region}''s storage, but registry \
                     '{name}' declares no storage layout: set storage.layout (distribution, or \
                     a pattern such as blobs/{{hex}})",
                    kind.name()
                ),
            );
            false
        }
        _ => true,
    }
}

/// The image whose blob a blob fault damages: declared, and with the layer named.
fn damaged_image(
    kind: FaultKind,
    image: Option<String>,
    blob: Option<BlobRef>,
    cx: &Cx,
    r: &mut Report,
) -> Option<String> {
    let Some(i) = image else {
        r.problem(
            "image",
            format!("{} needs the image whose blob it damages", kind.name()),
        );
        return None;
    };
    let Some(d) = cx.s.images.value.iter().find(|d| d.value.reference == i) else {
        r.problem("image", format!("image '{i}' is not declared under images"));
        return None;
    };
    let layers = d.value.layers.len();
    if let Some(BlobRef::Layer(n)) = blob.filter(|b| matches!(b, BlobRef::Layer(n) if *n >= layers))
    {
        r.problem(
            "blob",
            format!("image '{i}' has {layers} layers; layer {n} does not exist (count from 0)"),
        );
        return None;
    }
    Some(i)
}

impl StorageFault {
    pub fn kind(&self) -> FaultKind {
        match self {
            StorageFault::CacheWipe { .. } => FaultKind::CacheWipe,
            StorageFault::Blob { corrupt: true, .. } => FaultKind::CorruptBlob,
            StorageFault::Blob { corrupt: false, .. } => FaultKind::DeleteBlob,
            StorageFault::FillDisk { .. } => FaultKind::FillDisk,
        }
    }

    pub(super) fn written(&self) -> String {
        match self {
            StorageFault::CacheWipe { written, .. } => written.clone(),
            StorageFault::Blob { region, .. } | StorageFault::FillDisk { region } => region.clone(),
        }
    }

    pub(super) fn on(&self) -> Target {
        match self {
            StorageFault::CacheWipe { target, .. } => target.clone(),
            StorageFault::Blob { region, .. } | StorageFault::FillDisk { region } => {
                Target::Region(region.clone())
            }
        }
    }

    fn wipes_proxy(&self) -> bool {
        matches!(
            self,
            StorageFault::CacheWipe {
                target: Target::Proxy(_),
                ..
            }
        )
    }

    pub(super) fn reach(&self, s: &Scenario) -> Reach {
        match self {
            StorageFault::CacheWipe { target, pick, .. } => Reach {
                members: target.members(s, false),
                volume: match target {
                    Target::Proxy(r) => Some(Volume::ProxyCache(r.clone())),
                    _ => None,
                },
                pick: *pick,
                ..Reach::default()
            },
            StorageFault::Blob { region, .. } => Reach {
                volume: Some(Volume::Region(region.clone())),
                regions: vec![region.clone()],
                ..Reach::default()
            },
            // Done from the container that keeps the region's tmpfs mounted.
            StorageFault::FillDisk { region } => Reach {
                volume: Some(Volume::Kept(region.clone())),
                regions: vec![region.clone()],
                ..Reach::default()
            },
        }
    }

    pub(super) fn actions(&self) -> Vec<Action> {
        vec![match self {
            StorageFault::CacheWipe { .. } if self.wipes_proxy() => Action::WipeProxy,
            StorageFault::CacheWipe { .. } => Action::Engine(Verb::Restart),
            StorageFault::Blob {
                image,
                blob,
                corrupt,
                ..
            } => Action::Blob {
                image: image.clone(),
                blob: *blob,
                corrupt: *corrupt,
            },
            StorageFault::FillDisk { .. } => Action::Fill,
        }]
    }

    pub(super) fn heal(&self) -> Option<Heal> {
        match self {
            StorageFault::FillDisk { .. } => Some(Heal::Unfill),
            StorageFault::CacheWipe { .. } | StorageFault::Blob { .. } => None,
        }
    }

    pub(super) fn method(&self) -> String {
        match self {
            StorageFault::CacheWipe { .. } if self.wipes_proxy() => {
                "the proxy killed, its storage volume emptied from a toolbox container, the proxy started again: everything it cached is gone".into()
            }
            StorageFault::CacheWipe { .. } => {
                "registry restarted through the engine API, dropping its in-memory blob descriptor cache".into()
            }
            StorageFault::Blob {
                image,
                blob,
                corrupt: true,
                ..
            } => format!(
                "the first 64 bytes of {image}'s {} overwritten with random bytes in the region's storage volume (same size, wrong content); not healed",
                blob_words(*blob)
            ),
            StorageFault::Blob { image, blob, .. } => format!(
                "{image}'s {} deleted from the region's storage volume; not healed",
                blob_words(*blob)
            ),
            StorageFault::FillDisk { .. } => "zeros written to a file on the region's size-limited storage volume (a tmpfs) until no space is left (ENOSPC); the file deleted at heal".into(),
        }
    }
}

fn blob_words(b: Option<BlobRef>) -> String {
    match b {
        Some(BlobRef::Config) => "config blob".into(),
        Some(BlobRef::Layer(n)) => format!("layer {n}"),
        None => "layer 0".into(),
    }
}

/// What empties a proxy's cache, run with its volume at `/storage`: everything in it,
/// whichever proxy wrote it (distribution's `docker/` tree, nginx's cache folders).
pub const WIPE: [&str; 13] = [
    BUSYBOX,
    "find",
    "/storage",
    "-mindepth",
    "1",
    "-maxdepth",
    "1",
    "-exec",
    BUSYBOX,
    "rm",
    "-rf",
    "{}",
    "+",
];

/// What damages a blob, by its digest, in a storage of `layout` mounted at `/storage`.
pub fn blob_command(corrupt: bool, digest: &str, layout: &BlobLayout) -> Vec<String> {
    let path = format!("/storage/{}", layout.path_of(digest));
    if corrupt {
        [
            BUSYBOX,
            "dd",
            "if=/dev/urandom",
            &format!("of={path}"),
            "bs=64",
            "count=1",
            "conv=notrunc",
        ]
        .map(String::from)
        .to_vec()
    } else {
        [BUSYBOX, "rm", &path].map(String::from).to_vec()
    }
}

/// The file `fill-disk` writes, in the storage container's `/storage`.
fn fill_file(fault: usize) -> String {
    format!("/storage/.drill-fill-{fault}")
}

/// Fills the storage, then says how full it is: cat stops at ENOSPC with an error,
/// which is the point; `df` says whether the volume is full ([`df_available_kib`]).
pub fn fill_command(fault: usize) -> Vec<String> {
    let script = format!(
        "{BUSYBOX} cat /dev/zero > {} 2>/dev/null; {BUSYBOX} df -k /storage",
        fill_file(fault)
    );
    [BUSYBOX, "sh", "-c", &script].map(String::from).to_vec()
}

pub fn unfill_command(fault: usize) -> Vec<String> {
    [BUSYBOX, "rm", "-f", &fill_file(fault)]
        .map(String::from)
        .to_vec()
}

/// The free KiB `df -k` reports on its last line (busybox: filesystem, size, used,
/// available, use%, mount point).
pub fn df_available_kib(df: &str) -> Option<u64> {
    df.lines().last()?.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_gives_the_free_space_of_the_volume() {
        let full = "Filesystem           1K-blocks      Used Available Use% Mounted on\n\
                    tmpfs                    32768     32768         0 100% /storage\n";
        assert_eq!(df_available_kib(full), Some(0));
        assert_eq!(
            df_available_kib("Filesystem 1K-blocks Used Available Use% Mounted on\ntmpfs 32768 100 32668 1% /storage"),
            Some(32668)
        );
        assert_eq!(df_available_kib("df: /storage: No such file"), None);
    }

    #[test]
    fn a_blob_is_found_by_its_digest_in_distributions_layout() {
        let cmd = blob_command(false, "sha256:abcdef", &BlobLayout::Distribution);
        assert_eq!(
            cmd.last().unwrap(),
            "/storage/docker/registry/v2/blobs/sha256/ab/abcdef/data"
        );
        assert!(
            blob_command(true, "sha256:abcdef", &BlobLayout::Distribution)
                .contains(&"conv=notrunc".to_string())
        );
    }
}
