//! Where the tools are inside drill's fault toolbox image: the image is built by
//! `docker::images`, the commands that use them are written by `faults`.

/// The iptables build used inside fault sidecars. The legacy backend works in any
/// container network namespace, whatever the host's firewall uses.
pub const IPTABLES: &str = "/usr/sbin/xtables-legacy-multi";
pub const BUSYBOX: &str = "/bin/busybox";
pub const TC: &str = "/usr/sbin/tc";
