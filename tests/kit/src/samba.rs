//! A private Samba server for the network-drive tests: `smbd` from Debian's packages with a
//! configuration written here (loopback only, a free non-default port, its own state folders
//! in a temporary directory), one share `files` whose NT ACLs are stored in extended
//! attributes (`acl_xattr`), and a test user added with `smbpasswd`. Started once per test
//! binary and stopped when it exits, like the emulators.
//!
//! ACLs are set with Samba's own Python bindings (`ntacl.py` beside this file), which write the
//! `security.NTACL` attribute the server reads: `smbcacls` cannot reach a non-default port.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::emulator::{free_port, missing};

/// The test user (a Unix account is created for it when missing, as Samba requires).
pub const USER: &str = "connsmb";
pub const PASSWORD: &str = "Conn-Test-1!";
/// The domain part of the SIDs the tests put in ACLs.
pub const DOMAIN_SID: &str = "S-1-5-21-1000-2000-3000";

pub struct Samba {
    pub port: u16,
    /// The folder shared as `files`.
    pub share: PathBuf,
    conf: PathBuf,
    _dir: PathBuf,
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

static SAMBA: OnceLock<Option<Samba>> = OnceLock::new();

/// The server, or `None` (a skip, a failure under CI) when Samba is not installed.
pub fn samba() -> Option<&'static Samba> {
    SAMBA.get_or_init(start).as_ref()
}

fn start() -> Option<Samba> {
    let smbd = Path::new("/usr/sbin/smbd");
    if !smbd.is_file() || which("smbpasswd").is_none() {
        missing(
            "samba",
            "apt-get install samba smbclient; bash tests/tools.sh does",
        );
        return None;
    }
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("conn-samba-{}-{port}", std::process::id()));
    let share = dir.join("share");
    for sub in [
        "share", "state", "private", "lock", "cache", "pid", "ncalrpc", "log",
    ] {
        std::fs::create_dir_all(dir.join(sub)).expect("samba folders");
    }
    let d = dir.display();
    let conf = dir.join("smb.conf");
    std::fs::write(
        &conf,
        format!(
            "[global]
  netbios name = CONNTEST
  workgroup = WORKGROUP
  server role = standalone server
  interfaces = 127.0.0.1
  bind interfaces only = yes
  smb ports = {port}
  disable netbios = yes
  state directory = {d}/state
  private dir = {d}/private
  lock directory = {d}/lock
  cache directory = {d}/cache
  pid directory = {d}/pid
  ncalrpc dir = {d}/ncalrpc
  log file = {d}/log/log.%m
  passdb backend = tdbsam:{d}/private/passdb.tdb
  load printers = no
  printing = bsd
  printcap name = /dev/null
  disable spoolss = yes
  server min protocol = SMB2_10
[files]
  path = {d}/share
  read only = no
  vfs objects = acl_xattr
  acl_xattr:ignore system acls = yes
  force user = root
"
        ),
    )
    .expect("smb.conf");
    let known = Command::new("id")
        .arg(USER)
        .output()
        .is_ok_and(|o| o.status.success());
    if !known {
        let status = Command::new("useradd")
            .args(["-M", "-s", "/usr/sbin/nologin", USER])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "cannot create the Unix user {USER} for Samba (needs root)"
        );
    }
    let mut passwd = Command::new("smbpasswd")
        .arg("-c")
        .arg(&conf)
        .args(["-a", "-s", USER])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("smbpasswd");
    if let Some(mut stdin) = passwd.stdin.take() {
        use std::io::Write;
        let _ = writeln!(stdin, "{PASSWORD}\n{PASSWORD}");
    }
    assert!(passwd.wait().is_ok_and(|s| s.success()), "smbpasswd failed");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(r#""$@" >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid"#)
        .arg("sh")
        .arg(smbd)
        // In its own process group (no `--no-process-group`): smbd signals its whole group when
        // it stops, which would otherwise be the test runner's.
        .args(["--foreground", "-s"])
        .arg(&conf)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("smbd");
    let stdin = child.stdin.take().expect("a stdin pipe");
    let until = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "smbd did not start on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(Samba {
        port,
        share,
        conf,
        _dir: dir,
        _stdin: Mutex::new(stdin),
        _child: Mutex::new(child),
    })
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

impl Samba {
    /// Sets the NT security descriptor of a file or folder under the share, in SDDL
    /// (`O:<sid>G:<sid>D:(A;;FA;;;<sid>)(D;;FA;;;<sid>)`).
    pub fn set_acl(&self, path: &Path, sddl: &str) {
        let script = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/ntacl.py"));
        let out = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(&self.conf)
            .arg(path)
            .arg(sddl)
            .output()
            .expect("python3 with Samba's bindings");
        assert!(
            out.status.success(),
            "setting the ACL of {} failed: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `S-1-5-21-1000-2000-3000-<rid>`.
pub fn sid(rid: u32) -> String {
    format!("{DOMAIN_SID}-{rid}")
}
