//! The worker's client of a remote `venus-sector-manager` (or of any manager speaking the
//! established `Venus.*` JSON-RPC API): selected by `[sector_manager] rpc_client.addr`.
//!
//! - Address: a multiaddr (`/ip4/127.0.0.1/tcp/1789`, `/dns/host/tcp/1789/http`) or a URL
//!   (`http://host:1789`); JSON-RPC goes to `<origin>/rpc/v0` unless the URL names a path.
//! - Token: sent as `Authorization: Bearer <token>` on every request (`[sector_manager] token`).
//! - Errors: JSON-RPC errors keep their code (11001 = the manager no longer knows the sector, which
//!   aborts the task). Like the established worker's client, a JSON-RPC reply is read whatever the
//!   HTTP status (go-jsonrpc answers errors with status 500). Transport problems and a refused token
//!   become messages that say what to check.
//! - Deal pieces: `GET <origin>/piecestore/<cid>` into a local cache directory, once per piece.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};
use async_trait::async_trait;
use bytes::Bytes;
use http::{header, StatusCode};
use http_body_util::BodyExt;
use jsonrpsee::core::client::{ClientT, Error as RpcError};
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::core::BoxError;
use jsonrpsee::http_client::transport::{Error as TransportError, HttpBackend};
use jsonrpsee::http_client::{HeaderMap, HeaderValue, HttpClient, HttpClientBuilder, RpcService};
use jsonrpsee::rpc_params;
use serde::de::DeserializeOwned;
use tokio::io::AsyncWriteExt;

use super::rpc::{is_cid_text, method};
use super::{MResult, ManagerAdmin, ManagerError, SectorManager};
use crate::types::*;

type Rpc = HttpClient<RpcService<Tolerant<HttpBackend>>>;
type Http = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Empty<Bytes>,
>;

/// Where a manager is: its HTTP origin and its JSON-RPC URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagerAddr {
    /// `http://host:port`
    pub origin: String,
    /// `http://host:port/rpc/v0` (or the path a URL named)
    pub rpc_url: String,
}

/// Parse `rpc_client.addr`: a multiaddr, a URL, or `host:port`.
pub fn parse_manager_addr(addr: &str) -> Result<ManagerAddr> {
    let addr = addr.trim();
    let no_tls = |a: &str| {
        anyhow::anyhow!(
            "manager address {a:?}: https is not supported by this build; \
             reach the manager over plain http on a trusted network (or through a tunnel)"
        )
    };
    if let Some(rest) = addr.strip_prefix('/') {
        let parts: Vec<&str> = rest.split('/').collect();
        let (host, port, tail) = match parts.as_slice() {
            [proto, host, "tcp", port, tail @ ..] => {
                let host = match *proto {
                    "ip4" | "dns" | "dns4" | "dns6" => host.to_string(),
                    "ip6" => format!("[{host}]"),
                    other => bail!(
                        "manager address {addr:?}: unsupported protocol /{other} (expected /ip4, /ip6, /dns, /dns4 or /dns6)"
                    ),
                };
                (host, *port, tail)
            }
            _ => bail!(
                "manager address {addr:?} is not a multiaddr of the form /ip4/<host>/tcp/<port>[/http]"
            ),
        };
        let port: u16 = port
            .parse()
            .map_err(|_| anyhow::anyhow!("manager address {addr:?}: bad port {port:?}"))?;
        match tail {
            [] | ["http"] => {}
            ["https"] => return Err(no_tls(addr)),
            _ => bail!("manager address {addr:?}: unexpected /{}", tail.join("/")),
        }
        let origin = format!("http://{host}:{port}");
        return Ok(ManagerAddr {
            rpc_url: format!("{origin}/rpc/v0"),
            origin,
        });
    }
    if addr.starts_with("https://") {
        return Err(no_tls(addr));
    }
    let rest = addr.strip_prefix("http://").unwrap_or(addr);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    ensure!(
        !authority.is_empty() && authority.contains(':'),
        "manager address {addr:?}: expected a multiaddr (/ip4/127.0.0.1/tcp/1789) or a URL with a port (http://127.0.0.1:1789)"
    );
    let origin = format!("http://{authority}");
    let rpc_url = match path {
        "" | "/" => format!("{origin}/rpc/v0"),
        p => format!("{origin}{p}"),
    };
    Ok(ManagerAddr { origin, rpc_url })
}

