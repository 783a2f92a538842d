//! Benchmarks 1, 4 and 5 of docs/benchmarks.md, and the table of all five.
//!
//! 1. End-to-end overhead: the same 2KiB sector sealed (a) by the worker (library API, in process:
//!    `Worker` with one thread, the embedded manager, every transition fsync'd) and (b) by a bare
//!    sequence of the same proof calls (`RealProofs`); a/b pairs alternate in one process (odd
//!    pairs run b first), ratio per pair and median. Same for snapup. The worker's own time is
//!    also measured directly: wall time minus the time spent inside the proof calls of the plan.
//! 4. Scale: 1, 2, 4, 8 sealer threads, one task each, real proofs, each count in a child process
//!    (so that its peak memory is its own): sectors per hour, peak memory, and the `c2` stage
//!    limit checked by sampling every 10 ms. Also with FakeProofs (the worker alone), labelled so.
//! 5. Start-up: a child process with 1, 8 and 64 idle threads (the embedded manager has
//!    `max_sectors = 0`): time until every thread has asked for work and been told there is none,
//!    and memory; the memory of an idle thread is the slope between thread counts.
//!
//! Then it reads the criterion results of benchmarks 2 and 3 (`check`, `durable`, which
//! `cargo bench -p venus-runtime` runs before this one) and prints one table of all five, also
//! written to `target/venus-bench/table.md` (raw figures: `results.json`).
//!
//! `cargo bench -p venus-runtime -- --quick` (or `VENUS_BENCH_QUICK=1`): a smoke run with
//! FakeProofs, one pair, seconds. Other knobs (environment): `VENUS_BENCH_PROOFS=real|fake`,
//! `VENUS_BENCH_PAIRS=N`, `VENUS_BENCH_SCALE=1,2,4,8`, `VENUS_BENCH_ONLY=e2e,scale,startup`,
//! `VENUS_BENCH_DIR` (where the temporary directories go), `RUST_LOG` (worker logs go to
//! `target/venus-bench/worker.log`).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, ensure, Context, Result};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use venus_runtime::config::Config;
use venus_runtime::control::Activity;
use venus_runtime::manager::local::{LocalManager, LocalManagerConfig};
use venus_runtime::manager::{MResult, SectorManager};
use venus_runtime::proofs::{
    C1Out, PC1Out, PC2Out, PieceSource, Proofs, RealProofs, SealInputs, SnapEncodeOut,
};
use venus_runtime::store::read_history;
use venus_runtime::testing::FakeProofs;
use venus_runtime::types::*;
use venus_runtime::worker::{RunOptions, Worker};

// ---------------------------------------------------------------------------------------------
// Settings

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Settings {
    quick: bool,
    real: bool,
    pairs: usize,
    scale: Vec<usize>,
    fake_scale_tasks: usize,
    startup: Vec<usize>,
    only: Vec<String>,
    c2_limit: usize,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn list(s: &str) -> Vec<usize> {
    s.split(',').filter_map(|x| x.trim().parse().ok()).collect()
}

impl Settings {
    fn from_env() -> Settings {
        let quick = std::env::args().any(|a| a == "--quick") || env("VENUS_BENCH_QUICK").is_some();
        let real = match env("VENUS_BENCH_PROOFS").as_deref() {
            Some("real") => true,
            Some("fake") => false,
            Some(other) => panic!("VENUS_BENCH_PROOFS={other}: expected real or fake"),
            None => !quick,
        };
        Settings {
            quick,
            real,
            pairs: env("VENUS_BENCH_PAIRS")
                .and_then(|v| v.parse().ok())
                .unwrap_or(if quick { 1 } else { 3 }),
            scale: env("VENUS_BENCH_SCALE")
                .map(|v| list(&v))
                .unwrap_or_else(|| vec![1, 2, 4, 8]),
            fake_scale_tasks: if quick { 3 } else { 10 },
            startup: if quick { vec![1, 8] } else { vec![1, 8, 64] },
            only: env("VENUS_BENCH_ONLY")
                .map(|v| v.split(',').map(|s| s.trim().to_string()).collect())
                .unwrap_or_default(),
            c2_limit: env("VENUS_BENCH_C2_LIMIT")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
        }
    }

    fn wants(&self, what: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| o == what)
    }
}

/// `target/` of this build (the bench binary is `target/<profile>/deps/worker-<hash>`).
fn target_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(d);
    }
    let exe = std::env::current_exe().expect("current exe");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("target"))
}

fn out_dir() -> PathBuf {
    let d = target_dir().join("venus-bench");
    std::fs::create_dir_all(&d).expect("creating target/venus-bench");
    d
}

fn temp_dir(tag: &str) -> tempfile::TempDir {
    let prefix = format!("venus-bench-{tag}-");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix);
    match env("VENUS_BENCH_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).expect("VENUS_BENCH_DIR");
            b.tempdir_in(d).expect("temp dir")
        }
        None => b.tempdir().expect("temp dir"),
    }
}

fn init_logging(file: &Path) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("warn,venus_runtime=info"));
    let f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("log file");
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(f))
        .with_ansi(false)
        .init();
}

