//! Tests of the test kit itself: seeding, store checks and the API simulator.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use cachicamo_testkit::check::{compare_with_expected, mismatches, product_state, CompareOptions};
use cachicamo_testkit::seed::{seed_store, SeedError, SeedOptions, SETTINGS_OPTION};
use cachicamo_testkit::sim::{self, MalformedKind, SimHandle, SimOptions};
use cachicamo_testkit::testdb::{TestDb, TestStore, TEST_PREFIX};
use cachicamo_testkit::{Dataset, ProductKind};
use mysql_async::prelude::Queryable;
use serde_json::{json, Value};

const TOKEN: &str = "t0k3n";
const STORE: &str = "11111111-2222-4333-8444-555555555555";

fn small_store() -> SeedOptions {
    SeedOptions {
        simple: 60,
        variable: 5,
        variations: 4,
        virtual_fraction: 0.1,
        seed: 7,
        ..SeedOptions::default()
    }
}

async fn count(db: &TestDb, sql: &str) -> u64 {
    let mut conn = db.pool.get_conn().await.expect("connection");
    conn.query_first(sql)
        .await
        .expect("query")
        .unwrap_or_default()
}

#[tokio::test]
async fn seeded_store_matches_its_dataset() {
    let opts = small_store();
    let (db, dataset) = TestStore::seed(&opts).await.expect("seed");
    let total = 60 + 5 * (1 + 4);
    assert_eq!(dataset.expected.len(), total);
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM wp_posts WHERE post_type IN ('product', 'product_variation')").await,
        total as u64,
        "the real store's own pages are not products"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM wp_posts WHERE post_type = 'product_variation'"
        )
        .await,
        20
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM wp_wc_product_meta_lookup").await,
        total as u64
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM wp_postmeta WHERE meta_key = '_virtual' AND meta_value = 'yes'"
        )
        .await,
        6
    );
    let missing = dataset.expected.iter().filter(|p| !p.found).count();
    assert_eq!(missing, 2, "2% of 80 products, rounded");
    assert_eq!(dataset.items.len(), total - missing);

    // Odd and absent SKUs are present even in a small catalog.
    let skus: Vec<&str> = dataset.expected.iter().map(|p| p.sku.as_str()).collect();
    assert!(skus.iter().any(|s| s.starts_with("O'Brien \"Tee\" ")));
    assert!(skus.iter().any(|s| s.starts_with("Café-ñ-")));
    assert!(skus.iter().any(|s| s.is_empty()));
    let unique: BTreeSet<&&str> = skus.iter().filter(|s| !s.is_empty()).collect();
    assert_eq!(unique.len(), skus.iter().filter(|s| !s.is_empty()).count());

    // Before any sync the store differs exactly where the dataset says so.
    let found = mismatches(
        &db.pool,
        TEST_PREFIX,
        &dataset.expected,
        CompareOptions::default(),
    )
    .await
    .expect("compare");
    let reported: BTreeSet<u64> = found.iter().map(|m| m.product_id).collect();
    let differing: BTreeSet<u64> = dataset
        .expected
        .iter()
        .filter(|p| p.differs)
        .map(|p| p.product_id)
        .collect();
    assert!(!differing.is_empty());
    assert_eq!(reported, differing, "{found:#?}");
    for p in dataset
        .expected
        .iter()
        .filter(|p| p.differs && p.kind == ProductKind::Simple)
    {
        let fields: BTreeSet<&str> = found
            .iter()
            .filter(|m| m.product_id == p.product_id)
            .map(|m| m.field.as_str())
            .collect();
        assert!(
            fields.contains("_stock") && fields.contains("_regular_price"),
            "{fields:?}"
        );
    }

    // Stored values follow WooCommerce's conventions.
    let out = dataset
        .expected
        .iter()
        .find(|p| !p.differs && p.kind == ProductKind::Simple && p.stock == Some(0))
        .expect("an out-of-stock simple product");
    let state = product_state(&db.pool, TEST_PREFIX, out.product_id)
        .await
        .expect("state");
    assert_eq!(state.stock.as_deref(), Some("0"));
    assert_eq!(state.stock_status, "outofstock");
    assert_eq!(state.manage_stock, "yes");
    assert!(state.has_outofstock_term);
    let lookup = state.lookup.expect("lookup row");
    assert_eq!(lookup.stock_quantity, Some(0.0));
    assert_eq!(lookup.min_price, out.min_price);

    let parent = dataset
        .expected
        .iter()
        .find(|p| p.kind == ProductKind::Variable)
        .expect("a variable product");
    let state = product_state(&db.pool, TEST_PREFIX, parent.product_id)
        .await
        .expect("state");
    assert_eq!(state.stock, None);
    assert_eq!(state.manage_stock, "no");
    assert!(!state.price_rows.is_empty());

    let settings: Option<String> = {
        let mut conn = db.pool.get_conn().await.expect("connection");
        conn.exec_first(
            "SELECT option_value FROM wp_options WHERE option_name = ?",
            (SETTINGS_OPTION,),
        )
        .await
        .expect("query")
    };
    let settings = settings.expect("plugin settings");
    assert!(
        settings.starts_with("a:6:{s:12:\"access_token\";s:10:\"demo-token\";"),
        "{settings}"
    );

    // A second seed into the same catalog is refused.
    match seed_store(&db.pool, TEST_PREFIX, &opts).await {
        Err(SeedError::CatalogNotEmpty { count, .. }) => assert_eq!(count, total as u64),
        other => panic!("expected CatalogNotEmpty, got {other:?}"),
    }
}