/// The JSON-RPC client of a remote manager.
pub struct RpcManager {
    rpc: Rpc,
    addr: ManagerAddr,
    token: Option<String>,
    piece_cache: PathBuf,
    http: Http,
}

impl RpcManager {
    /// A client of the manager at `addr`, sending `token`, caching deal pieces in `piece_cache`.
    /// Nothing is dialled yet.
    pub fn new(addr: &str, token: Option<&str>, piece_cache: PathBuf) -> Result<Self> {
        let addr = parse_manager_addr(addr)?;
        let token = token
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        let mut headers = HeaderMap::new();
        if let Some(t) = &token {
            headers.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {t}"))
                    .context("the manager token contains characters not allowed in a header")?,
            );
        }
        let rpc = HttpClientBuilder::new()
            .set_headers(headers)
            .request_timeout(Duration::from_secs(300))
            .connect_timeout(Duration::from_secs(10))
            .set_rpc_middleware(jsonrpsee::http_client::RpcServiceBuilder::new())
            .set_http_middleware(tower::ServiceBuilder::new().layer(TolerantLayer))
            .build(&addr.rpc_url)
            .with_context(|| format!("sector manager client for {}", addr.rpc_url))?;
        let http =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        Ok(RpcManager {
            rpc,
            addr,
            token,
            piece_cache,
            http,
        })
    }

    pub fn url(&self) -> &str {
        &self.addr.rpc_url
    }

    fn map_err(&self, e: RpcError) -> ManagerError {
        let url = &self.addr.rpc_url;
        match e {
            RpcError::Call(obj) => ManagerError {
                code: Some(obj.code() as i64),
                message: obj.message().to_string(),
            },
            RpcError::Transport(t) => ManagerError::new(transport_message(url, &t)),
            RpcError::RequestTimeout => ManagerError::new(format!("no answer from {url} in time")),
            RpcError::ParseError(e) => ManagerError::new(format!(
                "{url} answered something this client cannot read: {e}"
            )),
            other => ManagerError::new(format!("{url}: {other}")),
        }
    }

    async fn call<R: DeserializeOwned>(&self, method: &str, params: ArrayParams) -> MResult<R> {
        self.rpc
            .request(method, params)
            .await
            .map_err(|e| self.map_err(e))
    }

    /// Check at startup that the manager is reachable, accepts our token, and knows every store
    /// in `names` (the established worker refuses to start otherwise).
    pub async fn check_stores(&self, names: &[String]) -> Result<()> {
        for name in names {
            match self.store_basic_info(name.clone()).await {
                Ok(Some(_)) => {}
                Ok(None) => bail!(
                    "the sector manager at {} does not know the persist store {name:?} \
                     ([[attached]] in this worker's config): register it on the manager \
                     (venus-sector-manager daemon --store {name}=<path>) or fix the name",
                    self.addr.rpc_url
                ),
                Err(e) => return Err(anyhow::anyhow!("{}", e.message)),
            }
        }
        Ok(())
    }

    async fn fetch_piece(&self, cid: &Cid) -> MResult<Option<PathBuf>> {
        if !is_cid_text(&cid.root) {
            return Err(ManagerError::new(format!(
                "{:?} is not a piece CID",
                cid.root
            )));
        }
        let dest = self.piece_cache.join(&cid.root);
        if dest.is_file() {
            return Ok(Some(dest));
        }
        let url = format!("{}/piecestore/{}", self.addr.origin, cid.root);
        let io = |what: &str, e: std::io::Error| {
            ManagerError::new(format!("downloading piece {}: {what}: {e}", cid.root))
        };
        tokio::fs::create_dir_all(&self.piece_cache)
            .await
            .map_err(|e| io(&format!("creating {}", self.piece_cache.display()), e))?;
        let mut req = http::Request::get(&url);
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let req = req
            .body(http_body_util::Empty::<Bytes>::new())
            .map_err(|e| ManagerError::new(format!("piece request {url}: {e}")))?;
        let resp = self.http.request(req).await.map_err(|e| {
            ManagerError::new(format!(
                "cannot reach {} to download piece {}: {e}",
                self.addr.origin, cid.root
            ))
        })?;
        match resp.status() {
            StatusCode::OK => {}
            StatusCode::NOT_FOUND => return Ok(None),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(ManagerError::new(format!(
                    "{url} refused the piece download: {}",
                    token_hint(self.token.is_some())
                )))
            }
            s if s.is_redirection() => {
                return Err(ManagerError::new(format!(
                    "the sector manager redirected the download of piece {} to {:?}; fetching from a market \
                     is not supported: put the piece file in a [worker] local_pieces_dirs directory",
                    cid.root,
                    resp.headers().get(header::LOCATION)
                )))
            }
            s => {
                return Err(ManagerError::new(format!(
                    "downloading piece {} from {url}: HTTP {s}",
                    cid.root
                )))
            }
        }
        // Download under a private name, then rename: a reader never sees half a piece, and two
        // threads fetching the same piece do not trip over each other.
        let tmp = self.piece_cache.join(format!(
            ".{}.{}.{}.partial",
            cid.root,
            std::process::id(),
            rand::random::<u32>()
        ));
        let result: MResult<()> = async {
            let mut file = tokio::fs::File::create(&tmp)
                .await
                .map_err(|e| io("creating the cache file", e))?;
            let mut body = resp.into_body();
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| {
                    ManagerError::new(format!("downloading piece {}: {e}", cid.root))
                })?;
                if let Ok(data) = frame.into_data() {
                    file.write_all(&data)
                        .await
                        .map_err(|e| io("writing the cache file", e))?;
                }
            }
            file.sync_all()
                .await
                .map_err(|e| io("syncing the cache file", e))?;
            tokio::fs::rename(&tmp, &dest)
                .await
                .map_err(|e| io("moving the cache file into place", e))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
        }
        result.map(|()| Some(dest))
    }
}

