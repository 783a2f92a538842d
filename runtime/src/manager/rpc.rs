//! The manager's second door: HTTP JSON-RPC 2.0 in front of any [`SectorManager`], speaking the
//! established `Venus.*` API (method names, positional parameters, PascalCase types; see
//! `types.rs` and shared/reference section 6). `venus-sector-manager daemon` serves the
//! [`LocalManager`](super::local::LocalManager) through it, so the embedded manager and the service
//! are one implementation.
//!
//! The HTTP side:
//! - `POST /rpc/v0` (the established path) and `POST /`: JSON-RPC.
//! - `GET /piecestore/<piece cid>`: the bytes of a deal piece (the established worker downloads
//!   deal pieces from `<manager origin>/piecestore/<cid>`).
//! - Every request must carry `Authorization: Bearer <token>`; anything else is answered
//!   `401 Unauthorized` with a plain-text reason, before any method runs.
//!
//! Like go-jsonrpc, a method takes exactly its number of positional parameters (named parameters
//! and a wrong count are "invalid params"), and manager errors are code 1 except "sector state not
//! found", which is [`SECTOR_STATE_NOT_FOUND`](super::SECTOR_STATE_NOT_FOUND) (11001).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use anyhow::{bail, ensure, Context, Result};
use bytes::Bytes;
use http::{header, Method, StatusCode};
use jsonrpsee::core::BoxError;
use jsonrpsee::server::{
    serve_with_graceful_shutdown, stop_channel, HttpBody, HttpResponse, Methods, RpcModule, Server,
    ServerConfig, ServerHandle,
};
use jsonrpsee::types::{ErrorObjectOwned, Params};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tracing::{debug, warn};

use super::{ManagerAdmin, ManagerError, SectorManager};
use crate::types::*;

/// The method names, as the established API spells them.
pub mod method {
    pub const ALLOCATE_SECTOR: &str = "Venus.AllocateSector";
    pub const ACQUIRE_DEALS: &str = "Venus.AcquireDeals";
    pub const ASSIGN_TICKET: &str = "Venus.AssignTicket";
    pub const SUBMIT_PRE_COMMIT: &str = "Venus.SubmitPreCommit";
    pub const POLL_PRE_COMMIT_STATE: &str = "Venus.PollPreCommitState";
    pub const SUBMIT_PERSISTED_EX: &str = "Venus.SubmitPersistedEx";
    pub const WAIT_SEED: &str = "Venus.WaitSeed";
    pub const SUBMIT_PROOF: &str = "Venus.SubmitProof";
    pub const POLL_PROOF_STATE: &str = "Venus.PollProofState";
    pub const REPORT_STATE: &str = "Venus.ReportState";
    pub const REPORT_FINALIZED: &str = "Venus.ReportFinalized";
    pub const REPORT_ABORTED: &str = "Venus.ReportAborted";
    /// The established spelling ("Sanp"), kept for compatibility with existing workers.
    pub const ALLOCATE_SNAPUP_SECTOR: &str = "Venus.AllocateSanpUpSector";
    /// Also accepted by our server (an alias of [`ALLOCATE_SNAPUP_SECTOR`]); never sent.
    pub const ALLOCATE_SNAPUP_SECTOR_ALIAS: &str = "Venus.AllocateSnapUpSector";
    pub const SUBMIT_SNAPUP_PROOF: &str = "Venus.SubmitSnapUpProof";
    pub const STORE_RESERVE_SPACE: &str = "Venus.StoreReserveSpace";
    pub const STORE_BASIC_INFO: &str = "Venus.StoreBasicInfo";
    pub const WORKER_PING: &str = "Venus.WorkerPing";
    // Operator methods (the manager's own tools): the ping registry as the established manager
    // exposes it, and our manager-side sector actions.
    pub const WORKER_GET_PING_INFO: &str = "Venus.WorkerGetPingInfo";
    pub const WORKER_PING_INFO_LIST: &str = "Venus.WorkerPingInfoList";
    pub const SECTOR_ABORT: &str = "Venus.SectorAbort";
    pub const SECTORS_LIST: &str = "Venus.SectorsList";
}

