//! `PgServer`: an extra PostgreSQL server of the test's own, for tests that need several
//! database servers. `initdb` and `pg_ctl` come from the installed PostgreSQL
//! (`pg_config --bindir`); the cluster lives in a temporary directory, listens on a free
//! port of 127.0.0.1 with trust authentication (or, from `start_with_password`, SCRAM
//! passwords over TCP), and is stopped and removed on drop. initdb
//! refuses to run as root, so as root everything runs as the `postgres` OS user (`runuser`),
//! which then owns the directory.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running PostgreSQL server of this test's own.
pub struct PgServer {
    cluster: Cluster,
    running: bool,
}

/// Where a server lives and how its programs are run; no `Drop`, so blocking tasks may
/// hold a copy.
#[derive(Clone)]
struct Cluster {
    dir: PathBuf,
    bindir: PathBuf,
    port: u16,
    as_postgres: bool,
    /// The `postgres` superuser's password when TCP logins need one.
    password: Option<String>,
}

fn bindir() -> PathBuf {
    let out = Command::new("pg_config").arg("--bindir").output();
    match out {
        Ok(o) if o.status.success() => {
            PathBuf::from(String::from_utf8_lossy(&o.stdout).trim().to_string())
        }
        _ => PathBuf::from("/usr/lib/postgresql/15/bin"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl PgServer {
    /// Initialises and starts a server (blocking work on the blocking pool).
    pub async fn start() -> Self {
        Self::start_as(None).await
    }

    /// A server whose TCP logins need a password (SCRAM); the `postgres` superuser's is
    /// `password`. Its socket (in its own directory) still trusts, for the harness.
    pub async fn start_with_password(password: &str) -> Self {
        Self::start_as(Some(password.to_string())).await
    }

    /// As [`start_with_password`](Self::start_with_password), with TLS on (a self-signed
    /// certificate made by `openssl`): SCRAM over TLS, where clients bind the channel.
    pub async fn start_with_password_and_tls(password: &str) -> Self {
        let password = Some(password.to_string());
        let cluster = tokio::task::spawn_blocking(move || Cluster::init_with(password, true))
            .await
            .expect("the PostgreSQL start-up task");
        Self {
            cluster,
            running: true,
        }
    }

    async fn start_as(password: Option<String>) -> Self {
        let cluster = tokio::task::spawn_blocking(move || Cluster::init(password))
            .await
            .expect("the PostgreSQL start-up task");
        Self {
            cluster,
            running: true,
        }
    }

    /// The port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.cluster.port
    }

    /// A superuser URL (with its password when the server needs one; otherwise trust
    /// authentication accepts any).
    pub fn admin_url(&self) -> String {
        self.url_as("postgres", self.cluster.password.as_deref())
    }

    /// A URL for `user` (and `password`) on this server's `postgres` database.
    pub fn url_as(&self, user: &str, password: Option<&str>) -> String {
        let login = match password {
            Some(pw) => format!("{user}:{pw}"),
            None => user.to_string(),
        };
        format!("postgres://{login}@127.0.0.1:{}/postgres", self.port())
    }

    /// Stops the server (`fast`: sessions are ended), as an outage would.
    pub async fn stop(&mut self) {
        let cluster = self.cluster.clone();
        tokio::task::spawn_blocking(move || cluster.pg_ctl(&["-m", "fast", "stop"]))
            .await
            .expect("the PostgreSQL stop task");
        self.running = false;
    }

    /// Starts the stopped server again on the same port.
    pub async fn start_again(&mut self) {
        let cluster = self.cluster.clone();
        tokio::task::spawn_blocking(move || cluster.pg_ctl(&["start"]))
            .await
            .expect("the PostgreSQL start task");
        self.running = true;
    }
}

impl Cluster {
    fn init(password: Option<String>) -> Self {
        Self::init_with(password, false)
    }

    fn init_with(password: Option<String>, tls: bool) -> Self {
        let dir = std::env::temp_dir().join(format!("tt-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let cluster = Self {
            dir,
            bindir: bindir(),
            port: free_port(),
            as_postgres: is_root(),
            password,
        };
        if cluster.as_postgres {
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&cluster.dir)
                .status()
                .expect("chown runs");
            assert!(chown.success(), "chown of the server directory failed");
        }
        let data = cluster.data();
        let mut args = vec![
            "-D".to_string(),
            data.clone(),
            "-U".into(),
            "postgres".into(),
            "-E".into(),
            "UTF8".into(),
            "--no-sync".into(),
            "--no-instructions".into(),
        ];
        match &cluster.password {
            None => args.push("--auth=trust".into()),
            Some(pw) => {
                let file = cluster.dir.join("pwfile");
                std::fs::write(&file, pw).expect("the password file");
                args.extend([
                    "--auth-local=trust".into(),
                    "--auth-host=scram-sha-256".into(),
                    format!("--pwfile={}", file.display()),
                ]);
            }
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        cluster.run("initdb", &args);
        let conf = format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 60\n\
             shared_buffers = 16MB\n",
            cluster.port,
            cluster.dir.display()
        );
        let path = Path::new(&data).join("postgresql.conf");
        let mut text = std::fs::read_to_string(&path).expect("postgresql.conf");
        text.push_str(&conf);
        if tls {
            cluster.make_certificate();
            text.push_str("ssl = on\n");
        }
        std::fs::write(&path, text).expect("postgresql.conf written");
        cluster.pg_ctl(&["start"]);
        cluster
    }

    /// `server.crt` and `server.key` (the server's defaults) in the data directory, the key
    /// readable by the server's user alone, as PostgreSQL requires.
    fn make_certificate(&self) {
        let data = PathBuf::from(self.data());
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            ])
            .args(["-subj", "/CN=127.0.0.1", "-keyout"])
            .arg(data.join("server.key"))
            .arg("-out")
            .arg(data.join("server.crt"))
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let key = data.join("server.key");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        if self.as_postgres {
            let chown = Command::new("chown")
                .arg("postgres:")
                .args([&key, &data.join("server.crt")])
                .status()
                .expect("chown runs");
            assert!(chown.success(), "chown of the certificate failed");
        }
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    fn command(&self, program: &str) -> Command {
        let exe = self.bindir.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.current_dir(&self.dir);
        cmd
    }

    /// Runs one of the server's programs; panics with its output when it fails.
    fn run(&self, program: &str, args: &[&str]) {
        let out = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{program} runs: {e}"));
        assert!(
            out.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self, args: &[&str]) {
        let data = self.data();
        let log = self.dir.join("server.log").display().to_string();
        let mut all = vec!["-D", &data, "-l", &log, "-w"];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all);
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.running {
            let data = self.cluster.data();
            let _ = self
                .cluster
                .command("pg_ctl")
                .args(["-D", &data, "-w", "-m", "immediate", "stop"])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.cluster.dir);
    }
}
