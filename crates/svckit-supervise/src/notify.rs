//! The sd_notify protocol, as the supervisor hears it: a service of `type = notify` finds
//! `$NOTIFY_SOCKET` in its environment (an abstract datagram socket of the supervisor's,
//! [`svckit_unix::notify::Listener`]) and sends newline-separated `KEY=VALUE` assignments
//! there, as systemd defines them (sd_notify(3)). The sender is known by its credentials, so
//! only the service's own processes are heard (`notify_access`).

/// The abstract socket name of the supervisor of the state directory with `id`
/// ([`crate::StateDir::id`]); `$NOTIFY_SOCKET` is it with a leading `@`.
pub fn socket_name(id: &str) -> String {
    format!("svckit-notify-{id}")
}