/// JSON-RPC error code of a generic manager error (go-jsonrpc's default for method errors).
pub const GENERIC_ERROR: i32 = 1;
const INVALID_PARAMS: i32 = -32602;

/// The TCP peer of the HTTP request, handed to methods through the request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// What the methods work on.
pub struct ManagerCtx {
    mgr: Arc<dyn SectorManager>,
    admin: Option<Arc<dyn ManagerAdmin>>,
}

impl ManagerCtx {
    fn admin(&self) -> Result<&Arc<dyn ManagerAdmin>, ErrorObjectOwned> {
        self.admin.as_ref().ok_or_else(|| {
            ErrorObjectOwned::owned(
                -32601,
                "this manager does not offer operator methods",
                None::<()>,
            )
        })
    }
}

fn invalid(msg: String) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(INVALID_PARAMS, msg, None::<()>)
}

fn to_rpc_error(e: ManagerError) -> ErrorObjectOwned {
    let code = e
        .code
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or(GENERIC_ERROR);
    ErrorObjectOwned::owned(code, e.message, None::<()>)
}

/// The positional parameters of a call, exactly `n` of them.
fn positional(p: &Params<'_>, method: &str, n: usize) -> Result<Vec<Value>, ErrorObjectOwned> {
    let vals: Vec<Value> = match p.as_str() {
        None => Vec::new(),
        Some(_) => p.parse().map_err(|_| {
            invalid(format!(
                "{method}: params must be a JSON array (positional parameters)"
            ))
        })?,
    };
    if vals.len() != n {
        return Err(invalid(format!(
            "{method}: wrong param count: expected {n} positional params, got {}",
            vals.len()
        )));
    }
    Ok(vals)
}

fn arg<T: DeserializeOwned>(
    it: &mut std::vec::IntoIter<Value>,
    method: &str,
    name: &str,
) -> Result<T, ErrorObjectOwned> {
    let v = it.next().unwrap_or(Value::Null);
    serde_json::from_value(v).map_err(|e| invalid(format!("{method}: param {name}: {e}")))
}

macro_rules! count {
    () => (0usize);
    ($h:ident $($t:ident)*) => (1usize + count!($($t)*));
}

/// Register an async method taking positional params `$arg: $ty`, calling `$body` with the
/// context in `$ctx` and the request's extensions in `$ext`.
macro_rules! register {
    ($module:expr, $name:expr, |$ctx:ident, $ext:ident $(, $arg:ident : $ty:ty)*| $body:expr) => {{
        $module.register_async_method($name, |params, ctx, ext| async move {
            #[allow(unused_mut, unused_variables)]
            let mut it = positional(&params, $name, count!($($arg)*))?.into_iter();
            $(let $arg: $ty = arg(&mut it, $name, stringify!($arg))?;)*
            #[allow(unused_variables)]
            let $ext = ext;
            let $ctx: Arc<ManagerCtx> = ctx;
            $body
        })?;
    }};
}