#[tokio::test]
async fn seeding_is_deterministic_and_in_sync_without_differences() {
    let opts = SeedOptions {
        simple: 30,
        variable: 3,
        variations: 3,
        differ: 0.0,
        seed: 99,
        ..SeedOptions::default()
    };
    let (db_a, a) = TestStore::seed(&opts).await.expect("seed a");
    let (_db_b, b) = TestStore::seed(&opts).await.expect("seed b");
    assert_eq!(a, b);
    assert!(a.expected.iter().all(|p| !p.differs));
    let report = compare_with_expected(&db_a.pool, TEST_PREFIX, &a.expected)
        .await
        .expect("compare");
    assert!(report.is_empty(), "{report:#?}");

    // Tampering with one product is reported for that product only.
    let victim = a
        .expected
        .iter()
        .find(|p| p.stock.is_some())
        .expect("stocked product");
    let mut conn = db_a.pool.get_conn().await.expect("connection");
    conn.exec_drop(
        "UPDATE wp_postmeta SET meta_value = '9999.000000' WHERE post_id = ? AND meta_key = '_stock'",
        (victim.product_id,),
    )
    .await
    .expect("update");
    drop(conn);
    let report = compare_with_expected(&db_a.pool, TEST_PREFIX, &a.expected)
        .await
        .expect("compare");
    assert_eq!(report.len(), 1, "{report:#?}");
    assert!(
        report[0].starts_with(&format!("#{} ", victim.product_id)),
        "{}",
        report[0]
    );
}

fn sim_dataset() -> Dataset {
    let item = |uuid: &str, skus: &[&str], stock: i64, is_virtual: bool| {
        json!({
            "product_uuid": uuid, "sku_list": skus, "stock_available": 0, "stock_billable": stock,
            "stock_locked": 0, "stock_transit": 0, "warehouse_location": null, "tax_uuid": null,
            "is_virtual": is_virtual,
            "price": {"uuid": "p", "currency_uuid": "usd", "price_type": "UNIT", "active": true,
                "amount_retail": 122700,
                "amount_retail_format": {"amount_float": 12.27, "amount_format": "$ 12,27", "currency_iso": "USD"}}
        })
    };
    Dataset {
        access_token: TOKEN.to_owned(),
        store_uuid: STORE.to_owned(),
        users_configuration: json!({"base_currency_uuid": "usd"}),
        stores_configuration: json!({"default_tax_uuid": "t16"}),
        currencies: json!({"USD": {"uuid": "usd", "iso": "USD", "name": "US Dollar"}}),
        currency_rates: json!({"system_rates": {"VES": {"rate": 36.0}}, "user_rates": {}}),
        taxes: json!([{"uuid": "t16", "tax_rate": 16, "tax_family": "IVA", "tax_code": "G", "name": "IVA"}]),
        taxes_store: json!([{"tax_uuid": "t16"}]),
        items: vec![
            item("cccc", &["C-1", "WC-3"], 3, false),
            item("aaaa", &["A-1", "WC-1"], -2, false),
            item("bbbb", &["WC-2"], 7, false),
            item("dddd", &["V-1", "WC-4"], 0, true),
        ],
        expected: Vec::new(),
    }
}

