//! Images whose entrypoint the engine knows. It pulls no image, so a container without a
//! `command` can only run when its image's entrypoint is a command found on the host — as
//! Argo's controller config `images: {<image>: {cmd: [...]}}` tells the emissary executor.

/// Image names (without tag or digest) and the command their entrypoint runs.
const KNOWN: &[(&str, &[&str])] = &[
    // Argo's test and example image: `/argosay [echo|cat|sleep|exit|assert_contains] …`.
    ("argoproj/argosay", &["argosay"]),
    ("docker.io/argoproj/argosay", &["argosay"]),
    ("quay.io/argoproj/argosay", &["argosay"]),
];

/// The entrypoint of `image` when the engine knows it.
pub fn entrypoint(image: &str) -> Option<Vec<String>> {
    let name = image.split(['@']).next().unwrap_or(image);
    // A tag follows the last `:` after the last `/` (a registry may have a port).
    let name = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    };
    KNOWN
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, cmd)| cmd.iter().map(|s| s.to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_digests_do_not_matter() {
        let argosay = Some(vec!["argosay".to_string()]);
        assert_eq!(entrypoint("argoproj/argosay:v2"), argosay);
        assert_eq!(entrypoint("argoproj/argosay@sha256:abc"), argosay);
        assert_eq!(entrypoint("quay.io/argoproj/argosay"), argosay);
        assert_eq!(entrypoint("busybox"), None);
        assert_eq!(entrypoint("localhost:5000/argoproj/argosay"), None);
    }
}