/// The `Venus.*` methods over `mgr` (and the operator methods over `admin`, when given).
pub fn module(
    mgr: Arc<dyn SectorManager>,
    admin: Option<Arc<dyn ManagerAdmin>>,
) -> Result<RpcModule<ManagerCtx>> {
    use method::*;
    let mut m = RpcModule::new(ManagerCtx { mgr, admin });
    register!(m, ALLOCATE_SECTOR, |c, _e, spec: AllocateSectorSpec| {
        c.mgr.allocate_sector(spec).await.map_err(to_rpc_error)
    });
    register!(
        m,
        ACQUIRE_DEALS,
        |c, _e, id: SectorId, spec: AcquireDealsSpec| {
            c.mgr.acquire_deals(id, spec).await.map_err(to_rpc_error)
        }
    );
    register!(m, ASSIGN_TICKET, |c, _e, id: SectorId| {
        c.mgr.assign_ticket(id).await.map_err(to_rpc_error)
    });
    register!(
        m,
        SUBMIT_PRE_COMMIT,
        |c, _e, sector: AllocatedSector, info: PreCommitOnChainInfo, reset: bool| {
            c.mgr
                .submit_pre_commit(sector, info, reset)
                .await
                .map_err(to_rpc_error)
        }
    );
    register!(m, POLL_PRE_COMMIT_STATE, |c, _e, id: SectorId| {
        c.mgr.poll_pre_commit_state(id).await.map_err(to_rpc_error)
    });
    register!(
        m,
        SUBMIT_PERSISTED_EX,
        |c, _e, id: SectorId, instance: String, is_upgrade: bool| {
            c.mgr
                .submit_persisted_ex(id, instance, is_upgrade)
                .await
                .map_err(to_rpc_error)
        }
    );
    register!(
        m,
        WAIT_SEED,
        |c, _e, id: SectorId, proof_type: SealProof| {
            c.mgr.wait_seed(id, proof_type).await.map_err(to_rpc_error)
        }
    );
    register!(
        m,
        SUBMIT_PROOF,
        |c, _e, id: SectorId, info: ProofOnChainInfo, reset: bool| {
            c.mgr
                .submit_proof(id, info, reset)
                .await
                .map_err(to_rpc_error)
        }
    );
    register!(m, POLL_PROOF_STATE, |c, _e, id: SectorId| {
        c.mgr.poll_proof_state(id).await.map_err(to_rpc_error)
    });
    register!(
        m,
        REPORT_STATE,
        |c, _e, id: SectorId, req: ReportStateReq| {
            c.mgr.report_state(id, req).await.map_err(to_rpc_error)
        }
    );
    register!(m, REPORT_FINALIZED, |c, _e, id: SectorId| {
        c.mgr.report_finalized(id).await.map_err(to_rpc_error)
    });
    register!(m, REPORT_ABORTED, |c, _e, id: SectorId, reason: String| {
        c.mgr.report_aborted(id, reason).await.map_err(to_rpc_error)
    });
    register!(
        m,
        ALLOCATE_SNAPUP_SECTOR,
        |c, _e, spec: AllocateSnapUpSpec| {
            c.mgr
                .allocate_snapup_sector(spec)
                .await
                .map_err(to_rpc_error)
        }
    );
    m.register_alias(ALLOCATE_SNAPUP_SECTOR_ALIAS, ALLOCATE_SNAPUP_SECTOR)?;
    register!(
        m,
        SUBMIT_SNAPUP_PROOF,
        |c, _e, id: SectorId, info: SnapUpOnChainInfo| {
            c.mgr
                .submit_snapup_proof(id, info)
                .await
                .map_err(to_rpc_error)
        }
    );
    register!(
        m,
        STORE_RESERVE_SPACE,
        |c, _e, id: SectorId, size: u64, candidates: Vec<String>| {
            c.mgr
                .store_reserve_space(id, size, candidates)
                .await
                .map_err(to_rpc_error)
        }
    );
    register!(m, STORE_BASIC_INFO, |c, _e, instance: String| {
        c.mgr.store_basic_info(instance).await.map_err(to_rpc_error)
    });
    register!(m, WORKER_PING, |c, e, info: WorkerPingInfo| {
        let mut info = info;
        // A worker that listens on every interface (0.0.0.0:17890) announces an address nobody
        // can dial: use the address it reached us from, as the established manager does.
        if let Some(PeerAddr(peer)) = e.get::<PeerAddr>() {
            info.dest = dialable_dest(&info.dest, peer.ip());
        }
        c.mgr.worker_ping(info).await.map_err(to_rpc_error)
    });
    register!(m, WORKER_GET_PING_INFO, |c, _e, name: String| {
        c.admin()?.worker_get(name).await.map_err(to_rpc_error)
    });
    register!(m, WORKER_PING_INFO_LIST, |c, _e| {
        c.admin()?.workers_list().await.map_err(to_rpc_error)
    });
    register!(m, SECTOR_ABORT, |c, _e, id: SectorId, reason: String| {
        c.admin()?
            .sectors_abort(id, reason)
            .await
            .map_err(to_rpc_error)
    });
    register!(m, SECTORS_LIST, |c, _e| {
        c.admin()?.sectors_list().await.map_err(to_rpc_error)
    });
    Ok(m)
}