fn token_hint(sent: bool) -> &'static str {
    if sent {
        "the token was refused (HTTP 401): [sector_manager] token must be the manager's token \
         (the `token` file in the manager's home, printed by `venus-sector-manager daemon` at start)"
    } else {
        "it requires a token (HTTP 401): set [sector_manager] token to the manager's token \
         (the `token` file in the manager's home, printed by `venus-sector-manager daemon` at start)"
    }
}

fn transport_message(url: &str, t: &BoxError) -> String {
    match t.downcast_ref::<TransportError>() {
        Some(TransportError::Rejected { status_code: 401 }) => {
            // We cannot tell here whether a token was configured; say both.
            format!(
                "{url} refused the request (HTTP 401: missing or wrong token): \
                 set [sector_manager] token (or --token) to the manager's token, the `token` file in \
                 its home, printed by `venus-sector-manager daemon` at start"
            )
        }
        Some(TransportError::Rejected { status_code }) => {
            format!("{url} answered HTTP {status_code} (is this the manager's API address?)")
        }
        _ => format!(
            "cannot reach {url}: {} (is venus-sector-manager running there, \
             and is the address ([sector_manager] rpc_client.addr, or --api) right?)",
            error_chain(t.as_ref())
        ),
    }
}

fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let m = c.to_string();
        if !s.contains(&m) {
            s.push_str(": ");
            s.push_str(&m);
        }
        cur = c.source();
    }
    s
}

