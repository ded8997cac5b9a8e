//! Connecting to a running sidecar over its Unix socket, with errors that say what to do.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint, Uri};

use crate::proto::sync_service_client::SyncServiceClient;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("the sidecar is not running: there is no socket at {0}; start it with `cachicamo-sidecar serve`")]
    NoSocket(String),
    #[error("the sidecar is not running: nothing answers on {0}; start it with `cachicamo-sidecar serve`")]
    NotListening(String),
    #[error("permission denied on {0}: run as a member of the socket's group")]
    PermissionDenied(String),
    #[error("cannot connect to the sidecar on {path}: {message}")]
    Other { path: String, message: String },
}

pub async fn connect(path: &Path) -> Result<SyncServiceClient<Channel>, ClientError> {
    let shown = path.display().to_string();
    // Probe first, so each reason gets its own sentence instead of a generic transport error.
    match UnixStream::connect(path).await {
        Ok(_) => {}
        Err(e) => {
            return Err(match e.kind() {
                ErrorKind::NotFound => ClientError::NoSocket(shown),
                ErrorKind::ConnectionRefused => ClientError::NotListening(shown),
                ErrorKind::PermissionDenied => ClientError::PermissionDenied(shown),
                _ => ClientError::Other { path: shown, message: e.to_string() },
            })
        }
    }
    let socket: PathBuf = path.to_owned();
    let channel = Endpoint::from_static("http://localhost")
        .connect_with_connector(tower::service_fn(move |_: Uri| {
            let socket = socket.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(socket).await?)) }
        }))
        .await
        .map_err(|e| ClientError::Other { path: shown, message: e.to_string() })?;
    Ok(SyncServiceClient::new(channel).max_decoding_message_size(16 * 1024 * 1024))
}
