//! Helpers shared by the manager suites: plain HTTP/1.1 over a socket, written out by hand, so the
//! tests see exactly the bytes that travel (no client library between the test and the wire).
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use venus_runtime::manager::client::RpcManager;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: String,
    pub path: String,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "response body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn read_head<R: AsyncBufReadExt + Unpin>(
    r: &mut R,
) -> Option<(String, Vec<(String, String)>)> {
    let mut first = String::new();
    if r.read_line(&mut first).await.ok()? == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).await.ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (n, v) = line.split_once(':')?;
        headers.push((n.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    Some((first.trim_end().to_string(), headers))
}

async fn read_body<R: AsyncBufReadExt + Unpin>(r: &mut R, headers: &[(String, String)]) -> Vec<u8> {
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut out = Vec::new();
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await.unwrap();
            let n = usize::from_str_radix(size.trim(), 16).unwrap();
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).await.unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&chunk[..n]);
        }
        out
    } else if let Some(len) = get("content-length") {
        let mut body = vec![0u8; len.parse().unwrap()];
        r.read_exact(&mut body).await.unwrap();
        body
    } else {
        let mut body = Vec::new();
        r.read_to_end(&mut body).await.unwrap();
        body
    }
}

/// One HTTP/1.1 request on a fresh connection.
pub async fn raw_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> RawResponse {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut r = BufReader::new(s);
    let (status_line, headers) = read_head(&mut r).await.expect("a response");
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = read_body(&mut r, &headers).await;
    RawResponse {
        status,
        headers,
        body,
    }
}

/// POST a JSON-RPC body to `path` with a bearer token.
pub async fn post_json(
    addr: SocketAddr,
    path: &str,
    token: Option<&str>,
    body: &[u8],
) -> RawResponse {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("Authorization", a.as_str()));
    }
    raw_request(addr, "POST", path, &headers, body).await
}

type Reply = Box<dyn Fn(&RawRequest) -> (u16, Vec<u8>) + Send>;

/// A server that records every request and answers with `reply` (keep-alive aware).
pub struct CaptureServer {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<RawRequest>>>,
    reply: Arc<Mutex<Reply>>,
}

impl CaptureServer {
    pub async fn start() -> CaptureServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<RawRequest>>> = Arc::default();
        let reply: Arc<Mutex<Reply>> =
            Arc::new(Mutex::new(Box::new(|_| (500, b"no reply set".to_vec()))));
        let (rq, rp) = (requests.clone(), reply.clone());
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                let (rq, rp) = (rq.clone(), rp.clone());
                tokio::spawn(async move {
                    let mut r = BufReader::new(sock);
                    while let Some((line, headers)) = read_head(&mut r).await {
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_string();
                        let path = parts.next().unwrap_or_default().to_string();
                        let body = read_body(&mut r, &headers).await;
                        let req = RawRequest {
                            method,
                            path,
                            headers,
                            body,
                        };
                        rq.lock().unwrap().push(req.clone());
                        let (status, body) = (rp.lock().unwrap())(&req);
                        let head = format!(
                            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                            body.len()
                        );
                        let s = r.get_mut();
                        if s.write_all(head.as_bytes()).await.is_err()
                            || s.write_all(&body).await.is_err()
                        {
                            break;
                        }
                    }
                });
            }
        });
        CaptureServer {
            addr,
            requests,
            reply,
        }
    }

    pub fn set_reply(&self, f: impl Fn(&RawRequest) -> (u16, Vec<u8>) + Send + 'static) {
        *self.reply.lock().unwrap() = Box::new(f);
    }

    pub fn take(&self) -> Vec<RawRequest> {
        std::mem::take(&mut *self.requests.lock().unwrap())
    }
}

pub const MANAGER: &str = env!("CARGO_BIN_EXE_venus-sector-manager");
pub const WORKER: &str = env!("CARGO_BIN_EXE_venus-worker");

pub fn out(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A `venus-sector-manager daemon` process on a loopback port of its choosing.
pub struct ManagerProc {
    pub child: Child,
    pub home: PathBuf,
    pub api: String,
    pub token: String,
}

impl ManagerProc {
    pub fn start(home: &Path, extra: &[&str]) -> ManagerProc {
        std::fs::create_dir_all(home).unwrap();
        let _ = std::fs::remove_file(home.join("api"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home.with_extension("log"))
            .unwrap();
        let child = Command::new(MANAGER)
            .arg("--home")
            .arg(home)
            .args(["daemon", "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let api = loop {
            if let Ok(a) = std::fs::read_to_string(home.join("api")) {
                if a.ends_with('\n') {
                    break a.trim().to_string();
                }
            }
            assert!(
                Instant::now() < deadline,
                "manager did not start: {}",
                std::fs::read_to_string(home.with_extension("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let token = std::fs::read_to_string(home.join("token"))
            .unwrap()
            .trim()
            .to_string();
        ManagerProc {
            child,
            home: home.to_path_buf(),
            api,
            token,
        }
    }

    pub fn client(&self) -> RpcManager {
        RpcManager::new(
            &self.api,
            Some(&self.token),
            self.home.join("client-pieces"),
        )
        .unwrap()
    }

    pub fn util(&self, args: &[&str]) -> Output {
        Command::new(MANAGER)
            .arg("--home")
            .arg(&self.home)
            .arg("util")
            .args(args)
            .output()
            .unwrap()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ManagerProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A child process killed when the test ends; its log is printed if the test failed.
pub struct Guard {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- {}:\n{}",
                self.log.display(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}