/// `dest` with an unspecified or missing host replaced by `peer`.
fn dialable_dest(dest: &str, peer: std::net::IpAddr) -> String {
    let (host, port) = match dest.rsplit_once(':') {
        Some((h, p)) => (h.trim_matches(|c| c == '[' || c == ']'), p),
        None => return dest.to_string(),
    };
    let unspecified = host.is_empty()
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_unspecified());
    if !unspecified {
        return dest.to_string();
    }
    match peer {
        std::net::IpAddr::V4(ip) => format!("{ip}:{port}"),
        std::net::IpAddr::V6(ip) => format!("[{ip}]:{port}"),
    }
}

/// A running manager API server.
pub struct ManagerServer {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    handle: ServerHandle,
    task: tokio::task::JoinHandle<()>,
}

impl ManagerServer {
    /// `http://<addr>/rpc/v0`, as workers and tools dial it.
    pub fn url(&self) -> String {
        format!("http://{}/rpc/v0", dial_addr(self.addr))
    }

    /// The multiaddr form of the address (`/ip4/127.0.0.1/tcp/1789/http`), for `rpc_client.addr`.
    pub fn multiaddr(&self) -> String {
        let a = dial_addr(self.addr);
        match a {
            SocketAddr::V4(v4) => format!("/ip4/{}/tcp/{}/http", v4.ip(), v4.port()),
            SocketAddr::V6(v6) => format!("/ip6/{}/tcp/{}/http", v6.ip(), v6.port()),
        }
    }

    /// Stop accepting, let open connections finish, and wait for the server task.
    pub async fn stop(self) {
        let _ = self.handle.stop();
        let _ = self.task.await;
    }
}

/// Where a local client reaches a server bound to `addr` (0.0.0.0 → 127.0.0.1).
fn dial_addr(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => SocketAddr::from(([127, 0, 0, 1], addr.port())),
            SocketAddr::V6(_) => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port())),
        }
    } else {
        addr
    }
}

struct Door {
    token: String,
    loopback_without_token: bool,
    mgr: Arc<dyn SectorManager>,
}

/// Who may call the API.
#[derive(Clone, Debug)]
pub struct Access {
    /// The bearer token every caller must present.
    pub token: String,
    /// Let callers on this machine (loopback peers) in without the token. Off by default; it is
    /// the way to serve established workers on the manager's own machine, which send no token.
    pub loopback_without_token: bool,
}

/// Serve `mgr` (and `admin`) on `listen`, requiring `token` from every caller.
pub async fn serve(
    mgr: Arc<dyn SectorManager>,
    admin: Option<Arc<dyn ManagerAdmin>>,
    listen: &str,
    token: String,
) -> Result<ManagerServer> {
    serve_with(
        mgr,
        admin,
        listen,
        Access {
            token,
            loopback_without_token: false,
        },
    )
    .await
}

