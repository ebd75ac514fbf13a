//! Images whose entrypoint the engine knows. It pulls no image, so a container without a
//! `command` can only run when its image's entrypoint is a command found on the host — as
//! Argo's controller config `images: {<image>: {cmd: [...]}}` tells the emissary executor.

/// Image names (without tag or digest), the entrypoint's path in the image, and the host
/// command that stands for it.
const KNOWN: &[(&str, &str, &str)] = &[
    // Argo's test and example image: `/argosay [echo|cat|sleep|exit|assert_contains] …`.
    ("argoproj/argosay", "/argosay", "argosay"),
    ("docker.io/argoproj/argosay", "/argosay", "argosay"),
    ("quay.io/argoproj/argosay", "/argosay", "argosay"),
];

/// The entrypoint of `image` when the engine knows it.
pub fn entrypoint(image: &str) -> Option<Vec<String>> {
    known(image).map(|(_, host)| vec![host.to_owned()])
}

/// The host command for `program` when it is the known entrypoint of `image` (a workflow
/// that names `/argosay` runs `argosay` from `PATH`).
pub fn host_program(image: &str, program: &str) -> Option<String> {
    known(image)
        .filter(|(path, _)| *path == program)
        .map(|(_, host)| host.to_owned())
}

fn known(image: &str) -> Option<(&'static str, &'static str)> {
    let name = image.split(['@']).next().unwrap_or(image);
    // A tag follows the last `:` after the last `/` (a registry may have a port).
    let name = match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    };
    KNOWN
        .iter()
        .find(|(known, _, _)| *known == name)
        .map(|(_, path, host)| (*path, *host))
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
        assert_eq!(
            host_program("argoproj/argosay:v2", "/argosay").as_deref(),
            Some("argosay")
        );
        assert_eq!(host_program("argoproj/argosay:v2", "sh"), None);
    }
}