#[async_trait]
impl SectorManager for RpcManager {
    async fn allocate_sector(&self, spec: AllocateSectorSpec) -> MResult<Option<AllocatedSector>> {
        self.call(method::ALLOCATE_SECTOR, rpc_params![spec]).await
    }
    async fn acquire_deals(&self, id: SectorId, spec: AcquireDealsSpec) -> MResult<Option<Deals>> {
        self.call(method::ACQUIRE_DEALS, rpc_params![id, spec])
            .await
    }
    async fn assign_ticket(&self, id: SectorId) -> MResult<Ticket> {
        self.call(method::ASSIGN_TICKET, rpc_params![id]).await
    }
    async fn submit_pre_commit(
        &self,
        sector: AllocatedSector,
        info: PreCommitOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp> {
        self.call(method::SUBMIT_PRE_COMMIT, rpc_params![sector, info, reset])
            .await
    }
    async fn poll_pre_commit_state(&self, id: SectorId) -> MResult<PollStateResp> {
        self.call(method::POLL_PRE_COMMIT_STATE, rpc_params![id])
            .await
    }
    async fn submit_persisted_ex(
        &self,
        id: SectorId,
        instance: String,
        is_upgrade: bool,
    ) -> MResult<bool> {
        self.call(
            method::SUBMIT_PERSISTED_EX,
            rpc_params![id, instance, is_upgrade],
        )
        .await
    }
    async fn wait_seed(&self, id: SectorId, proof_type: SealProof) -> MResult<WaitSeedResp> {
        self.call(method::WAIT_SEED, rpc_params![id, proof_type])
            .await
    }
    async fn submit_proof(
        &self,
        id: SectorId,
        info: ProofOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp> {
        self.call(method::SUBMIT_PROOF, rpc_params![id, info, reset])
            .await
    }
    async fn poll_proof_state(&self, id: SectorId) -> MResult<PollStateResp> {
        self.call(method::POLL_PROOF_STATE, rpc_params![id]).await
    }
    async fn report_state(&self, id: SectorId, req: ReportStateReq) -> MResult<SectorStateResp> {
        self.call(method::REPORT_STATE, rpc_params![id, req]).await
    }
    async fn report_finalized(&self, id: SectorId) -> MResult<()> {
        self.call(method::REPORT_FINALIZED, rpc_params![id]).await
    }
    async fn report_aborted(&self, id: SectorId, reason: String) -> MResult<()> {
        self.call(method::REPORT_ABORTED, rpc_params![id, reason])
            .await
    }
    async fn allocate_snapup_sector(
        &self,
        spec: AllocateSnapUpSpec,
    ) -> MResult<Option<AllocatedSnapUpSector>> {
        self.call(method::ALLOCATE_SNAPUP_SECTOR, rpc_params![spec])
            .await
    }
    async fn submit_snapup_proof(
        &self,
        id: SectorId,
        info: SnapUpOnChainInfo,
    ) -> MResult<SubmitResp> {
        self.call(method::SUBMIT_SNAPUP_PROOF, rpc_params![id, info])
            .await
    }
    async fn store_reserve_space(
        &self,
        id: SectorId,
        size: u64,
        candidates: Vec<String>,
    ) -> MResult<Option<StoreBasicInfo>> {
        self.call(
            method::STORE_RESERVE_SPACE,
            rpc_params![id, size, candidates],
        )
        .await
    }
    async fn store_basic_info(&self, instance: String) -> MResult<Option<StoreBasicInfo>> {
        self.call(method::STORE_BASIC_INFO, rpc_params![instance])
            .await
    }
    async fn worker_ping(&self, info: WorkerPingInfo) -> MResult<()> {
        self.call(method::WORKER_PING, rpc_params![info]).await
    }
    async fn piece_path(&self, cid: &Cid) -> MResult<Option<PathBuf>> {
        self.fetch_piece(cid).await
    }
}

#[async_trait]
impl ManagerAdmin for RpcManager {
    async fn workers_list(&self) -> MResult<Vec<WorkerPingRecord>> {
        self.call(method::WORKER_PING_INFO_LIST, rpc_params![])
            .await
    }
    async fn worker_get(&self, name: String) -> MResult<Option<WorkerPingRecord>> {
        self.call(method::WORKER_GET_PING_INFO, rpc_params![name])
            .await
    }
    async fn sectors_abort(&self, id: SectorId, reason: String) -> MResult<()> {
        self.call(method::SECTOR_ABORT, rpc_params![id, reason])
            .await
    }
    async fn sectors_list(&self) -> MResult<Vec<super::local::SectorSummary>> {
        self.call(method::SECTORS_LIST, rpc_params![]).await
    }
}

/// HTTP middleware of the client: a JSON-RPC reply is a reply whatever its HTTP status (go-jsonrpc
/// sends errors, 11001 included, with status 500). Other non-2xx answers stay errors.
#[derive(Clone, Copy, Debug)]
pub struct TolerantLayer;

impl<S> tower::Layer<S> for TolerantLayer {
    type Service = Tolerant<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Tolerant(inner)
    }
}

#[derive(Clone, Debug)]
pub struct Tolerant<S>(S);

type HttpRequest = jsonrpsee::core::http_helpers::Request;
type HttpResponse = jsonrpsee::core::http_helpers::Response;
type HttpBody = jsonrpsee::core::http_helpers::Body;

impl<S, B> tower::Service<HttpRequest> for Tolerant<S>
where
    S: tower::Service<HttpRequest, Response = http::Response<B>, Error = TransportError>
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + Unpin + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: HttpRequest) -> Self::Future {
        let fut = self.0.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            if resp.status().is_success() {
                return Ok(resp.map(HttpBody::new));
            }
            let (mut parts, body) = resp.into_parts();
            let status = parts.status.as_u16();
            let Ok(collected) = body.collect().await else {
                return Err(TransportError::Rejected {
                    status_code: status,
                });
            };
            let bytes = collected.to_bytes();
            if !is_jsonrpc_reply(&bytes) {
                return Err(TransportError::Rejected {
                    status_code: status,
                });
            }
            parts.status = StatusCode::OK;
            parts.headers.remove(header::CONTENT_LENGTH);
            Ok(http::Response::from_parts(
                parts,
                HttpBody::from(bytes.to_vec()),
            ))
        })
    }
}

