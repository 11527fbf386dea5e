//! Looking up and dropping to an unprivileged user and group.
//!
//! Lookups (the databases as [`crate::accounts`] reads them, never an NSS module) happen in the
//! launcher, before any fork, so a bad name is reported as bad input. The drop itself is
//! setgroups → setgid → setuid, in that order (after setuid the process may no longer change
//! its groups), then verified: every uid and gid (real, effective, saved) is the target, the
//! supplementary groups are exactly the user's, and setuid(0) fails.

use std::path::PathBuf;

use nix::unistd::{self, Gid, Uid};

use crate::{
    accounts::{self, Databases},
    error::{Error, Step},
    report::Failure,
};

/// The identity a daemon switches to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user switched to, if any (with `--group` alone, only the group changes).
    pub user: Option<UserInfo>,
    /// The primary group.
    pub gid: Gid,
    /// The supplementary groups, the primary one included.
    pub groups: Vec<Gid>,
}

/// What the password database says of the target user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The login name.
    pub name: String,
    /// The uid.
    pub uid: Uid,
    /// The home directory (becomes `HOME`).
    pub home: PathBuf,
    /// The login shell (becomes `SHELL`).
    pub shell: PathBuf,
}

impl Credentials {
    /// Resolves `user` and `group` (names, or numeric ids that exist in the databases).
    /// Returns `None` when neither is given.
    pub fn resolve(user: Option<&str>, group: Option<&str>) -> Result<Option<Credentials>, Error> {
        if user.is_none() && group.is_none() {
            return Ok(None);
        }
        let databases = Databases::system();
        let user = user.map(|name| lookup_user(&databases, name)).transpose()?;
        let group = group
            .map(|name| lookup_group(&databases, name))
            .transpose()?;
        let Some(gid) = group
            .as_ref()
            .map(|g| g.gid)
            .or(user.as_ref().map(|u| u.gid))
        else {
            return Ok(None);
        };
        let groups = match &user {
            Some(user) => databases
                .group_list(&user.name, gid)
                .map_err(|err| Error::Os {
                    step: Step::DropPrivileges,
                    context: format!("the groups of {}", user.name),
                    source: err,
                })?
                .into_iter()
                .map(Gid::from_raw)
                .collect(),
            None => vec![Gid::from_raw(gid)],
        };
        Ok(Some(Credentials {
            user: user.map(|user| UserInfo {
                name: user.name,
                uid: Uid::from_raw(user.uid),
                home: user.home,
                shell: user.shell,
            }),
            gid: Gid::from_raw(gid),
            groups,
        }))
    }

    /// Drops to these credentials and verifies that the old ones cannot be regained.
    pub(crate) fn apply(&self) -> Result<(), Failure> {
        let os = |detail: u8| {
            move |errno: nix::errno::Errno| Failure::Os {
                step: Step::DropPrivileges,
                detail,
                errno: errno as i32,
            }
        };
        unistd::setgroups(&self.groups).map_err(os(DETAIL_SETGROUPS))?;
        unistd::setgid(self.gid).map_err(os(DETAIL_SETGID))?;
        if let Some(user) = &self.user {
            unistd::setuid(user.uid).map_err(os(DETAIL_SETUID))?;
        }
        self.verify()
    }

    /// [`Credentials::apply`] for a freshly forked child about to exec: the failing call's
    /// errno (EPERM when root could be regained).
    pub(crate) fn apply_in_child(&self) -> std::io::Result<()> {
        self.apply().map_err(|failure| match failure {
            Failure::Os { errno, .. } => std::io::Error::from_raw_os_error(errno),
            _ => std::io::Error::from_raw_os_error(nix::libc::EPERM),
        })
    }

