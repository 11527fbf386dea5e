//! The user and group databases, read without loading an NSS module.
//!
//! glibc's getpwnam(3) and friends load the NSS modules nsswitch.conf names (libnss_systemd,
//! libnss_sss, …) into the process. A statically linked svckit cannot do that safely: a static
//! glibc that loads a module built against the shared one crashed here (SIGSEGV in
//! getpwnam_r for an unknown name). So svckit reads the databases as glibc's `files` module
//! does, and asks getent(1), a dynamically linked program made for it, for whatever another
//! source holds:
//!
//! - nsswitch.conf's line for the database (`passwd`, `group`, and `initgroups` when present,
//!   else `group`, for the supplementary groups) says where to look. No file or no line:
//!   `files`, as glibc.
//! - `files` first, with no `[STATUS=action]`: /etc/passwd or /etc/group first; what is found
//!   there is the answer (glibc's default action, `[SUCCESS=return]`); what is not is asked of
//!   getent, which asks the sources after it. For the supplementary groups, files' answer stands
//!   when the user is a member of some group there (as glibc's `files` returns SUCCESS then),
//!   else getent is asked (`getent initgroups NAME`).
//! - Any other line (`compat`, `sss files`, actions in brackets): every lookup is getent's,
//!   which follows the line exactly.
//!
//! On a machine with only files (containers, most servers), no process is started and no
//! module loaded.

use std::{
    fs, io,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};

/// How long an answer of getent is used again ([`Databases`] asks it for what the files do
/// not hold). The files themselves are read afresh at each lookup.
pub const GETENT_KEPT: Duration = Duration::from_secs(5);

/// An entry of the password database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The login name.
    pub name: String,
    /// The uid.
    pub uid: u32,
    /// The primary group's gid.
    pub gid: u32,
    /// The home directory.
    pub home: PathBuf,
    /// The login shell.
    pub shell: PathBuf,
}

/// An entry of the group database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group's name.
    pub name: String,
    /// The gid.
    pub gid: u32,
    /// The names of its members (besides the users whose primary group it is).
    pub members: Vec<String>,
}

/// Where a database is read (see the module's docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sources {
    /// /etc/passwd or /etc/group alone.
    Files,
    /// The file first, then getent for what it does not hold.
    FilesThenGetent,
    /// getent for everything.
    Getent,
}

impl Sources {
    /// What nsswitch.conf's `text` says of `database` (`passwd`, `group`, `initgroups`); `None`
    /// when it has no line for it.
    pub fn of(text: &str, database: &str) -> Option<Sources> {
        let line = text.lines().find_map(|line| {
            let line = line.split('#').next().unwrap_or("");
            let (name, sources) = line.split_once(':')?;
            (name.trim() == database).then_some(sources)
        })?;
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.is_empty() {
            return Some(Sources::Files);
        }
        if words.iter().any(|word| word.starts_with('[')) || words[0] != "files" {
            return Some(Sources::Getent);
        }
        Some(if words.len() == 1 {
            Sources::Files
        } else {
            Sources::FilesThenGetent
        })
    }
}

/// The databases as this machine's nsswitch.conf says to read them, and where the files are
/// (another root in tests).
#[derive(Debug, Clone)]
pub struct Databases {
    passwd: Sources,
    group: Sources,
    initgroups: Sources,
    etc: PathBuf,
    getent: Option<PathBuf>,
}

impl Databases {
    /// This machine's: /etc/nsswitch.conf, /etc/passwd, /etc/group, and getent from /usr/bin
    /// or /bin.
    pub fn system() -> Databases {
        let getent = ["/usr/bin/getent", "/bin/getent"]
            .iter()
            .map(PathBuf::from)
            .find(|path| path.exists());
        Databases::at(Path::new("/etc"), getent)
    }

    /// The databases of the directory `etc` (its nsswitch.conf, passwd and group), with
    /// `getent` (`None`: none installed) for other sources.
    pub fn at(etc: &Path, getent: Option<PathBuf>) -> Databases {
        let conf = fs::read_to_string(etc.join("nsswitch.conf")).unwrap_or_default();
        let passwd = Sources::of(&conf, "passwd").unwrap_or(Sources::Files);
        let group = Sources::of(&conf, "group").unwrap_or(Sources::Files);
        let initgroups = Sources::of(&conf, "initgroups").unwrap_or(group);
        Databases {
            passwd,
            group,
            initgroups,
            etc: etc.to_owned(),
            getent,
        }
    }

