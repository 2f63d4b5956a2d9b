//! Test images generated from the scenario: seeded random layer contents of the declared
//! sizes, packed as gzip tar layers with an OCI config and manifest. The same seed gives
//! the same bytes and digests, so runs are reproducible and comparable.

use crate::plan::ImagePlan;
use bytes::Bytes;
use flate2::write::GzEncoder;
use flate2::Compression;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use sha2::{Digest, Sha256};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[derive(Debug, Clone)]
pub struct Blob {
    pub digest: String,
    pub data: Bytes,
}

impl Blob {
    pub fn new(data: impl Into<Bytes>) -> Blob {
        let data = data.into();
        Blob {
            digest: sha256_digest(&data),
            data,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TestImage {
    pub repository: String,
    pub tag: String,
    pub manifest: Blob,
    pub config: Blob,
    pub layers: Vec<Blob>,
}

impl TestImage {
    pub fn total_bytes(&self) -> u64 {
        (self.manifest.data.len()
            + self.config.data.len()
            + self.layers.iter().map(|l| l.data.len()).sum::<usize>()) as u64
    }
}

pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Splits `repo/name:tag` into repository and tag.
pub fn split_reference(reference: &str) -> (&str, &str) {
    reference.rsplit_once(':').unwrap_or((reference, "latest"))
}

/// Generates one image. Each layer is a tar holding one file of `size` seeded random bytes.
pub fn generate(image: &ImagePlan, seed: u64) -> TestImage {
    let (repository, tag) = split_reference(&image.reference);
    let mut layers = Vec::new();
    let mut diff_ids = Vec::new();
    for (i, &size) in image.layers.iter().enumerate() {
        let mut rng = StdRng::seed_from_u64(layer_seed(seed, &image.reference, i));
        let mut contents = vec![0u8; size as usize];
        rng.fill_bytes(&mut contents);
        let mut tar = tar::Builder::new(Vec::with_capacity(contents.len() + 2048));
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("drill/layer-{i}.bin"),
            contents.as_slice(),
        )
        .expect("writing to memory cannot fail");
        let tar = tar.into_inner().expect("writing to memory cannot fail");
        diff_ids.push(sha256_digest(&tar));
        // Fast compression: the contents are random, so a higher level buys nothing.
        let mut gz = GzEncoder::new(Vec::with_capacity(tar.len() + 1024), Compression::fast());
        std::io::Write::write_all(&mut gz, &tar).expect("writing to memory cannot fail");
        layers.push(Blob::new(
            gz.finish().expect("writing to memory cannot fail"),
        ));
    }
    let config = Blob::new(
        serde_json::to_vec(&json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": { "type": "layers", "diff_ids": diff_ids },
        }))
        .expect("JSON values serialize"),
    );
    let manifest = Blob::new(
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": OCI_CONFIG, "digest": config.digest, "size": config.data.len() },
            "layers": layers.iter().map(|l| json!({
                "mediaType": OCI_LAYER_GZIP, "digest": l.digest, "size": l.data.len(),
            })).collect::<Vec<_>>(),
        }))
        .expect("JSON values serialize"),
    );
    TestImage {
        repository: repository.to_string(),
        tag: tag.to_string(),
        manifest,
        config,
        layers,
    }
}

/// Above this much layer content in all, `drill plan` does not generate the images to
/// size their pushes: it would take seconds and as much memory.
const SIZED_CONTENT_MAX: u64 = 256 << 20;

/// What pushing each image sends, in bytes, as seeding generates it; `None` for every
/// image when their content is over [`SIZED_CONTENT_MAX`] in all.
pub fn pushed_bytes(images: &[ImagePlan], seed: u64) -> Vec<Option<u64>> {
    let content: u64 = images.iter().flat_map(|i| &i.layers).sum();
    images
        .iter()
        .map(|i| {
            (!i.existing && content <= SIZED_CONTENT_MAX).then(|| generate(i, seed).total_bytes())
        })
        .collect()
}

fn layer_seed(seed: u64, reference: &str, index: usize) -> u64 {
    let h = Sha256::digest(format!("{seed}/{reference}/{index}"));
    u64::from_le_bytes(h[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(reference: &str, layers: &[u64]) -> ImagePlan {
        ImagePlan::generated(reference, layers.to_vec())
    }

    #[test]
    fn same_seed_same_digests_other_seed_other_digests() {
        let a = generate(&plan("team/app:1", &[4096, 10_000]), 1);
        let b = generate(&plan("team/app:1", &[4096, 10_000]), 1);
        let c = generate(&plan("team/app:1", &[4096, 10_000]), 2);
        assert_eq!(a.manifest.digest, b.manifest.digest);
        assert_ne!(a.manifest.digest, c.manifest.digest);
        assert_eq!(a.repository, "team/app");
        assert_eq!(a.tag, "1");
    }

    #[test]
    fn layers_are_gzip_tars_of_the_declared_size() {
        let img = generate(&plan("x/y:z", &[100_000]), 9);
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&img.layers[0].data[..]));
        let entries: Vec<u64> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().header().size().unwrap())
            .collect();
        assert_eq!(entries, [100_000]);
        // Random contents do not compress.
        assert!(img.layers[0].data.len() > 100_000);
    }

    #[test]
    fn manifest_references_config_and_layers() {
        let img = generate(&plan("x/y:z", &[10, 20]), 3);
        let m: serde_json::Value = serde_json::from_slice(&img.manifest.data).unwrap();
        assert_eq!(m["mediaType"], OCI_MANIFEST);
        assert_eq!(m["config"]["digest"], img.config.digest.as_str());
        assert_eq!(m["layers"][1]["digest"], img.layers[1].digest.as_str());
        assert_eq!(m["layers"][1]["size"], img.layers[1].data.len());
        assert_eq!(img.manifest.digest, sha256_digest(&img.manifest.data));
    }
}