fn proc_status_kb(field: &str) -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn runtime() -> tokio::runtime::Runtime {
    // As the daemon's: multi-threaded, one worker per core.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

// ---------------------------------------------------------------------------------------------
// Proof backend with a stopwatch: the time spent inside the plan's proof calls, and inside
// verification calls (the manager's and the worker's own checks), separately.

struct Timed {
    inner: Arc<dyn Proofs>,
    plan_ns: AtomicU64,
    verify_ns: AtomicU64,
}

impl Timed {
    fn new(inner: Arc<dyn Proofs>) -> Arc<Timed> {
        Arc::new(Timed {
            inner,
            plan_ns: AtomicU64::new(0),
            verify_ns: AtomicU64::new(0),
        })
    }
    fn time<T>(&self, verify: bool, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        let ns = t.elapsed().as_nanos() as u64;
        if verify {
            &self.verify_ns
        } else {
            &self.plan_ns
        }
        .fetch_add(ns, Ordering::Relaxed);
        r
    }
    fn plan_s(&self) -> f64 {
        self.plan_ns.load(Ordering::Relaxed) as f64 / 1e9
    }
    fn verify_s(&self) -> f64 {
        self.verify_ns.load(Ordering::Relaxed) as f64 / 1e9
    }
}

#[allow(clippy::too_many_arguments)]
impl Proofs for Timed {
    fn add_pieces(
        &self,
        proof_type: SealProof,
        staged: &Path,
        pieces: &[PieceSource],
    ) -> Result<Vec<PieceInfo>> {
        self.time(false, || self.inner.add_pieces(proof_type, staged, pieces))
    }
    fn tree_d(
        &self,
        proof_type: SealProof,
        staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<Commitment> {
        self.time(false, || self.inner.tree_d(proof_type, staged, pieces))
    }
    fn pc1(&self, inp: &SealInputs, cache: &Path, staged: &Path, sealed: &Path) -> Result<PC1Out> {
        self.time(false, || self.inner.pc1(inp, cache, staged, sealed))
    }
    fn pc2(&self, pc1: &PC1Out, cache: &Path, sealed: &Path) -> Result<PC2Out> {
        self.time(false, || self.inner.pc2(pc1, cache, sealed))
    }
    fn c1(
        &self,
        inp: &SealInputs,
        seed: [u8; 32],
        pc2: &PC2Out,
        cache: &Path,
        sealed: &Path,
    ) -> Result<C1Out> {
        self.time(false, || self.inner.c1(inp, seed, pc2, cache, sealed))
    }
    fn c2(&self, inp: &SealInputs, c1: &C1Out) -> Result<Vec<u8>> {
        self.time(false, || self.inner.c2(inp, c1))
    }
    fn verify_seal(
        &self,
        proof_type: SealProof,
        sector: SectorId,
        comm_r: Commitment,
        comm_d: Commitment,
        ticket: [u8; 32],
        seed: [u8; 32],
        proof: &[u8],
    ) -> Result<bool> {
        self.time(true, || {
            self.inner
                .verify_seal(proof_type, sector, comm_r, comm_d, ticket, seed, proof)
        })
    }
    fn comm_d(&self, proof_type: SealProof, pieces: &[PieceInfo]) -> Result<Commitment> {
        self.time(true, || self.inner.comm_d(proof_type, pieces))
    }
    fn piece_commitment(&self, proof_type: SealProof, path: &Path) -> Result<PieceInfo> {
        self.time(true, || self.inner.piece_commitment(proof_type, path))
    }
    fn snap_encode(
        &self,
        proof_type: SealProof,
        new_replica: &Path,
        new_cache: &Path,
        sector_key: &Path,
        sector_key_cache: &Path,
        staged: &Path,
        pieces: &[PieceInfo],
    ) -> Result<SnapEncodeOut> {
        self.time(false, || {
            self.inner.snap_encode(
                proof_type,
                new_replica,
                new_cache,
                sector_key,
                sector_key_cache,
                staged,
                pieces,
            )
        })
    }
    fn snap_prove(
        &self,
        proof_type: SealProof,
        comm_r_old: Commitment,
        enc: &SnapEncodeOut,
        sector_key: &Path,
        sector_key_cache: &Path,
        new_replica: &Path,
        new_cache: &Path,
    ) -> Result<Vec<u8>> {
        self.time(false, || {
            self.inner.snap_prove(
                proof_type,
                comm_r_old,
                enc,
                sector_key,
                sector_key_cache,
                new_replica,
                new_cache,
            )
        })
    }
    fn verify_snap(
        &self,
        proof_type: SealProof,
        comm_r_old: Commitment,
        comm_r_new: Commitment,
        comm_d_new: Commitment,
        proof: &[u8],
    ) -> Result<bool> {
        self.time(true, || {
            self.inner
                .verify_snap(proof_type, comm_r_old, comm_r_new, comm_d_new, proof)
        })
    }
}

fn backend(real: bool) -> Arc<dyn Proofs> {
    if real {
        Arc::new(RealProofs)
    } else {
        Arc::new(FakeProofs)
    }
}

// ---------------------------------------------------------------------------------------------
// Configs: the shipped example's settings (examples/venus-worker.toml), with the given threads.

fn config_text(
    threads: &[(&str, &str)],
    extra_embedded: &str,
    sealing_extra: &str,
    c2: usize,
) -> String {
    let mut t = format!(
        "[worker]\nname = \"bench-worker\"\n\
         [sector_manager.embedded]\nhome = \"manager\"\nminer = 1000\n{extra_embedded}\n\
         [sealing]\nallowed_sizes = [\"2KiB\"]\nmax_retries = 5\nretry_backoff = \"2s\"\n\
         retry_max_backoff = \"1m\"\nseal_interval = \"1s\"\nrecover_interval = \"1s\"\n\
         rpc_polling_interval = \"1s\"\n{sealing_extra}\n"
    );
    for (loc, plan) in threads {
        t.push_str(&format!(
            "[[sealing_thread]]\nlocation = \"{loc}\"\nplan = \"{plan}\"\n"
        ));
    }
    t.push_str(&format!(
        "[processors.limitation.concurrent]\nc2 = {c2}\nsnap_prove = 1\n"
    ));
    t
}

// ---------------------------------------------------------------------------------------------
// Benchmark 1: end to end

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct RunTimes {
    /// Wall time of the whole run.
    wall_s: f64,
    /// Time inside the plan's proof calls (the bare program's sequence).
    proof_s: f64,
    /// Time inside verification calls (manager checks, the worker's own proof check).
    verify_s: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Pair {
    order: String,
    worker: RunTimes,
    bare: RunTimes,
    ratio: f64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct E2e {
    plan: String,
    pairs: Vec<Pair>,
    median_ratio: f64,
    /// Median over the worker runs of wall − proof calls (everything the worker adds).
    median_added_s: f64,
    /// Median over the worker runs of wall − proof calls − verification calls.
    median_own_s: f64,
    median_bare_s: f64,
}

/// (a) the worker seals one sector in `dir` (fresh); returns its times.
async fn worker_seal(dir: &Path, real: bool) -> Result<RunTimes> {
    let timed = Timed::new(backend(real));
    let t0 = Instant::now();
    let cfg = Config::parse(&config_text(&[("sealer-1", "sealer")], "", "", 1), dir)?;
    let worker = Arc::new(Worker::new(cfg, timed.clone(), None)?);
    worker
        .run(RunOptions {
            tasks_per_thread: Some(1),
            stop_on_pause: true,
        })
        .await?;
    let wall = t0.elapsed().as_secs_f64();
    let lm = worker.local_manager.as_ref().expect("embedded manager");
    let sectors = lm.list_sectors().await?;
    ensure!(
        sectors.len() == 1 && sectors[0].proof_verified && sectors[0].state == "Finalized",
        "the worker did not seal a verified sector: {sectors:?}"
    );
    Ok(RunTimes {
        wall_s: wall,
        proof_s: timed.plan_s(),
        verify_s: timed.verify_s(),
    })
}

/// (b) the same proof calls in sequence, nothing else.
fn bare_seal(dir: &Path, real: bool) -> Result<RunTimes> {
    let timed = Timed::new(backend(real));
    let p: &dyn Proofs = &*timed;
    let pt = SEAL_PROOF_2KIB_V1_1;
    let sector = SectorId {
        miner: 1000,
        number: 1,
    };
    let (staged, cache, sealed) = (dir.join("staged"), dir.join("cache"), dir.join("sealed"));
    let ticket: [u8; 32] = rand_32();
    let seed: [u8; 32] = rand_32();
    let t0 = Instant::now();
    let pieces = p.add_pieces(pt, &staged, &[])?;
    p.tree_d(pt, &staged, &pieces)?;
    let inp = SealInputs {
        proof_type: pt,
        sector,
        ticket,
        pieces,
    };
    let pc1 = p.pc1(&inp, &cache, &staged, &sealed)?;
    let pc2 = p.pc2(&pc1, &cache, &sealed)?;
    let c1 = p.c1(&inp, seed, &pc2, &cache, &sealed)?;
    let proof = p.c2(&inp, &c1)?;
    let wall = t0.elapsed().as_secs_f64();
    let times = RunTimes {
        wall_s: wall,
        proof_s: timed.plan_s(),
        verify_s: 0.0,
    };
    // Not timed: the proof is good.
    ensure!(
        p.verify_seal(pt, sector, pc2.comm_r, pc2.comm_d, ticket, seed, &proof)?,
        "bare seal: the proof does not verify"
    );
    Ok(times)
}

fn rand_32() -> [u8; 32] {
    let mut b: [u8; 32] = rand::random();
    b[0] |= 1;
    b[31] &= 0x3f;
    b
}

fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dst.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}

/// What a snapup run starts from: a manager home holding one sealed, finalized CC sector.
struct SnapTemplate {
    _dir: tempfile::TempDir,
    manager: PathBuf,
    sector: SectorId,
    comm_r: Commitment,
}

impl SnapTemplate {
    fn from_sealer_run(dir: tempfile::TempDir) -> Result<SnapTemplate> {
        let (history, _) = read_history(&dir.path().join("sealer-1"))?;
        let h = history
            .first()
            .context("no sealed sector in the template")?;
        let data: venus_runtime::plans::sealer::Data = serde_json::from_str(&h.data)?;
        Ok(SnapTemplate {
            manager: dir.path().join("manager"),
            sector: data.sector.context("sector")?.id,
            comm_r: data.pc2out.context("pc2 output")?.comm_r,
            _dir: dir,
        })
    }
    fn key(&self) -> (PathBuf, PathBuf) {
        let store = self.manager.join("store");
        (
            store.join("sealed").join(self.sector.to_string()),
            store.join("cache").join(self.sector.to_string()),
        )
    }
}

async fn worker_snapup(dir: &Path, tpl: &SnapTemplate, real: bool) -> Result<RunTimes> {
    copy_dir(&tpl.manager, &dir.join("manager"))?;
    let timed = Timed::new(backend(real));
    let t0 = Instant::now();
    let cfg = Config::parse(&config_text(&[("snapup-1", "snapup")], "", "", 1), dir)?;
    let worker = Arc::new(Worker::new(cfg, timed.clone(), None)?);
    worker
        .run(RunOptions {
            tasks_per_thread: Some(1),
            stop_on_pause: true,
        })
        .await?;
    let wall = t0.elapsed().as_secs_f64();
    let lm = worker.local_manager.as_ref().expect("embedded manager");
    let sectors = lm.list_sectors().await?;
    ensure!(
        sectors
            .iter()
            .any(|s| s.upgrade.as_deref() == Some("Upgraded")),
        "the worker did not upgrade the sector: {sectors:?}"
    );
    Ok(RunTimes {
        wall_s: wall,
        proof_s: timed.plan_s(),
        verify_s: timed.verify_s(),
    })
}

fn bare_snapup(dir: &Path, tpl: &SnapTemplate, real: bool) -> Result<RunTimes> {
    let timed = Timed::new(backend(real));
    let p: &dyn Proofs = &*timed;
    let pt = SEAL_PROOF_2KIB_V1_1;
    // Not timed: the sector key (the sealed CC sector) and the deal data arrive from elsewhere,
    // as in the worker's run, where the manager hands them out.
    let (key0, key_cache0) = tpl.key();
    let (key, key_cache) = (dir.join("key"), dir.join("key-cache"));
    std::fs::copy(key0, &key)?;
    copy_dir(&key_cache0, &key_cache)?;
    let piece = dir.join("piece");
    let unpadded = venus_runtime::proofs::unpadded(SECTOR_SIZE_2KIB / 2);
    let data: Vec<u8> = (0..unpadded).map(|_| rand::random::<u8>()).collect();
    std::fs::write(&piece, &data)?;
    let info = p.piece_commitment(pt, &piece)?;
    let (staged, update, update_cache) = (
        dir.join("staged"),
        dir.join("update"),
        dir.join("update-cache"),
    );
    let t0 = Instant::now();
    let pieces = p.add_pieces(
        pt,
        &staged,
        &[PieceSource::File {
            path: piece,
            unpadded_size: unpadded,
            comm_p: info.comm_p,
        }],
    )?;
    p.tree_d(pt, &staged, &pieces)?;
    let enc = p.snap_encode(
        pt,
        &update,
        &update_cache,
        &key,
        &key_cache,
        &staged,
        &pieces,
    )?;
    let proof = p.snap_prove(
        pt,
        tpl.comm_r,
        &enc,
        &key,
        &key_cache,
        &update,
        &update_cache,
    )?;
    let wall = t0.elapsed().as_secs_f64();
    let plan_s = timed.plan_s();
    ensure!(
        p.verify_snap(pt, tpl.comm_r, enc.comm_r_new, enc.comm_d_new, &proof)?,
        "bare snapup: the update proof does not verify"
    );
    Ok(RunTimes {
        wall_s: wall,
        proof_s: plan_s,
        verify_s: 0.0,
    })
}

fn summarize_e2e(plan: &str, pairs: Vec<Pair>) -> E2e {
    let ratios: Vec<f64> = pairs.iter().map(|p| p.ratio).collect();
    let added: Vec<f64> = pairs
        .iter()
        .map(|p| p.worker.wall_s - p.worker.proof_s)
        .collect();
    let own: Vec<f64> = pairs
        .iter()
        .map(|p| p.worker.wall_s - p.worker.proof_s - p.worker.verify_s)
        .collect();
    let bare: Vec<f64> = pairs.iter().map(|p| p.bare.wall_s).collect();
    E2e {
        plan: plan.into(),
        median_ratio: median(&ratios),
        median_added_s: median(&added),
        median_own_s: median(&own),
        median_bare_s: median(&bare),
        pairs,
    }
}

fn print_pair(plan: &str, i: usize, p: &Pair) {
    eprintln!(
        "  {plan} pair {} ({}): worker {:.3} s (proof calls {:.3} s, verification {:.3} s), bare {:.3} s (proof calls {:.3} s), ratio {:.4}",
        i + 1,
        p.order,
        p.worker.wall_s,
        p.worker.proof_s,
        p.worker.verify_s,
        p.bare.wall_s,
        p.bare.proof_s,
        p.ratio
    );
}

fn bench_e2e(s: &Settings, rt: &tokio::runtime::Runtime) -> Result<(E2e, E2e)> {
    eprintln!(
        "[1] end to end, {} proofs, {} pair(s) per plan",
        if s.real { "real" } else { "fake" },
        s.pairs
    );
    // Warm-up, not timed: loads the PoRep parameters into the process (both sides then use the
    // cached copy) and leaves a sealed, finalized sector to upgrade in the snapup runs.
    let t = Instant::now();
    let warm = temp_dir("warm");
    rt.block_on(worker_seal(warm.path(), s.real))?;
    let tpl = SnapTemplate::from_sealer_run(warm)?;
    eprintln!(
        "  warm-up seal (not timed): {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let mut pairs = Vec::new();
    for i in 0..s.pairs {
        let (da, db) = (temp_dir("seal-a"), temp_dir("seal-b"));
        let (a, b, order) = if i % 2 == 0 {
            let a = rt.block_on(worker_seal(da.path(), s.real))?;
            (a, bare_seal(db.path(), s.real)?, "worker first")
        } else {
            let b = bare_seal(db.path(), s.real)?;
            (
                rt.block_on(worker_seal(da.path(), s.real))?,
                b,
                "bare first",
            )
        };
        let p = Pair {
            order: order.into(),
            ratio: a.wall_s / b.wall_s,
            worker: a,
            bare: b,
        };
        print_pair("sealer", i, &p);
        pairs.push(p);
    }
    let sealer = summarize_e2e("sealer", pairs);

    // Warm-up for the snap proof's parameters, not timed.
    let t = Instant::now();
    let warm = temp_dir("warm-snap");
    bare_snapup(warm.path(), &tpl, s.real)?;
    eprintln!(
        "  warm-up snapup (not timed): {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut pairs = Vec::new();
    for i in 0..s.pairs {
        let (da, db) = (temp_dir("snap-a"), temp_dir("snap-b"));
        let (a, b, order) = if i % 2 == 0 {
            let a = rt.block_on(worker_snapup(da.path(), &tpl, s.real))?;
            (a, bare_snapup(db.path(), &tpl, s.real)?, "worker first")
        } else {
            let b = bare_snapup(db.path(), &tpl, s.real)?;
            (
                rt.block_on(worker_snapup(da.path(), &tpl, s.real))?,
                b,
                "bare first",
            )
        };
        let p = Pair {
            order: order.into(),
            ratio: a.wall_s / b.wall_s,
            worker: a,
            bare: b,
        };
        print_pair("snapup", i, &p);
        pairs.push(p);
    }
    let snapup = summarize_e2e("snapup", pairs);
    Ok((sealer, snapup))
}

// ---------------------------------------------------------------------------------------------
// Child processes: benchmarks 4 and 5 run each configuration in a fresh process.

const CHILD: &str = "VENUS_BENCH_CHILD";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct ScaleResult {
    threads: usize,
    tasks_per_thread: usize,
    real: bool,
    sectors: usize,
    verified: usize,
    wall_s: f64,
    sectors_per_hour: f64,
    peak_kb: u64,
    c2_limit: usize,
    /// Highest `limits.in_use("c2")` seen.
    c2_max_in_use: usize,
    /// Highest number of threads seen running a C2 at once (their own status).
    c2_max_running: usize,
    samples: u64,
    violations: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StartupResult {
    threads: usize,
    /// From the start of the child's main to the worker built (manager opened).
    new_ms: f64,
    /// From the start of the child's main to every thread told "no work".
    ready_ms: f64,
    /// From the parent's spawn of the process to its "ready" line.
    spawn_to_ready_ms: f64,
    rss_base_kb: u64,
    rss_ready_kb: u64,
    peak_kb: u64,
}

fn spawn_child(kind: &str, vars: &[(&str, String)], log: &Path) -> Result<(Value, f64)> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    cmd.env(CHILD, kind)
        .env("VENUS_BENCH_LOG", log)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let t0 = Instant::now();
    let mut child = cmd.spawn().context("spawning the bench child")?;
    let out = child.stdout.take().expect("piped stdout");
    let mut result = None;
    let mut ready_ms = 0.0;
    for line in BufReader::new(out).lines() {
        let line = line?;
        if line == "READY" {
            ready_ms = t0.elapsed().as_secs_f64() * 1e3;
        } else if let Some(j) = line.strip_prefix("RESULT ") {
            result = Some(serde_json::from_str::<Value>(j)?);
        }
    }
    let status = child.wait()?;
    ensure!(status.success(), "bench child {kind} failed: {status}");
    Ok((result.context("the child printed no result")?, ready_ms))
}

fn child_main(kind: &str) -> Result<()> {
    let start = Instant::now();
    if let Some(log) = std::env::var_os("VENUS_BENCH_LOG") {
        init_logging(Path::new(&log));
    }
    let threads: usize = env("VENUS_BENCH_THREADS").context("threads")?.parse()?;
    let real = env("VENUS_BENCH_PROOFS").as_deref() == Some("real");
    let rt = runtime();
    let r = match kind {
        "scale" => {
            let tasks: usize = env("VENUS_BENCH_TASKS").context("tasks")?.parse()?;
            let c2: usize = env("VENUS_BENCH_C2_LIMIT").context("c2")?.parse()?;
            serde_json::to_string(&rt.block_on(child_scale(threads, tasks, c2, real))?)?
        }
        "startup" => serde_json::to_string(&rt.block_on(child_startup(threads, start))?)?,
        other => bail!("unknown child {other}"),
    };
    println!("RESULT {r}");
    Ok(())
}

async fn child_scale(threads: usize, tasks: usize, c2: usize, real: bool) -> Result<ScaleResult> {
    let dir = temp_dir("scale");
    let locs: Vec<String> = (0..threads).map(|i| format!("sealer-{i}")).collect();
    let ts: Vec<(&str, &str)> = locs.iter().map(|l| (l.as_str(), "sealer")).collect();
    let mut text = config_text(&ts, "", "", c2);
    if !real {
        // With fake proofs the worker alone is measured: no pause between two tasks of a thread.
        text = text.replace("seal_interval = \"1s\"", "seal_interval = \"0s\"");
    }
    let cfg = Config::parse(&text, dir.path())?;
    let t0 = Instant::now();
    let worker = Arc::new(Worker::new(cfg, backend(real), None)?);
    let sampler = {
        let w = worker.clone();
        tokio::spawn(async move {
            let (mut max_in_use, mut max_running, mut samples, mut violations) = (0, 0, 0u64, 0u64);
            loop {
                let in_use = w.limits.in_use("c2");
                let running = w
                    .threads
                    .iter()
                    .filter(|t| {
                        matches!(t.control.status().activity, Activity::Running { ref stage } if stage == "c2")
                    })
                    .count();
                max_in_use = max_in_use.max(in_use);
                max_running = max_running.max(running);
                samples += 1;
                if in_use > c2 || running > c2 {
                    violations += 1;
                }
                if w.threads
                    .iter()
                    .all(|t| t.control.status().activity == Activity::Stopped)
                {
                    return (max_in_use, max_running, samples, violations);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    worker
        .run(RunOptions {
            tasks_per_thread: Some(tasks),
            stop_on_pause: true,
        })
        .await?;
    let wall = t0.elapsed().as_secs_f64();
    let (c2_max_in_use, c2_max_running, samples, violations) = sampler.await?;
    let sectors = worker
        .local_manager
        .as_ref()
        .expect("embedded")
        .list_sectors()
        .await?;
    let verified = sectors.iter().filter(|s| s.proof_verified).count();
    Ok(ScaleResult {
        threads,
        tasks_per_thread: tasks,
        real,
        sectors: sectors.len(),
        verified,
        wall_s: wall,
        sectors_per_hour: verified as f64 * 3600.0 / wall,
        peak_kb: proc_status_kb("VmHWM:"),
        c2_limit: c2,
        c2_max_in_use,
        c2_max_running,
        samples,
        violations,
    })
}

/// The embedded manager, counting the allocations it answered with "no work".
struct Counting {
    inner: Arc<LocalManager>,
    empty: AtomicUsize,
    notify: tokio::sync::Notify,
}

#[async_trait]
impl SectorManager for Counting {
    async fn allocate_sector(&self, spec: AllocateSectorSpec) -> MResult<Option<AllocatedSector>> {
        let r = self.inner.allocate_sector(spec).await;
        if matches!(r, Ok(None)) {
            self.empty.fetch_add(1, Ordering::SeqCst);
            self.notify.notify_one();
        }
        r
    }
    async fn acquire_deals(&self, id: SectorId, spec: AcquireDealsSpec) -> MResult<Option<Deals>> {
        self.inner.acquire_deals(id, spec).await
    }
    async fn assign_ticket(&self, id: SectorId) -> MResult<Ticket> {
        self.inner.assign_ticket(id).await
    }
    async fn submit_pre_commit(
        &self,
        sector: AllocatedSector,
        info: PreCommitOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp> {
        self.inner.submit_pre_commit(sector, info, reset).await
    }
    async fn poll_pre_commit_state(&self, id: SectorId) -> MResult<PollStateResp> {
        self.inner.poll_pre_commit_state(id).await
    }
    async fn submit_persisted_ex(
        &self,
        id: SectorId,
        instance: String,
        is_upgrade: bool,
    ) -> MResult<bool> {
        self.inner
            .submit_persisted_ex(id, instance, is_upgrade)
            .await
    }
    async fn wait_seed(&self, id: SectorId, proof_type: SealProof) -> MResult<WaitSeedResp> {
        self.inner.wait_seed(id, proof_type).await
    }
    async fn submit_proof(
        &self,
        id: SectorId,
        info: ProofOnChainInfo,
        reset: bool,
    ) -> MResult<SubmitResp> {
        self.inner.submit_proof(id, info, reset).await
    }
    async fn poll_proof_state(&self, id: SectorId) -> MResult<PollStateResp> {
        self.inner.poll_proof_state(id).await
    }
    async fn report_state(&self, id: SectorId, req: ReportStateReq) -> MResult<SectorStateResp> {
        self.inner.report_state(id, req).await
    }
    async fn report_finalized(&self, id: SectorId) -> MResult<()> {
        self.inner.report_finalized(id).await
    }
    async fn report_aborted(&self, id: SectorId, reason: String) -> MResult<()> {
        self.inner.report_aborted(id, reason).await
    }
    async fn allocate_snapup_sector(
        &self,
        spec: AllocateSnapUpSpec,
    ) -> MResult<Option<AllocatedSnapUpSector>> {
        self.inner.allocate_snapup_sector(spec).await
    }
    async fn submit_snapup_proof(
        &self,
        id: SectorId,
        info: SnapUpOnChainInfo,
    ) -> MResult<SubmitResp> {
        self.inner.submit_snapup_proof(id, info).await
    }
    async fn store_reserve_space(
        &self,
        id: SectorId,
        size: u64,
        candidates: Vec<String>,
    ) -> MResult<Option<StoreBasicInfo>> {
        self.inner.store_reserve_space(id, size, candidates).await
    }
    async fn store_basic_info(&self, instance: String) -> MResult<Option<StoreBasicInfo>> {
        self.inner.store_basic_info(instance).await
    }
    async fn worker_ping(&self, info: WorkerPingInfo) -> MResult<()> {
        self.inner.worker_ping(info).await
    }
    async fn piece_path(&self, cid: &Cid) -> MResult<Option<PathBuf>> {
        self.inner.piece_path(cid).await
    }
}

async fn child_startup(threads: usize, start: Instant) -> Result<StartupResult> {
    let dir = temp_dir("startup");
    let rss_base_kb = proc_status_kb("VmRSS:");
    let locs: Vec<String> = (0..threads).map(|i| format!("sealer-{i}")).collect();
    let ts: Vec<(&str, &str)> = locs.iter().map(|l| (l.as_str(), "sealer")).collect();
    // Nothing to do: the manager allocates no sector. The default 30 s between two asks, so that
    // each thread asks exactly once within the measurement.
    let text = config_text(&ts, "max_sectors = 0", "", 1)
        .replace("recover_interval = \"1s\"", "recover_interval = \"30s\"");
    // What `Worker::new` does for the embedded manager, with a counter in front of it.
    let cfg = Config::parse(&text, dir.path())?;
    let e = &cfg.sector_manager.embedded;
    let lm = Arc::new(LocalManager::open(
        LocalManagerConfig {
            home: e.home.clone(),
            miner: e.miner,
            proof_type: e.proof_type,
            max_sectors: e.max_sectors,
            stores: cfg
                .attached_stores()
                .into_iter()
                .map(|(n, p, _)| (n, p))
                .collect(),
        },
        Arc::new(RealProofs),
    )?);
    let counting = Arc::new(Counting {
        inner: lm,
        empty: AtomicUsize::new(0),
        notify: tokio::sync::Notify::new(),
    });
    let worker = Arc::new(Worker::new(
        cfg,
        Arc::new(RealProofs),
        Some(counting.clone() as Arc<dyn SectorManager>),
    )?);
    let new_ms = start.elapsed().as_secs_f64() * 1e3;
    let w = worker.clone();
    let run = tokio::spawn(async move {
        w.run(RunOptions {
            tasks_per_thread: None,
            stop_on_pause: true,
        })
        .await
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    while counting.empty.load(Ordering::SeqCst) < threads {
        ensure!(Instant::now() < deadline, "the threads never became idle");
        let _ = tokio::time::timeout(Duration::from_millis(50), counting.notify.notified()).await;
    }
    let ready_ms = start.elapsed().as_secs_f64() * 1e3;
    println!("READY");
    let rss_ready_kb = proc_status_kb("VmRSS:");
    worker.shutdown();
    run.await??;
    Ok(StartupResult {
        threads,
        new_ms,
        ready_ms,
        spawn_to_ready_ms: 0.0,
        rss_base_kb,
        rss_ready_kb,
        peak_kb: proc_status_kb("VmHWM:"),
    })
}

fn bench_scale(s: &Settings, real: bool, tasks: usize, log: &Path) -> Result<Vec<ScaleResult>> {
    eprintln!(
        "[4] scale, {} proofs, {} task(s) per thread, c2 limit {}, threads {:?}",
        if real { "real" } else { "fake" },
        tasks,
        s.c2_limit,
        s.scale
    );
    let mut out = Vec::new();
    for &n in &s.scale {
        let (v, _) = spawn_child(
            "scale",
            &[
                ("VENUS_BENCH_THREADS", n.to_string()),
                ("VENUS_BENCH_TASKS", tasks.to_string()),
                ("VENUS_BENCH_C2_LIMIT", s.c2_limit.to_string()),
                (
                    "VENUS_BENCH_PROOFS",
                    if real { "real" } else { "fake" }.to_string(),
                ),
            ],
            log,
        )?;
        let r: ScaleResult = serde_json::from_value(v)?;
        eprintln!(
            "  {} thread(s): {}/{} sectors verified in {:.1} s = {:.0} sectors/h, peak {:.0} MiB, c2 in use max {} (running max {}) of {}, {} samples, {} over the limit",
            r.threads,
            r.verified,
            r.threads * r.tasks_per_thread,
            r.wall_s,
            r.sectors_per_hour,
            r.peak_kb as f64 / 1024.0,
            r.c2_max_in_use,
            r.c2_max_running,
            r.c2_limit,
            r.samples,
            r.violations
        );
        ensure!(
            r.verified == r.threads * r.tasks_per_thread,
            "scale with {n} threads: only {} of {} sectors verified (see {})",
            r.verified,
            r.threads * r.tasks_per_thread,
            log.display()
        );
        out.push(r);
    }
    Ok(out)
}

fn bench_startup(s: &Settings, log: &Path) -> Result<Vec<StartupResult>> {
    eprintln!("[5] start-up with nothing to do, threads {:?}", s.startup);
    let mut out = Vec::new();
    for &n in &s.startup {
        let (v, spawn_ms) = spawn_child("startup", &[("VENUS_BENCH_THREADS", n.to_string())], log)?;
        let mut r: StartupResult = serde_json::from_value(v)?;
        r.spawn_to_ready_ms = spawn_ms;
        eprintln!(
            "  {} idle thread(s): ready {:.1} ms after main ({:.1} ms after spawn), worker built at {:.1} ms, RSS {:.1} MiB (before the worker {:.1} MiB), peak {:.1} MiB",
            n,
            r.ready_ms,
            r.spawn_to_ready_ms,
            r.new_ms,
            r.rss_ready_kb as f64 / 1024.0,
            r.rss_base_kb as f64 / 1024.0,
            r.peak_kb as f64 / 1024.0
        );
        out.push(r);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Benchmarks 2 and 3: criterion's results

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Crit {
    /// Median time per iteration, ns.
    median_ns: f64,
    /// When criterion wrote it.
    age_s: u64,
}

fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("criterion"))
}

fn crit(id: &str) -> Option<Crit> {
    let path = criterion_dir().join(id).join("new").join("estimates.json");
    let text = std::fs::read_to_string(&path).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    let age_s = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Some(Crit {
        median_ns: v["median"]["point_estimate"].as_f64()?,
        age_s,
    })
}

fn table_size(meta: &plan_meta::rt::PlanMeta) -> usize {
    meta.states.iter().map(|s| s.transitions.len()).sum()
}

// ---------------------------------------------------------------------------------------------
// The table

#[derive(Default, Serialize, Deserialize)]
struct Report {
    settings: Option<Settings>,
    machine: Value,
    e2e: Vec<E2e>,
    scale_real: Vec<ScaleResult>,
    scale_fake: Vec<ScaleResult>,
    startup: Vec<StartupResult>,
    criterion: Value,
    total_s: f64,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn verdict(value: f64, target: f64) -> String {
    if value.is_nan() {
        "-".into()
    } else if value <= target {
        "met".into()
    } else {
        format!("MISSED by {:.1} %", (value / target - 1.0) * 100.0)
    }
}

fn mib(kb: u64) -> String {
    format!("{:.1} MiB", kb as f64 / 1024.0)
}

fn table(r: &Report, s: &Settings) -> String {
    let crit =
        |id: &str| -> Option<Crit> { serde_json::from_value(r.criterion.get(id)?.clone()).ok() };
    let mut t = String::new();
    let proofs = if s.real { "real" } else { "FAKE (instant)" };
    t.push_str(&format!(
        "venus-worker benchmarks: {} cores, load average {} (start) / {} (end), proofs {}, {}, {:.0} s\n\n",
        r.machine["cores"],
        r.machine["load_start"].as_str().unwrap_or("?"),
        r.machine["load_end"].as_str().unwrap_or("?"),
        proofs,
        if s.quick { "QUICK run" } else { "full run" },
        r.total_s
    ));
    t.push_str(
        "| # | benchmark | worker | baseline | ratio | target |\n|---|---|---|---|---|---|\n",
    );
    for e in &r.e2e {
        let ratios: Vec<String> = e.pairs.iter().map(|p| format!("{:.3}", p.ratio)).collect();
        t.push_str(&format!(
            "| 1 | {} end to end, median of {} pair(s) ({}) | {:.2} s | bare {:.2} s | **{:.3}** | ≤ 1.02: {} |\n",
            e.plan,
            e.pairs.len(),
            ratios.join(", "),
            median(&e.pairs.iter().map(|p| p.worker.wall_s).collect::<Vec<_>>()),
            e.median_bare_s,
            e.median_ratio,
            if s.real { verdict(e.median_ratio, 1.02) } else { "n/a with fake proofs".into() }
        ));
        t.push_str(&format!(
            "| 1 | {}: the worker's own time, wall − time inside the plan's proof calls (median) | {:.3} s, of which {:.3} s proof verification | bare {:.2} s | {:.4} (if the proofs took equally long) | ≤ 1.02: {} |\n",
            e.plan,
            e.median_added_s,
            e.median_added_s - e.median_own_s,
            e.median_bare_s,
            1.0 + e.median_added_s / e.median_bare_s,
            if s.real { verdict(1.0 + e.median_added_s / e.median_bare_s, 1.02) } else { "n/a with fake proofs".into() }
        ));
    }
    let sealer_n = table_size(venus_runtime::plans::meta("sealer").unwrap());
    let snapup_n = table_size(venus_runtime::plans::meta("snapup").unwrap());
    for (plan, n) in [("sealer", sealer_n), ("snapup", snapup_n)] {
        let g = crit(&format!("check_{plan}/generated"));
        let h = crit(&format!("check_{plan}/hand-written"));
        let o = crit(&format!("check_{plan}/hand-written-option"));
        match (g, h) {
            (Some(g), Some(h)) => {
                let ratio = g.median_ns / h.median_ns;
                t.push_str(&format!(
                    "| 2 | {plan} transition check, {n} transitions/iter{} | {:.2} ns | hand-written match {:.2} ns{} | **{:.3}** | ≤ 1.1: {} |\n",
                    if g.age_s > 3600 { format!(" (measured {} min ago)", g.age_s / 60) } else { String::new() },
                    g.median_ns / n as f64,
                    h.median_ns / n as f64,
                    o.map(|o| format!(" (Option-returning: {:.2} ns)", o.median_ns / n as f64)).unwrap_or_default(),
                    ratio,
                    verdict(ratio, 1.1)
                ));
            }
            _ => t.push_str(&format!(
                "| 2 | {plan} transition check | not measured: run `cargo bench -p venus-runtime --bench check` | | | |\n"
            )),
        }
    }
    for size in ["1KiB", "100KiB"] {
        let a = crit(&format!("durable/transition/{size}"));
        let b = crit(&format!("durable/raw/{size}"));
        let p = crit(&format!("durable/same-sql-prepared/{size}"));
        match (a, b) {
            (Some(a), Some(b)) => {
                let ratio = a.median_ns / b.median_ns;
                t.push_str(&format!(
                    "| 3 | durable transition, {size} record{} | {:.3} ms | raw fsync'd write {:.3} ms{} | **{:.3}** | ≤ 1.2: {} |\n",
                    if a.age_s > 3600 { format!(" (measured {} min ago)", a.age_s / 60) } else { String::new() },
                    a.median_ns / 1e6,
                    b.median_ns / 1e6,
                    p.map(|p| format!(" (the store's SQL, statements prepared once: {:.3} ms)", p.median_ns / 1e6)).unwrap_or_default(),
                    ratio,
                    verdict(ratio, 1.2)
                ));
            }
            _ => t.push_str(&format!(
                "| 3 | durable transition, {size} | not measured: run `cargo bench -p venus-runtime --bench durable` | | | |\n"
            )),
        }
    }
    for (label, rows) in [
        ("real proofs", &r.scale_real),
        ("FakeProofs: the worker alone", &r.scale_fake),
    ] {
        for x in rows.iter() {
            t.push_str(&format!(
                "| 4 | scale, {label}: {} thread(s) × {} task(s) | {:.0} sectors/h ({} in {:.1} s) | peak memory {} | | c2 at once ≤ {}: max {} ({}) |\n",
                x.threads,
                x.tasks_per_thread,
                x.sectors_per_hour,
                x.verified,
                x.wall_s,
                mib(x.peak_kb),
                x.c2_limit,
                x.c2_max_running.max(x.c2_max_in_use),
                if x.violations == 0 { "respected".to_string() } else { format!("EXCEEDED in {} samples", x.violations) }
            ));
        }
    }
    for x in &r.startup {
        t.push_str(&format!(
            "| 5 | start-up, {} idle thread(s) | ready in {:.1} ms ({:.1} ms from spawn) | RSS {} (process before the worker: {}) | | |\n",
            x.threads,
            x.ready_ms,
            x.spawn_to_ready_ms,
            mib(x.rss_ready_kb),
            mib(x.rss_base_kb)
        ));
    }
    if let (Some(a), Some(b)) = (r.startup.first(), r.startup.last()) {
        if b.threads > a.threads {
            let per =
                (b.rss_ready_kb as f64 - a.rss_ready_kb as f64) / (b.threads - a.threads) as f64;
            t.push_str(&format!(
                "| 4, 5 | memory of an idle thread ({} → {} threads) | {:.0} KiB | | | |\n",
                a.threads, b.threads, per
            ));
        }
    }
    t
}

fn main() -> Result<()> {
    if let Some(kind) = env(CHILD) {
        return child_main(&kind);
    }
    // Print the table of an earlier run again (e.g. after a change to this table's layout).
    if let Some(path) = env("VENUS_BENCH_RENDER") {
        let r: Report = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        let s = r.settings.clone().context("settings")?;
        println!("{}", table(&r, &s));
        return Ok(());
    }
    let started = Instant::now();
    let s = Settings::from_env();
    let out = out_dir();
    let log = out.join("worker.log");
    let _ = std::fs::remove_file(&log);
    init_logging(&log);
    let mut report = Report {
        settings: Some(s.clone()),
        machine: serde_json::json!({
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            "load_start": loadavg(),
        }),
        ..Default::default()
    };
    eprintln!(
        "venus-worker benchmarks ({}; worker logs in {})",
        if s.quick { "quick" } else { "full" },
        log.display()
    );
    if s.wants("e2e") {
        let rt = runtime();
        let (a, b) = bench_e2e(&s, &rt)?;
        report.e2e = vec![a, b];
    }
    if s.wants("scale") {
        if s.real {
            report.scale_real = bench_scale(&s, true, 1, &log)?;
        }
        report.scale_fake = bench_scale(&s, false, s.fake_scale_tasks, &log)?;
    }
    if s.wants("startup") {
        report.startup = bench_startup(&s, &log)?;
    }
    report.machine["load_end"] = Value::String(loadavg());
    report.total_s = started.elapsed().as_secs_f64();
    let mut crits = serde_json::Map::new();
    for id in [
        "check_sealer/generated",
        "check_sealer/hand-written",
        "check_sealer/hand-written-option",
        "check_snapup/generated",
        "check_snapup/hand-written",
        "check_snapup/hand-written-option",
        "durable/transition/1KiB",
        "durable/raw/1KiB",
        "durable/same-sql-prepared/1KiB",
        "durable/transition/100KiB",
        "durable/raw/100KiB",
        "durable/same-sql-prepared/100KiB",
    ] {
        if let Some(c) = crit(id) {
            crits.insert(id.into(), serde_json::to_value(c)?);
        }
    }
    report.criterion = Value::Object(crits);
    let t = table(&report, &s);
    println!("\n{t}");
    std::fs::write(out.join("table.md"), &t)?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    eprintln!(
        "table: {}; raw figures: {}",
        out.join("table.md").display(),
        out.join("results.json").display()
    );
    Ok(())
}