    /// The user named `name`.
    pub fn user_by_name(&self, name: &str) -> io::Result<Option<User>> {
        self.user(&|user: &User| user.name == name, name)
    }

    /// The (first) user with uid `uid`.
    pub fn user_by_uid(&self, uid: u32) -> io::Result<Option<User>> {
        self.user(&|user: &User| user.uid == uid, &uid.to_string())
    }

    /// The group named `name`.
    pub fn group_by_name(&self, name: &str) -> io::Result<Option<Group>> {
        self.group(&|group: &Group| group.name == name, name)
    }

    /// The (first) group with gid `gid`.
    pub fn group_by_gid(&self, gid: u32) -> io::Result<Option<Group>> {
        self.group(&|group: &Group| group.gid == gid, &gid.to_string())
    }

    /// What initgroups(3) gives `user`: `gid` first, then every group that names the user a
    /// member, each once.
    pub fn group_list(&self, user: &str, gid: u32) -> io::Result<Vec<u32>> {
        let mut groups = vec![gid];
        let mut add = |more: &mut dyn Iterator<Item = u32>| {
            for gid in more {
                if !groups.contains(&gid) {
                    groups.push(gid);
                }
            }
        };
        if self.initgroups != Sources::Getent {
            let mut member_of = read_entries(&self.etc.join("group"), parse_group)?
                .into_iter()
                .filter(|group| group.members.iter().any(|member| member == user))
                .map(|group| group.gid)
                .peekable();
            let found = member_of.peek().is_some();
            add(&mut member_of);
            if found || self.initgroups == Sources::Files {
                return Ok(groups);
            }
        }
        // `getent initgroups NAME` prints "NAME GID GID…" (the primary group left out).
        if let Some(line) = self.getent("initgroups", user)? {
            add(&mut line
                .split_whitespace()
                .skip(1)
                .filter_map(|gid| gid.parse().ok()));
        }
        Ok(groups)
    }

    fn user(&self, matches: &dyn Fn(&User) -> bool, key: &str) -> io::Result<Option<User>> {
        self.find("passwd", self.passwd, parse_user, matches, key)
    }

    fn group(&self, matches: &dyn Fn(&Group) -> bool, key: &str) -> io::Result<Option<Group>> {
        self.find("group", self.group, parse_group, matches, key)
    }

    /// The first entry of `database` (`passwd` or `group`: the file of that name, and
    /// getent's database) that `matches`, from where `sources` says; getent is asked for
    /// `key` (a name or a number).
    fn find<T>(
        &self,
        database: &str,
        sources: Sources,
        parse: fn(&str) -> Option<T>,
        matches: &dyn Fn(&T) -> bool,
        key: &str,
    ) -> io::Result<Option<T>> {
        if sources != Sources::Getent {
            let found = read_entries(&self.etc.join(database), parse)?
                .into_iter()
                .find(|entry| matches(entry));
            if found.is_some() || sources == Sources::Files {
                return Ok(found);
            }
        }
        Ok(self
            .getent(database, key)?
            .as_deref()
            .and_then(parse)
            .filter(matches))
    }

    /// getent's first line for `key` in `database`; `None` when it says there is none (exit
    /// 2). An error when getent is missing or fails otherwise: a source the file does not
    /// hold could not be asked, so "no such user" would be a guess. Answers are kept for
    /// [`GETENT_KEPT`]: getent is a process of its own (about a millisecond), and a
    /// supervisor starting a thousand services as one user would ask a thousand times.
    fn getent(&self, database: &str, key: &str) -> io::Result<Option<String>> {
        type Answers =
            std::collections::HashMap<(PathBuf, String, String), (Instant, Option<String>)>;
        static ANSWERS: Mutex<Option<Answers>> = Mutex::new(None);
        let Some(getent) = &self.getent else {
            return self.ask_getent(database, key);
        };
        let asked = (getent.clone(), database.to_owned(), key.to_owned());
        let now = Instant::now();
        if let Ok(mut answers) = ANSWERS.lock() {
            let answers = answers.get_or_insert_with(Default::default);
            answers.retain(|_, (at, _)| now.duration_since(*at) < GETENT_KEPT);
            if let Some((_, answer)) = answers.get(&asked) {
                return Ok(answer.clone());
            }
        }
        let answer = self.ask_getent(database, key)?;
        if let Ok(mut answers) = ANSWERS.lock() {
            answers
                .get_or_insert_with(Default::default)
                .insert(asked, (now, answer.clone()));
        }
        Ok(answer)
    }