fn is_jsonrpc_reply(body: &[u8]) -> bool {
    let one = |v: &serde_json::Value| {
        v.get("jsonrpc").is_some() && (v.get("result").is_some() || v.get("error").is_some())
    };
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Array(a)) => !a.is_empty() && a.iter().all(one),
        Ok(v) => one(&v),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let a = parse_manager_addr("/ip4/127.0.0.1/tcp/1789").unwrap();
        assert_eq!(a.origin, "http://127.0.0.1:1789");
        assert_eq!(a.rpc_url, "http://127.0.0.1:1789/rpc/v0");
        let a = parse_manager_addr("/dns/manager.lan/tcp/1789/http").unwrap();
        assert_eq!(a.rpc_url, "http://manager.lan:1789/rpc/v0");
        let a = parse_manager_addr("/ip6/::1/tcp/1789").unwrap();
        assert_eq!(a.rpc_url, "http://[::1]:1789/rpc/v0");
        let a = parse_manager_addr("http://10.0.0.1:1789").unwrap();
        assert_eq!(a.rpc_url, "http://10.0.0.1:1789/rpc/v0");
        let a = parse_manager_addr("http://10.0.0.1:1789/").unwrap();
        assert_eq!(a.rpc_url, "http://10.0.0.1:1789/rpc/v0");
        let a = parse_manager_addr("http://10.0.0.1:1789/custom/rpc").unwrap();
        assert_eq!(a.rpc_url, "http://10.0.0.1:1789/custom/rpc");
        assert_eq!(a.origin, "http://10.0.0.1:1789");
        let a = parse_manager_addr("127.0.0.1:1789").unwrap();
        assert_eq!(a.rpc_url, "http://127.0.0.1:1789/rpc/v0");
        for bad in [
            "/ip4/127.0.0.1/udp/1789",
            "/ip4/127.0.0.1/tcp/x",
            "/unix/tmp/sock",
            "manager",
        ] {
            assert!(parse_manager_addr(bad).is_err(), "{bad}");
        }
        let e = parse_manager_addr("/ip4/127.0.0.1/tcp/1789/https").unwrap_err();
        assert!(e.to_string().contains("https is not supported"), "{e}");
    }

    #[test]
    fn jsonrpc_replies_are_recognised() {
        assert!(is_jsonrpc_reply(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":11001,"message":"x"}}"#
        ));
        assert!(is_jsonrpc_reply(
            br#"{"jsonrpc":"2.0","id":1,"result":null}"#
        ));
        assert!(!is_jsonrpc_reply(b"wrong token"));
        assert!(!is_jsonrpc_reply(br#"{"error":"x"}"#));
    }
}