/// Serve `mgr` (and `admin`) on `listen` with the given access rule.
pub async fn serve_with(
    mgr: Arc<dyn SectorManager>,
    admin: Option<Arc<dyn ManagerAdmin>>,
    listen: &str,
    access: Access,
) -> Result<ManagerServer> {
    ensure!(
        !access.token.trim().is_empty(),
        "the manager API needs a non-empty token"
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding the manager API on {listen}"))?;
    let addr = listener.local_addr()?;
    let methods: Methods = module(mgr.clone(), admin)?.into();
    let (stop_handle, handle) = stop_channel();
    let builder = Server::builder()
        // Requests in flight at once (jsonrpsee counts them per request, default 100): many
        // workers' threads and tools may call together; excess ones would get HTTP 429.
        .set_config(
            ServerConfig::builder()
                .http_only()
                .max_connections(4096)
                .build(),
        )
        .to_service_builder();
    let door = Arc::new(Door {
        token: access.token.trim().to_string(),
        loopback_without_token: access.loopback_without_token,
        mgr,
    });
    let task = tokio::spawn(async move {
        loop {
            let (sock, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(s) => s,
                    Err(e) => {
                        warn!(error = %e, "manager API: accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                },
                _ = stop_handle.clone().shutdown() => break,
            };
            let rpc = builder.clone().build(methods.clone(), stop_handle.clone());
            let door = door.clone();
            let svc = tower::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                let door = door.clone();
                let rpc = rpc.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(match door.handle(req, peer, rpc).await {
                        Ok(r) => r,
                        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
                    })
                }
            });
            let stopped = stop_handle.clone().shutdown();
            tokio::spawn(async move {
                if let Err(e) = serve_with_graceful_shutdown(sock, svc, stopped).await {
                    debug!(%peer, error = %e, "manager API connection ended");
                }
            });
        }
    });
    Ok(ManagerServer { addr, handle, task })
}

fn text(status: StatusCode, msg: impl Into<String>) -> HttpResponse {
    let mut r = HttpResponse::new(HttpBody::from(format!("{}\n", msg.into())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Compare without an early exit, so timing does not leak how much of a guess was right.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Door {
    fn check_token(&self, headers: &http::HeaderMap) -> Result<(), &'static str> {
        let Some(v) = headers.get(header::AUTHORIZATION) else {
            return Err("missing token: this venus-sector-manager requires `Authorization: Bearer <token>` \
                 (workers: set [sector_manager] token; the token is printed by the manager at start)");
        };
        let v = v.to_str().unwrap_or_default().trim();
        let given = match v.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => t.trim(),
            _ => return Err("malformed Authorization header: expected `Bearer <token>`"),
        };
        if same_secret(given.as_bytes(), self.token.as_bytes()) {
            Ok(())
        } else {
            Err("wrong token: the bearer token is not this manager's token")
        }
    }

    async fn handle<S>(
        &self,
        mut req: http::Request<hyper::body::Incoming>,
        peer: SocketAddr,
        rpc: S,
    ) -> Result<HttpResponse, BoxError>
    where
        S: tower::Service<
            http::Request<hyper::body::Incoming>,
            Response = HttpResponse,
            Error = BoxError,
        >,
    {
        // A caller on this machine that sends no token at all, when allowed; a token that is
        // sent is always checked (a wrong one is a misconfiguration worth reporting).
        let local_pass = self.loopback_without_token
            && peer.ip().is_loopback()
            && !req.headers().contains_key(header::AUTHORIZATION);
        let checked = if local_pass {
            Ok(())
        } else {
            self.check_token(req.headers())
        };
        if let Err(why) = checked {
            warn!(%peer, path = req.uri().path(), "manager API: refused: {why}");
            let mut r = text(StatusCode::UNAUTHORIZED, why);
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer"),
            );
            return Ok(r);
        }
        let path = req.uri().path().to_string();
        let is_rpc = matches!(path.as_str(), "/" | "/rpc/v0" | "/rpc/v0/");
        match (req.method().clone(), path.strip_prefix("/piecestore/")) {
            (Method::GET, Some(cid)) => Ok(self.piece(cid).await),
            (Method::POST, _) if is_rpc => {
                req.extensions_mut().insert(PeerAddr(peer));
                tower::ServiceExt::oneshot(rpc, req).await
            }
            _ if is_rpc => Ok(text(
                StatusCode::METHOD_NOT_ALLOWED,
                "the JSON-RPC API takes POST requests",
            )),
            _ => Ok(text(
                StatusCode::NOT_FOUND,
                format!(
                    "{path}: not found (the JSON-RPC API is at /rpc/v0, pieces at /piecestore/<piece cid>)"
                ),
            )),
        }
    }

    async fn piece(&self, cid: &str) -> HttpResponse {
        if !is_cid_text(cid) {
            return text(StatusCode::BAD_REQUEST, format!("{cid:?} is not a CID"));
        }
        let path = match self
            .mgr
            .piece_path(&Cid {
                root: cid.to_string(),
            })
            .await
        {
            Ok(Some(p)) => p,
            Ok(None) => return text(StatusCode::NOT_FOUND, format!("piece {cid} not found")),
            Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        match FileBody::open(&path).await {
            Ok((body, len)) => {
                let mut r = HttpResponse::new(HttpBody::new(body));
                r.headers_mut().insert(header::CONTENT_LENGTH, len.into());
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("application/octet-stream"),
                );
                r
            }
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("reading piece {cid}: {e}"),
            ),
        }
    }
}

