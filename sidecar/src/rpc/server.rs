//! Serving the control plane on a Unix socket: mode 0660 with a chosen group, a stale socket
//! replaced only after probing that nobody answers on it, health and reflection services, and
//! a graceful stop.

use std::future::Future;
use std::io::ErrorKind;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full, Limited};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{chown, Group};
use tokio::net::{UnixListener, UnixStream};
use tokio_stream::wrappers::UnixListenerStream;
use tonic::body::Body;
use tonic::codegen::http::{Request, Response};

use super::SyncServer;
use crate::engine::daemon::Daemon;
use crate::proto::sync_service_server::SyncServiceServer;

pub const DEFAULT_SOCKET: &str = "/run/cachicamo-sync/sidecar.sock";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("another sidecar is already serving on {0}; stop it first or choose another --socket")]
    AlreadyRunning(String),
    #[error("{0} exists and is not a socket; remove it or choose another --socket")]
    NotASocket(String),
    #[error("group {0:?} does not exist; create it or choose another --socket-group")]
    UnknownGroup(String),
    #[error("cannot prepare the socket {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("the reflection service could not be built: {0}")]
    Reflection(String),
}

#[derive(Debug, Clone)]
pub struct SocketOptions {
    pub path: PathBuf,
    pub group: Option<String>,
    pub mode: u32,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ServeError + '_ {
    move |source| ServeError::Io { path: path.display().to_string(), source }
}

/// Binds the socket with its final permissions already in place.
pub async fn bind(opts: &SocketOptions) -> Result<UnixListener, ServeError> {
    let path = &opts.path;
    let gid = match &opts.group {
        Some(name) => Some(
            Group::from_name(name)
                .map_err(|e| ServeError::Io { path: path.display().to_string(), source: e.into() })?
                .ok_or_else(|| ServeError::UnknownGroup(name.clone()))?
                .gid,
        ),
        None => None,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(io_err(dir))?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).map_err(io_err(dir))?;
        }
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match UnixStream::connect(path).await {
            Ok(_) => return Err(ServeError::AlreadyRunning(path.display().to_string())),
            Err(e) if e.kind() == ErrorKind::ConnectionRefused || e.kind() == ErrorKind::NotFound => {
                tracing::info!(socket = %path.display(), "replacing a stale socket");
                std::fs::remove_file(path).map_err(io_err(path))?;
            }
            Err(e) => return Err(ServeError::Io { path: path.display().to_string(), source: e }),
        },
        Ok(_) => return Err(ServeError::NotASocket(path.display().to_string())),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(ServeError::Io { path: path.display().to_string(), source: e }),
    }
    // The socket is created under a tight umask so it is never, even briefly, open to others.
    let old = umask(Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    umask(old);
    let listener = bound.map_err(io_err(path))?;
    if let Some(gid) = gid {
        chown(path, None, Some(gid)).map_err(|e| ServeError::Io { path: path.display().to_string(), source: e.into() })?;
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(opts.mode & 0o770)).map_err(io_err(path))?;
    Ok(listener)
}

/// Puts the calling thread first in line for a processor (SCHED_FIFO at the lowest real-time
/// priority), where the process may: a status request then waits neither behind the sync's own
/// threads nor behind the database's while a sync saturates the machine. The control plane only
/// moves bytes and answers from memory, so it takes little from anyone. Threads it starts fall
/// back to normal priority.
pub fn realtime_priority() -> std::io::Result<()> {
    let param = libc::sched_param { sched_priority: 1 };
    // SAFETY: sched_setscheduler reads `param` only; 0 names the calling thread.
    let result = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param) };
    if result == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// The largest request the server reads; tonic refuses messages over 4 MiB anyway.
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024 + 5;

/// How the control plane takes each call, before tonic routes it:
///
/// - It reads the request's whole body first. When tonic answers before reading the body (an
///   unknown method, say), it resets the stream, and the libcurl of Debian 12 (which the PHP
///   plugin uses) then sometimes loses the answer; with the body read first the answer always
///   arrives. Our requests are small unary or server-streaming calls, so nothing is lost by it.
/// - It runs every call except `GetStatus` and health checks on the engine's runtime. The control
///   plane's own thread then only moves bytes and answers from memory: a `StartSync` planning a
///   large catalog, or a selective sync decoding its answer, never holds up a status request
///   behind it. A call runs to its end there even when its caller hangs up, as a started command
///   should.
#[derive(Clone, Debug)]
pub struct ControlPlaneLayer {
    engine: tokio::runtime::Handle,
}

impl<S> tower::Layer<S> for ControlPlaneLayer {
    type Service = ControlPlane<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ControlPlane { inner, engine: self.engine.clone() }
    }
}

#[derive(Clone, Debug)]
pub struct ControlPlane<S> {
    inner: S,
    engine: tokio::runtime::Handle,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Calls cheap enough to answer on the control plane's thread.
fn answered_in_place(path: &str) -> bool {
    path == "/cachicamo.sync.v1.SyncService/GetStatus" || path.starts_with("/grpc.health.v1.Health/")
}

impl<S> tower::Service<Request<Body>> for ControlPlane<S>
where
    S: tower::Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone is the ready one; keep it for the call, per tower's contract.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let engine = self.engine.clone();
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let bytes = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(_) => return Ok(tonic::Status::resource_exhausted("the request is larger than 4 MiB").into_http()),
            };
            let request = Request::from_parts(parts, Body::new(Full::new(bytes)));
            if answered_in_place(request.uri().path()) {
                return inner.call(request).await.map_err(Into::into);
            }
            let call = inner.call(request);
            match engine.spawn(async move { call.await.map_err(Into::<BoxError>::into) }).await {
                Ok(answer) => answer,
                Err(e) => {
                    tracing::error!(error = %e, "a call crashed");
                    Ok(tonic::Status::internal("the sidecar failed while handling this call; its log has the details").into_http())
                }
            }
        })
    }
}

/// Serves until `shutdown` resolves, then stops the engine gracefully and removes the socket.
pub async fn serve(
    daemon: Daemon,
    engine_runtime: tokio::runtime::Handle,
    listener: UnixListener,
    path: PathBuf,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<SyncServiceServer<SyncServer>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    tracing::info!(socket = %path.display(), "serving");
    // The engine stops first (and open progress streams end), so the server's own graceful stop
    // does not wait on a watching admin panel.
    let engine = daemon.clone();
    let shutdown = async move {
        shutdown.await;
        engine.shutdown().await;
    };
    let result = tonic::transport::Server::builder()
        .layer(ControlPlaneLayer { engine: engine_runtime })
        .add_service(health)
        .add_service(reflection)
        .add_service(SyncServiceServer::new(SyncServer::new(daemon.clone())))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await;
    daemon.shutdown().await;
    let _ = std::fs::remove_file(&path);
    result.map_err(ServeError::from)
}