    fn ask_getent(&self, database: &str, key: &str) -> io::Result<Option<String>> {
        let Some(getent) = &self.getent else {
            return Err(io::Error::other(format!(
                "nsswitch.conf names sources other than files for {database}, and getent(1), \
                 which svckit asks of them, is not installed"
            )));
        };
        // "--" so a name like "-s" is not taken for an option.
        let output = Command::new(getent)
            .args([database, "--", key])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()?;
        match output.status.code() {
            Some(0) => Ok(String::from_utf8_lossy(&output.stdout)
                .lines()
                .next()
                .map(str::to_owned)),
            Some(2) => Ok(None),
            _ => Err(io::Error::other(format!(
                "getent {database} {key} failed ({})",
                output.status
            ))),
        }
    }
}

/// Every well-formed entry of the file `path`; a missing file holds none.
fn read_entries<T>(path: &Path, parse: fn(&str) -> Option<T>) -> io::Result<Vec<T>> {
    match fs::read(path) {
        Ok(bytes) => Ok(bytes
            .split(|&byte| byte == b'\n')
            .filter_map(|line| std::str::from_utf8(line).ok().and_then(parse))
            .collect()),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(err) => Err(err),
    }
}

/// A line of /etc/passwd (`name:password:uid:gid:gecos:home:shell`), as glibc's `files`
/// module reads it; `None` for a comment, a malformed line, or a NIS `+`/`-` entry.
pub fn parse_user(line: &str) -> Option<User> {
    let fields: Vec<&str> = line.trim_end_matches('\r').split(':').collect();
    let [name, _, uid, gid, _, home, shell] = fields[..] else {
        return None;
    };
    if !valid_name(name) {
        return None;
    }
    Some(User {
        name: name.to_owned(),
        uid: uid.parse().ok()?,
        gid: gid.parse().ok()?,
        home: PathBuf::from(home),
        shell: PathBuf::from(shell),
    })
}

