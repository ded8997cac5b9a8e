//! `cachicamo-sidecar doctor`: checks everything a sync depends on and says what to fix.

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use cachicamo_sidecar::cachicamo::client::ClientOptions;
use cachicamo_sidecar::cachicamo::Client;
use cachicamo_sidecar::config::ConfigArgs;
use cachicamo_sidecar::proto;
use cachicamo_sidecar::rpc::client;
use cachicamo_sidecar::store::Store;

struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    /// Structured detail for `--json`, under the key `config`.
    data: Option<serde_json::Value>,
}

/// A clock this far off the database's is reported: schedules and timestamps would read wrong.
const MAX_SKEW_MS: i64 = 5_000;

pub async fn run(args: &ConfigArgs, socket: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let mut checks = Vec::new();
    let mut config_data = None;
    let mut add = |name, ok, detail: String| checks.push(Check { name, ok, detail, data: None });
    match args.resolve_explained() {
        Err(e) => add("configuration", false, e.to_string()),
        Ok((config, sources)) => {
            // Which database and prefix the sync will write, and why: a wrong one is silent otherwise.
            add("configuration", true, format!("{}, API {}", sources.summary(&config), config.api_url));
            config_data = Some(sources.to_json(&config));
            let store = Store::new(&config.db, config.prefix.clone(), 1, 2);
            match store.check().await {
                Err(e) => add("database", false, e.to_string()),
                Ok(()) => {
                    let version = store.schema_version().await.map(|v| format!(", schema version {v}")).unwrap_or_default();
                    add("database", true, format!("WordPress tables found{version}"));
                    match store.clock_skew_ms().await {
                        Ok(skew) if skew.abs() <= MAX_SKEW_MS => add("clock", true, format!("{skew} ms from the database's clock")),
                        Ok(skew) => add("clock", false, format!("this machine's clock is {skew} ms off the database's; run NTP on both")),
                        Err(e) => add("clock", false, e.to_string()),
                    }
                    match store.load_settings().await {
                        Err(e) => add("settings", false, e.to_string()),
                        Ok(settings) => {
                            let token = config.access_token.clone().or(settings.plugin.access_token.clone());
                            let store_uuid = config.store_uuid.clone().or(settings.plugin.store_uuid.clone());
                            let missing: Vec<&str> = [("access token", token.is_none()), ("store UUID", store_uuid.is_none())]
                                .iter()
                                .filter(|(_, m)| *m)
                                .map(|(n, _)| *n)
                                .collect();
                            if missing.is_empty() {
                                add(
                                    "settings",
                                    true,
                                    format!(
                                        "{} price, every {} minutes, shop currency {}",
                                        settings.plugin.price_tier.name(),
                                        settings.plugin.interval_minutes,
                                        settings.shop.currency
                                    ),
                                );
                            } else {
                                add("settings", false, format!("no {} in WooCommerce → Settings → Integration → Cachicamo App", missing.join(" and no ")));
                            }
                            if let (Some(token), Some(store_uuid)) = (token, store_uuid) {
                                let api = Client::new(ClientOptions {
                                    base_url: config.api_url.clone(),
                                    access_token: token,
                                    store_uuid,
                                    timeout: Duration::from_secs(10),
                                    attempts: 1,
                                    rate_limit: 10.0,
                                    min_backoff: Duration::from_millis(100),
                                    stats: None,
                                });
                                match api {
                                    Err(e) => add("cachicamo api", false, e.to_string()),
                                    Ok(api) => match api.get_json("/users/configuration").await {
                                        Ok(_) => add("cachicamo api", true, format!("{} answers and accepts the token", config.api_url)),
                                        Err(e) => add("cachicamo api", false, e.to_string()),
                                    },
                                }
                            }
                        }
                    }
                }
            }
            store.disconnect().await;
        }
    }
    match std::fs::metadata(socket) {
        Err(_) => add("socket", false, format!("no socket at {}: start `cachicamo-sidecar serve` (or the service)", socket.display())),
        Ok(meta) if !meta.file_type().is_socket() => add("socket", false, format!("{} is not a socket", socket.display())),
        Ok(meta) => {
            let mode = meta.permissions().mode() & 0o777;
            let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(meta.gid())).ok().flatten().map(|g| g.name).unwrap_or_else(|| meta.gid().to_string());
            match client::connect(socket).await {
                Err(e) => add("socket", false, e.to_string()),
                Ok(mut c) => match c.get_status(proto::GetStatusRequest {}).await {
                    Ok(s) => {
                        let s = s.into_inner();
                        let others = mode & 0o007 != 0;
                        add(
                            "socket",
                            !others,
                            if others {
                                format!("{} is open to every user (mode {mode:o}); restart the sidecar", socket.display())
                            } else {
                                format!("{} (mode {mode:o}, group {group}), sidecar {} answers", socket.display(), s.version)
                            },
                        );
                    }
                    Err(e) => add("socket", false, e.message().to_owned()),
                },
            }
        }
    }

    if let Some(check) = checks.iter_mut().find(|c| c.name == "configuration") {
        check.data = config_data;
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if json {
        let out: Vec<serde_json::Value> = checks
            .iter()
            .map(|c| {
                let mut v = serde_json::json!({"check": c.name, "ok": c.ok, "detail": c.detail});
                if let Some(data) = &c.data {
                    v["config"] = data.clone();
                }
                v
            })
            .collect();
        println!("{}", serde_json::Value::Array(out));
    } else {
        for c in &checks {
            println!("{:<14} {:<4} {}", c.name, if c.ok { "ok" } else { "FAIL" }, c.detail);
        }
        println!("{}", if failed == 0 { "All checks passed.".to_owned() } else { format!("{failed} of {} checks failed.", checks.len()) });
    }
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