    fn verify(&self) -> Result<(), Failure> {
        let uid = self
            .user
            .as_ref()
            .map(|user| user.uid)
            .unwrap_or_else(Uid::effective);
        let regainable = Failure::PrivilegesRegainable { uid: uid.as_raw() };
        let uids = unistd::getresuid().map_err(|_| regainable)?;
        let gids = unistd::getresgid().map_err(|_| regainable)?;
        let mut groups = unistd::getgroups().map_err(|_| regainable)?;
        let mut expected = self.groups.clone();
        groups.sort_by_key(|gid| gid.as_raw());
        groups.dedup();
        expected.sort_by_key(|gid| gid.as_raw());
        expected.dedup();
        let same_uids = [uids.real, uids.effective, uids.saved]
            .iter()
            .all(|u| *u == uid);
        let same_gids = [gids.real, gids.effective, gids.saved]
            .iter()
            .all(|g| *g == self.gid);
        if !same_uids || !same_gids || groups != expected {
            return Err(regainable);
        }
        if !uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
            return Err(regainable);
        }
        Ok(())
    }
}

pub(crate) const DETAIL_SETGROUPS: u8 = 0;
pub(crate) const DETAIL_SETGID: u8 = 1;
pub(crate) const DETAIL_SETUID: u8 = 2;

/// The user `name`, or the one whose uid it is.
fn lookup_user(databases: &Databases, name: &str) -> Result<accounts::User, Error> {
    by_name_or_id(
        name,
        "user",
        |name| databases.user_by_name(name),
        |uid| databases.user_by_uid(uid),
    )?
    .ok_or_else(|| Error::UnknownUser(name.to_owned()))
}

/// The group `name`, or the one whose gid it is.
fn lookup_group(databases: &Databases, name: &str) -> Result<accounts::Group, Error> {
    by_name_or_id(
        name,
        "group",
        |name| databases.group_by_name(name),
        |gid| databases.group_by_gid(gid),
    )?
    .ok_or_else(|| Error::UnknownGroup(name.to_owned()))
}

/// The entry named `name`, else the one whose id it is (a number); `None` when neither
/// exists. A database that cannot be read is an error of its own, not "unknown".
fn by_name_or_id<T>(
    name: &str,
    kind: &str,
    by_name: impl Fn(&str) -> std::io::Result<Option<T>>,
    by_id: impl Fn(u32) -> std::io::Result<Option<T>>,
) -> Result<Option<T>, Error> {
    let failed = |err: std::io::Error| Error::Os {
        step: Step::DropPrivileges,
        context: format!("look up {kind} {name:?}"),
        source: err,
    };
    if let Some(found) = by_name(name).map_err(failed)? {
        return Ok(Some(found));
    }
    match name.parse::<u32>() {
        Ok(id) => by_id(id).map_err(failed),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_resolves_with_its_groups() {
        let creds = Credentials::resolve(Some("root"), None).unwrap().unwrap();
        let user = creds.user.as_ref().unwrap();
        assert_eq!(user.uid, Uid::from_raw(0));
        assert_eq!(creds.gid, Gid::from_raw(0));
        assert!(creds.groups.contains(&Gid::from_raw(0)));
        let by_number = Credentials::resolve(Some("0"), None).unwrap().unwrap();
        assert_eq!(by_number, creds);
    }

    #[test]
    fn unknown_names_are_bad_input() {
        let err = Credentials::resolve(Some("no-such-user-svckit"), None).unwrap_err();
        assert_eq!(err.to_string(), "unknown user \"no-such-user-svckit\"");
        assert!(err.is_bad_input());
        let err = Credentials::resolve(None, Some("no-such-group-svckit")).unwrap_err();
        assert_eq!(err.to_string(), "unknown group \"no-such-group-svckit\"");
        assert!(Credentials::resolve(None, None).unwrap().is_none());
    }

    #[test]
    fn group_alone_changes_only_the_group() {
        let creds = Credentials::resolve(None, Some("root")).unwrap().unwrap();
        assert!(creds.user.is_none());
        assert_eq!(creds.groups, vec![Gid::from_raw(0)]);
    }
}
