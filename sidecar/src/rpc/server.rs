//! Serving the control plane on a Unix socket: mode 0660 with a chosen group, a stale socket
//! replaced only after probing that nobody answers on it, health and reflection services, and
//! a graceful stop.

use std::future::Future;
use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{umask, Mode};
use nix::unistd::{chown, Group};
use tokio::net::{UnixListener, UnixStream};
use tokio_stream::wrappers::UnixListenerStream;

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

/// Serves until `shutdown` resolves, then stops the engine gracefully and removes the socket.
pub async fn serve(daemon: Daemon, listener: UnixListener, path: PathBuf, shutdown: impl Future<Output = ()>) -> Result<(), ServeError> {
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter.set_serving::<SyncServiceServer<SyncServer>>().await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| ServeError::Reflection(e.to_string()))?;
    tracing::info!(socket = %path.display(), "serving");
    let result = tonic::transport::Server::builder()
        .add_service(health)
        .add_service(reflection)
        .add_service(SyncServiceServer::new(SyncServer::new(daemon.clone())))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await;
    daemon.shutdown().await;
    let _ = std::fs::remove_file(&path);
    result.map_err(ServeError::from)
}