async fn start_sim(opts: SimOptions) -> SimHandle {
    sim::start(sim_dataset(), opts, "127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("simulator starts")
}

struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(sim: &SimHandle) -> Self {
        Api {
            http: reqwest::Client::new(),
            base: sim.base_url(),
        }
    }

    async fn batch(&self, query: &str, skus: &[&str]) -> (u16, Value) {
        self.send(
            self.http
                .post(format!("{}/inventories/batch/sku{query}", self.base))
                .bearer_auth(TOKEN)
                .header("X-Store-Uuid", STORE)
                .json(&json!({ "sku_list": skus })),
        )
        .await
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (u16, Value) {
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let text = res.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

fn uuids(body: &Value) -> Vec<&str> {
    body.as_array()
        .expect("array body")
        .iter()
        .filter_map(|i| i["product_uuid"].as_str())
        .collect()
}

#[tokio::test]
async fn simulator_answers_batches() {
    let sim = start_sim(SimOptions::default()).await;
    let api = Api::new(&sim);

    let (status, body) = api
        .batch(
            "?with_price=1&include_virtual=1",
            &["WC-3", "C-1", "WC-1", "nope", "V-1"],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(uuids(&body), ["aaaa", "cccc", "dddd"]);
    assert_eq!(body[0]["stock_billable"], json!(-2));
    assert_eq!(
        body[0]["price"]["amount_retail_format"]["amount_float"],
        json!(12.27)
    );

    let (status, body) = api.batch("", &["A-1", "WC-2", "V-1"]).await;
    assert_eq!(status, 200);
    assert_eq!(
        uuids(&body),
        ["aaaa", "bbbb"],
        "virtual items need include_virtual=1"
    );
    assert!(
        body[0].get("price").is_none(),
        "price only with with_price=1"
    );

    let unauthenticated = api
        .send(
            api.http
                .post(format!("{}/inventories/batch/sku", api.base))
                .json(&json!({"sku_list": ["A-1"]})),
        )
        .await;
    assert_eq!(
        unauthenticated,
        (401, json!({"message": "Unauthenticated."}))
    );
    let wrong_token = api
        .send(
            api.http
                .get(format!("{}/taxes", api.base))
                .bearer_auth("nope")
                .header("X-Store-Uuid", STORE),
        )
        .await;
    assert_eq!(wrong_token.0, 401);
    let wrong_store = api
        .send(
            api.http
                .get(format!("{}/taxes", api.base))
                .bearer_auth(TOKEN)
                .header("X-Store-Uuid", "other"),
        )
        .await;
    assert_eq!(wrong_store, (403, json!({"message": "Forbidden"})));
    let users = api
        .send(
            api.http
                .get(format!("{}/users/configuration", api.base))
                .bearer_auth(TOKEN),
        )
        .await;
    assert_eq!(users, (200, json!({"base_currency_uuid": "usd"})));
    let rates = api
        .send(
            api.http
                .get(format!("{}/currencies/rates", api.base))
                .bearer_auth(TOKEN)
                .header("X-Store-Uuid", STORE),
        )
        .await;
    assert_eq!(rates.1["system_rates"]["VES"]["rate"], json!(36.0));

    let many: Vec<String> = (0..501).map(|i| format!("S-{i}")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    assert_eq!(
        api.batch("", &many).await,
        (413, json!({"message": "Too many SKUs"}))
    );
    assert_eq!(api.batch("", &many[..500]).await, (200, json!([])));
    let bad = api
        .send(
            api.http
                .post(format!("{}/inventories/batch/sku", api.base))
                .bearer_auth(TOKEN)
                .header("X-Store-Uuid", STORE)
                .body("{not json"),
        )
        .await;
    assert_eq!(bad.0, 400);
    assert!(bad.1["message"].is_string());

    let unknown = api
        .send(api.http.get(format!("{}/inventories", api.base)))
        .await;
    assert_eq!(unknown, (404, json!({"message": "Not Found"})));

    let stats = sim.stats();
    assert_eq!(stats.total_requests, 11);
    assert_eq!(stats.batch_requests, 6);
    assert_eq!(stats.batch_arrivals_ms.len(), 6);
    assert_eq!(stats.by_status.get(&200), Some(&5));
    assert_eq!(stats.by_status.get(&401), Some(&2));
    assert_eq!(stats.by_path.get("/inventories/batch/sku"), Some(&6));
    assert_eq!(stats.by_path.get("/inventories"), Some(&1));
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn simulator_injects_faults() {
    let sim = start_sim(SimOptions::default()).await;
    let api = Api::new(&sim);
    let faults = sim.faults();

    faults.fail_sku("WC-2");
    assert_eq!(
        api.batch("", &["A-1", "WC-2"]).await,
        (500, json!({"message": "Server Error"}))
    );
    assert_eq!(api.batch("", &["WC-2"]).await.0, 500);
    assert_eq!(api.batch("", &["A-1"]).await.0, 200);

    faults.malformed_for_sku("C-1", MalformedKind::Object);
    let (status, body) = api.batch("", &["C-1"]).await;
    assert_eq!(status, 200);
    assert!(body["data"].is_array(), "{body}");
    faults.malformed_for_sku("A-1", MalformedKind::Truncated);
    let (status, body) = api.batch("", &["A-1"]).await;
    assert_eq!(status, 200);
    assert!(body.is_string(), "truncated JSON does not parse: {body}");
    faults.clear();
    faults.malformed_for_sku("WC-1", MalformedKind::WrongTypes);
    let (status, body) = api.batch("?with_price=1", &["WC-1", "WC-3"]).await;
    assert_eq!(status, 200);
    assert_eq!(body[0]["stock_billable"], json!("plenty"));
    assert_eq!(body[1]["stock_billable"], json!(3));
    faults.clear();

    assert!(faults.set_stock("C-1", 42));
    assert_eq!(
        api.batch("", &["WC-3"]).await.1[0]["stock_billable"],
        json!(42)
    );
    assert!(faults.set_item(
        "bbbb",
        json!({"product_uuid": "bbbb", "sku_list": ["NEW-1"], "stock_billable": 1})
    ));
    assert_eq!(api.batch("", &["WC-2"]).await, (200, json!([])));
    assert_eq!(uuids(&api.batch("", &["NEW-1"]).await.1), ["bbbb"]);

    faults.set_error_rate(1.0);
    assert_eq!(api.batch("", &["A-1"]).await.0, 500);
    faults.set_error_rate(0.0);

    faults.set_rate_limit(Some(2.0));
    let mut limited = 0;
    for _ in 0..6 {
        let res = api
            .http
            .get(format!("{}/taxes", api.base))
            .bearer_auth(TOKEN)
            .header("X-Store-Uuid", STORE)
            .send()
            .await
            .expect("request");
        if res.status().as_u16() == 429 {
            limited += 1;
            assert_eq!(
                res.headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok()),
                Some("1")
            );
            let body: Value = res.json().await.expect("json");
            assert_eq!(body, json!({"error": "Too Many Attempts."}));
        }
    }
    assert!(limited >= 3, "only {limited} requests were limited");
    faults.set_rate_limit(None);

    faults.set_latency_ms(150);
    let started = std::time::Instant::now();
    assert_eq!(api.batch("", &["A-1"]).await.0, 200);
    assert!(started.elapsed().as_millis() >= 150);
    faults.set_latency_ms(0);

    // The same controls over HTTP.
    let (status, _) = api
        .send(
            api.http
                .post(format!("{}/__sim/stock", api.base))
                .json(&json!({"sku": "A-1", "stock_billable": 5.5})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        api.batch("", &["A-1"]).await.1[0]["stock_billable"],
        json!(5.5)
    );
    let (status, _) = api
        .send(
            api.http
                .post(format!("{}/__sim/faults", api.base))
                .json(&json!({"fail_skus": ["A-1"]})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(api.batch("", &["A-1"]).await.0, 500);
    let (status, stats) = api
        .send(api.http.get(format!("{}/__sim/stats", api.base)))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stats["by_status"]["429"].as_u64(), Some(limited));
    assert_eq!(
        stats["total_requests"].as_u64(),
        Some(sim.stats().total_requests)
    );
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn simulator_compresses_when_asked() {
    let sim = start_sim(SimOptions::default()).await;
    let res = reqwest::Client::builder()
        .no_gzip()
        .build()
        .expect("client")
        .get(format!("{}/currencies", sim.base_url()))
        .bearer_auth(TOKEN)
        .header("X-Store-Uuid", STORE)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(
        res.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    sim.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn binaries_seed_and_serve() {
    let db = TestDb::create_store("shop_").await.expect("a clone of the real store");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("dataset.json");
    let status = Command::new(env!("CARGO_BIN_EXE_seed-store"))
        .args([
            "--db-url",
            &db.url,
            "--table-prefix",
            "shop_",
            "--simple",
            "20",
            "--variable",
            "2",
        ])
        .args([
            "--variations",
            "3",
            "--seed",
            "5",
            "--access-token",
            TOKEN,
            "--store-uuid",
            STORE,
        ])
        .arg("--dataset-out")
        .arg(&out)
        .status()
        .expect("seed-store runs");
    assert!(status.success());
    let dataset = Dataset::load(&out).expect("dataset");
    assert_eq!(dataset.expected.len(), 28);
    let report = compare_with_expected(&db.pool, "shop_", &dataset.expected)
        .await
        .expect("compare");
    assert_eq!(
        !report.is_empty(),
        dataset.expected.iter().any(|p| p.differs)
    );

    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_cachicamo-sim"))
            .arg("--dataset")
            .arg(&out)
            .args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("cachicamo-sim runs"),
    );
    let mut line = String::new();
    let stdout = child.0.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .expect("ready line")
        .to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{line}");
    let keys = dataset.scan_keys();
    let res = reqwest::Client::new()
        .post(format!(
            "{base}/inventories/batch/sku?with_price=1&include_virtual=1"
        ))
        .bearer_auth(TOKEN)
        .header("X-Store-Uuid", STORE)
        .json(&json!({ "sku_list": keys }))
        .send()
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    let items: Vec<Value> = res.json().await.expect("items");
    assert_eq!(items.len(), dataset.items.len());
    assert_eq!(items, dataset.items);
}

/// Stops the simulator whether the test passes or panics.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