/// A CID in its text form: base32/base58 characters only (never a path).
pub fn is_cid_text(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A file streamed as an HTTP body, 64 KiB at a time.
struct FileBody {
    file: tokio::fs::File,
    buf: Box<[u8]>,
}

impl FileBody {
    async fn open(path: &Path) -> std::io::Result<(Self, u64)> {
        let file = tokio::fs::File::open(path).await?;
        let len = file.metadata().await?.len();
        Ok((
            FileBody {
                file,
                buf: vec![0u8; 64 * 1024].into_boxed_slice(),
            },
            len,
        ))
    }
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, std::io::Error>>> {
        use tokio::io::AsyncRead;
        let this = self.get_mut();
        let mut rb = tokio::io::ReadBuf::new(&mut this.buf);
        match Pin::new(&mut this.file).poll_read(cx, &mut rb) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) if rb.filled().is_empty() => Poll::Ready(None),
            Poll::Ready(Ok(())) => Poll::Ready(Some(Ok(http_body::Frame::data(
                Bytes::copy_from_slice(rb.filled()),
            )))),
        }
    }
}

/// The manager's token: `token` given (and then also written to the file), else the one in
/// `<home>/token`, else a new random one written there (mode 0600). Returns the token and its file.
pub fn load_or_create_token(home: &Path, given: Option<&str>) -> Result<(String, PathBuf)> {
    let path = home.join("token");
    if let Some(t) = given {
        let t = t.trim();
        ensure!(!t.is_empty(), "--token is empty");
        write_private(&path, t)?;
        return Ok((t.to_string(), path));
    }
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => return Ok((t.trim().to_string(), path)),
        Ok(_) => bail!(
            "the token file {} is empty: delete it to have a new token generated",
            path.display()
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut b);
    let t = hex::encode(b);
    write_private(&path, &t)?;
    Ok((t, path))
}

fn write_private(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("partial");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(format!("{content}\n").as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_dest_hosts_are_replaced_by_the_peer() {
        let peer: std::net::IpAddr = "10.0.0.7".parse().unwrap();
        assert_eq!(dialable_dest("0.0.0.0:17890", peer), "10.0.0.7:17890");
        assert_eq!(dialable_dest(":17890", peer), "10.0.0.7:17890");
        assert_eq!(dialable_dest("[::]:17890", peer), "10.0.0.7:17890");
        assert_eq!(
            dialable_dest("192.168.1.2:17890", peer),
            "192.168.1.2:17890"
        );
        assert_eq!(dialable_dest("worker-a:17890", peer), "worker-a:17890");
    }

    #[test]
    fn token_file_is_private_and_stable() {
        let d = tempfile::tempdir().unwrap();
        let (t1, p) = load_or_create_token(d.path(), None).unwrap();
        assert_eq!(t1.len(), 64);
        let (t2, _) = load_or_create_token(d.path(), None).unwrap();
        assert_eq!(t1, t2);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (t3, _) = load_or_create_token(d.path(), Some("given")).unwrap();
        assert_eq!(t3, "given");
        assert_eq!(load_or_create_token(d.path(), None).unwrap().0, "given");
    }

    #[test]
    fn cid_text_excludes_paths() {
        assert!(is_cid_text("baga6ea4seaqabc"));
        assert!(!is_cid_text("../manager.sqlite"));
        assert!(!is_cid_text("a/b"));
        assert!(!is_cid_text(""));
    }
}