/// A line of /etc/group (`name:password:gid:member,member`); `None` as for [`parse_user`].
pub fn parse_group(line: &str) -> Option<Group> {
    let fields: Vec<&str> = line.trim_end_matches('\r').split(':').collect();
    let [name, _, gid, members] = fields[..] else {
        return None;
    };
    if !valid_name(name) {
        return None;
    }
    Some(Group {
        name: name.to_owned(),
        gid: gid.parse().ok()?,
        members: members
            .split(',')
            .map(str::trim)
            .filter(|member| !member.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with(['#', '+', '-']) && !name.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn nsswitch_lines_say_where_to_look() {
        let conf = "# comment\npasswd:         files systemd\ngroup: files # local only\n\
                    shadow: files\ninitgroups: sss [NOTFOUND=return] files\nhosts: files dns\n";
        assert_eq!(Sources::of(conf, "passwd"), Some(Sources::FilesThenGetent));
        assert_eq!(Sources::of(conf, "group"), Some(Sources::Files));
        assert_eq!(Sources::of(conf, "initgroups"), Some(Sources::Getent));
        assert_eq!(Sources::of(conf, "netgroup"), None);
        assert_eq!(
            Sources::of("passwd: compat", "passwd"),
            Some(Sources::Getent)
        );
        assert_eq!(
            Sources::of("passwd: sss files", "passwd"),
            Some(Sources::Getent)
        );
        assert_eq!(
            Sources::of("passwd: files [SUCCESS=continue] ldap", "passwd"),
            Some(Sources::Getent)
        );
        assert_eq!(Sources::of("passwd:", "passwd"), Some(Sources::Files));
        // "passwd" is not "passwd_x", nor the other way round.
        assert_eq!(Sources::of("passwdx: sss", "passwd"), None);
    }

    #[test]
    fn passwd_and_group_lines_parse_as_the_files_module_reads_them() {
        assert_eq!(
            parse_user("redis:x:101:104::/var/lib/redis:/usr/sbin/nologin"),
            Some(User {
                name: "redis".into(),
                uid: 101,
                gid: 104,
                home: "/var/lib/redis".into(),
                shell: "/usr/sbin/nologin".into(),
            })
        );
        for bad in [
            "",
            "# root:x:0:0:root:/root:/bin/bash",
            "+@netgroup::::::",
            "-baduser:x:1:1::/:/bin/sh",
            "short:x:1:1",
            "uid:x:minus:1::/:/bin/sh",
            "big:x:4294967296:1::/:/bin/sh",
            "spa ce:x:1:1::/:/bin/sh",
        ] {
            assert_eq!(parse_user(bad), None, "{bad:?}");
        }
        assert_eq!(
            parse_group("audio:x:29:pulse, alice,,bob"),
            Some(Group {
                name: "audio".into(),
                gid: 29,
                members: vec!["pulse".into(), "alice".into(), "bob".into()],
            })
        );
        assert_eq!(parse_group("nogroup:x:65534:").unwrap().members.len(), 0);
        assert_eq!(parse_group("bad:x:1"), None);
    }

    fn scratch(test: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("svckit-accounts-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// An etc directory with these files, and no getent to ask.
    fn etc(test: &str, files: &[(&str, &str)]) -> Databases {
        let dir = scratch(test);
        for (name, text) in files {
            fs::write(dir.join(name), text).unwrap();
        }
        Databases::at(&dir, None)
    }

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\n\
                          # a comment\n\
                          svc:x:1000:1000:Service,,,:/home/svc:/bin/sh\n\
                          twin:x:1000:1000::/home/twin:/bin/sh\n\
                          broken line\n";
    const GROUP: &str = "root:x:0:\nsvc:x:1000:\naudio:x:29:svc,other\nvideo:x:44:other,svc\n\
                         again:x:29:svc\n";

    #[test]
    fn files_alone_answer_without_getent() {
        let db = etc("files", &[("passwd", PASSWD), ("group", GROUP)]);
        let svc = db.user_by_name("svc").unwrap().unwrap();
        assert_eq!((svc.uid, svc.gid), (1000, 1000));
        assert_eq!(svc.home, PathBuf::from("/home/svc"));
        // By uid: the first of two.
        assert_eq!(db.user_by_uid(1000).unwrap().unwrap().name, "svc");
        assert_eq!(db.user_by_name("nobody-here").unwrap(), None);
        assert_eq!(db.user_by_uid(4242).unwrap(), None);
        assert_eq!(db.group_by_name("audio").unwrap().unwrap().gid, 29);
        assert_eq!(db.group_by_gid(44).unwrap().unwrap().name, "video");
        assert_eq!(db.group_by_name("wheel").unwrap(), None);
        // The primary group first, each gid once.
        assert_eq!(db.group_list("svc", 1000).unwrap(), [1000, 29, 44]);
        assert_eq!(db.group_list("root", 0).unwrap(), [0]);
    }

    #[test]
    fn missing_files_hold_no_one() {
        let db = etc("missing", &[]);
        assert_eq!(db.user_by_name("root").unwrap(), None);
        assert_eq!(db.group_list("root", 0).unwrap(), [0]);
    }

    #[test]
    fn another_source_without_getent_is_an_error_not_a_guess() {
        let conf = "passwd: files ldap\ngroup: files ldap\n";
        let db = etc(
            "no-getent",
            &[
                ("passwd", PASSWD),
                ("group", GROUP),
                ("nsswitch.conf", conf),
            ],
        );
        // What files hold is the answer…
        assert_eq!(db.user_by_name("svc").unwrap().unwrap().uid, 1000);
        assert_eq!(db.group_list("svc", 1000).unwrap(), [1000, 29, 44]);
        // …and what they do not is not "no such user".
        let err = db.user_by_name("ldap-user").unwrap_err();
        assert!(err.to_string().contains("getent"), "{err}");
        assert!(db.group_list("root", 0).is_err());
    }

    /// getent itself, with this machine's nsswitch.conf replaced by one that sends every
    /// lookup to it: the same answers as files give.
    #[test]
    fn getent_answers_as_the_files_do() {
        let Some(getent) = Databases::system().getent else {
            panic!("getent is part of libc-bin, installed everywhere svckit's tests run");
        };
        let dir = scratch("getent");
        fs::write(dir.join("nsswitch.conf"), "passwd: sss\ngroup: sss\n").unwrap();
        let via_getent = Databases::at(&dir, Some(getent));
        let files = Databases::at(Path::new("/etc"), None);
        let files = Databases {
            passwd: Sources::Files,
            group: Sources::Files,
            initgroups: Sources::Files,
            ..files
        };
        for name in ["root", "nobody", "no-such-user-svckit", "-s"] {
            assert_eq!(
                via_getent.user_by_name(name).unwrap(),
                files.user_by_name(name).unwrap(),
                "{name}"
            );
        }
        assert_eq!(
            via_getent.user_by_uid(0).unwrap(),
            files.user_by_uid(0).unwrap()
        );
        assert_eq!(
            via_getent.group_by_name("root").unwrap(),
            files.group_by_name("root").unwrap()
        );
        assert_eq!(via_getent.group_by_gid(4_000_000).unwrap(), None);
        let mut from_getent = via_getent.group_list("root", 0).unwrap();
        let mut from_files = files.group_list("root", 0).unwrap();
        from_getent.sort_unstable();
        from_files.sort_unstable();
        assert_eq!(from_getent, from_files);
    }

    /// getent is asked once for a name the files do not hold, however many lookups follow
    /// within [`GETENT_KEPT`] (a getent of the test's own counts how often it runs).
    #[test]
    fn getent_is_asked_once_for_many_lookups_of_one_name() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch("getent-kept");
        let count = dir.join("count");
        let getent = dir.join("getent");
        fs::write(
            &getent,
            format!(
                "#!/bin/sh\necho \"$1 $3\" >> {}\n\
                 [ \"$1\" = passwd ] && echo 'far:x:7001:7001::/home/far:/bin/sh' && exit 0\n\
                 [ \"$1\" = initgroups ] && echo 'far 7002 7003' && exit 0\nexit 2\n",
                count.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&getent, fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(
            dir.join("nsswitch.conf"),
            "passwd: files ldap\ngroup: files ldap\n",
        )
        .unwrap();
        fs::write(dir.join("passwd"), PASSWD).unwrap();
        fs::write(dir.join("group"), GROUP).unwrap();
        let db = Databases::at(&dir, Some(getent));
        for _ in 0..3 {
            assert_eq!(db.user_by_name("far").unwrap().unwrap().uid, 7001);
            assert_eq!(db.group_list("far", 7001).unwrap(), [7001, 7002, 7003]);
        }
        // What the files hold never reaches getent.
        assert_eq!(db.user_by_name("svc").unwrap().unwrap().uid, 1000);
        assert_eq!(
            fs::read_to_string(&count).unwrap(),
            "passwd far\ninitgroups far\n"
        );
    }

    proptest! {
        /// Any line: parsed or refused, never a panic; what parses is named by its first field.
        #[test]
        fn any_line_parses_or_is_refused(line in "\\PC{0,80}") {
            if let Some(user) = parse_user(&line) {
                let start = format!("{}:", user.name);
                prop_assert!(line.starts_with(&start));
            }
            if let Some(group) = parse_group(&line) {
                let start = format!("{}:", group.name);
                prop_assert!(line.starts_with(&start));
            }
        }

        /// A well-formed passwd line round-trips.
        #[test]
        fn passwd_lines_round_trip(
            name in "[a-z_][a-z0-9_-]{0,30}",
            uid in any::<u32>(),
            gid in any::<u32>(),
            home in "/[a-z/]{0,20}",
        ) {
            let line = format!("{name}:x:{uid}:{gid}:gecos:{home}:/bin/sh");
            let user = parse_user(&line).unwrap();
            prop_assert_eq!((user.name, user.uid, user.gid), (name, uid, gid));
            prop_assert_eq!(user.home, PathBuf::from(home));
        }
    }
}
