//! A TCP proxy the test can cut and restore, to take a real database away from a running server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

const UP: u8 = 0;
const REFUSING: u8 = 1;
const SILENT: u8 = 2;
const BLACK_HOLE: u8 = 3;

pub struct CuttableProxy {
    pub addr: SocketAddr,
    mode: Arc<AtomicU8>,
    /// Bumped on every cut: open connections watch it and drop both sides.
    cuts: watch::Sender<u64>,
    task: JoinHandle<()>,
}

impl CuttableProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mode = Arc::new(AtomicU8::new(UP));
        let (cuts, _) = watch::channel(0u64);
        let task = tokio::spawn(accept_loop(listener, upstream, mode.clone(), cuts.clone()));
        CuttableProxy { addr, mode, cuts, task }
    }

    /// A proxy in front of the database of `url`; returns it and the URL that goes through it.
    pub async fn in_front_of(url: &str) -> (Self, String) {
        let mut parsed = url::Url::parse(url).unwrap();
        let host = parsed.host_str().unwrap().to_owned();
        let upstream = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), parsed.port().unwrap_or(5432)))
            .unwrap()
            .next()
            .unwrap();
        let proxy = Self::start(upstream).await;
        parsed.set_host(Some("127.0.0.1")).unwrap();
        parsed.set_port(Some(proxy.addr.port())).unwrap();
        (proxy, parsed.to_string())
    }

    /// Drops every open connection and refuses new ones (accepted, then closed at once).
    pub fn cut(&self) {
        self.mode.store(REFUSING, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Drops every open connection; new ones are accepted and then never answered, like a
    /// database host that vanished from the network.
    pub fn go_silent(&self) {
        self.mode.store(SILENT, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    /// Stops forwarding on every open connection without closing it, and accepts new ones that
    /// are never answered: queries already sent wait forever, as behind a network black hole.
    /// `restore` then drops the frozen connections (as a peer that gave up would).
    pub fn black_hole(&self) {
        self.mode.store(BLACK_HOLE, Ordering::SeqCst);
        self.cuts.send_modify(|n| *n += 1);
    }

    pub fn restore(&self) {
        if self.mode.swap(UP, Ordering::SeqCst) != UP {
            // Releases the connections a silent or black-holed proxy was holding.
            self.cuts.send_modify(|n| *n += 1);
        }
    }
}

impl Drop for CuttableProxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, mode: Arc<AtomicU8>, cuts: watch::Sender<u64>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        let mut cut = cuts.subscribe();
        match mode.load(Ordering::SeqCst) {
            REFUSING => {
                drop(client);
                continue;
            }
            SILENT | BLACK_HOLE => {
                tokio::spawn(async move {
                    let _held = client;
                    let _ = cut.changed().await;
                });
                continue;
            }
            _ => {}
        }
        let mode = mode.clone();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let (mut client, mut server) = (client, server);
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
                _ = cut.changed() => {}
            }
            if mode.load(Ordering::SeqCst) == BLACK_HOLE {
                // Hold both sides open, forwarding nothing, until the next change of mode.
                let _ = cut.changed().await;
            }
        });
    }
}
