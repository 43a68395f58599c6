//! Local Redis topologies a test starts with Debian's `redis-server` and stops when dropped: plain
//! or TLS servers with ACL users, a master + replica + Sentinel, a 3-master Cluster. Ports are
//! picked free under 55535 (a cluster node's bus listens on port + 10000).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `redis-server` processes and their folder; all are killed when this is dropped.
pub struct Topology {
    pub dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Drop for Topology {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Whether `redis-server` can be run here; outside CI a test without it skips with a note.
pub fn available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "redis-server is missing but CI=true: .ci/run installs it"
        );
        eprintln!("note: redis-server is not installed; skipping a Redis topology test");
    }
    found
}

/// A port free now (and its +10000 cluster bus port), between 20000 and 45000.
pub fn free_port() -> u16 {
    loop {
        let port = 20000 + (rand_u16() % 25000);
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 10000) {
            return port;
        }
    }
}

fn rand_u16() -> u16 {
    let bytes = uuid::Uuid::new_v4().into_bytes();
    u16::from_le_bytes([bytes[0], bytes[1]])
}

impl Topology {
    pub fn new() -> Self {
        Topology {
            dir: tempfile::tempdir().expect("a temporary folder"),
            children: Vec::new(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `redis-server` with `config` (lines of redis.conf) plus `extra` arguments, and
    /// waits until it accepts connections on `port`.
    pub fn start(&mut self, name: &str, port: u16, config: &str, extra: &[&str]) {
        let file = self.path(&format!("{name}.conf"));
        let common = format!(
            "bind 127.0.0.1\nprotected-mode no\nsave \"\"\nappendonly no\ndir {}\nlogfile {}\n",
            self.dir.path().display(),
            self.path(&format!("{name}.log")).display()
        );
        std::fs::write(&file, format!("{common}{config}\n")).expect("write redis.conf");
        let child = Command::new("redis-server")
            .arg(&file)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.children.push(child);
        wait_for_port(port, &self.path(&format!("{name}.log")));
    }

    /// A plain server.
    pub fn server(&mut self, name: &str, port: u16, config: &str) {
        self.start(name, port, &format!("port {port}\n{config}"), &[]);
    }
}

fn wait_for_port(port: u16, log: &Path) {
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "redis on port {port} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `redis-cli -p port args…`'s output (trimmed); panics if it cannot run.
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Polls `check` every 50 ms until it holds, or panics naming `what` after `within`.
pub fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < within, "not within {within:?}: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Three masters sharing the 16384 slots; returns their ports.
pub fn cluster(t: &mut Topology) -> Vec<u16> {
    cluster_of(t, 3, 0)
}

/// Three masters, each with one replica (failover after a 1 s node timeout); returns every
/// node's port, masters first.
pub fn cluster_with_replicas(t: &mut Topology) -> Vec<u16> {
    cluster_of(t, 6, 1)
}

fn cluster_of(t: &mut Topology, nodes: usize, replicas: usize) -> Vec<u16> {
    let ports: Vec<u16> = (0..nodes).map(|_| free_port()).collect();
    for (i, port) in ports.iter().enumerate() {
        let timeout = if replicas > 0 { 1000 } else { 2000 };
        let config =
            format!("cluster-enabled yes\ncluster-config-file nodes-{port}.conf\ncluster-node-timeout {timeout}");
        t.server(&format!("node{i}"), *port, &config);
    }
    let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    let out = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&nodes)
        .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
        .output()
        .expect("run redis-cli --cluster create");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    for port in &ports {
        eventually(Duration::from_secs(15), "cluster_state:ok", || {
            cli(*port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
        });
    }
    ports
}

/// A certificate authority and a server certificate for `localhost` and 127.0.0.1, made with
/// Debian's `openssl`: (CA PEM path, certificate path, key path).
pub fn certificates(t: &Topology) -> (PathBuf, PathBuf, PathBuf) {
    let dir = t.dir.path();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run openssl (Debian package openssl)");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=Keygate test CA"];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    run(&ca);
    let mut csr = vec!["req", "-subj", "/CN=localhost"];
    csr.extend(ec);
    csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
    run(&csr);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}
