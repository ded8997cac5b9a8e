# The real store every test and the demo run on: the released WordPress 6.8.8, WooCommerce 10.0.2,
# WP-CLI 2.10.0 and Redis Object Cache 2.6.3, installed ONCE into a template database, then cloned
# per test (CREATE TABLE … LIKE + INSERT … SELECT, all inside the server). Sourced after
# scripts/lib.sh, never run.
#
#   store_template            prints the template database's name; builds it when its inputs changed
#   store_clone SRC DST       copies every table of database SRC into a new database DST
#   store_site DIR DB URL     a WordPress tree in DIR (hard links to the releases) with its own
#                             wp-config.php for database DB, served at URL
#   wp_cli ARGS…              the real WP-CLI phar
#   free_port [PREFERRED]     a free loopback port (PREFERRED when it is free)
#   simulator_url OUT [LOG]   waits for the simulator's "listening on" line in OUT, prints its URL
#   wait_for_socket SOCK LOG  waits for a sidecar's socket; fails showing its LOG

STORE_HOME="${CACHICAMO_STORE_HOME:-$ROOT/target/wp-store}"
STORE_SHARED="${CACHICAMO_WP_RELEASES:-$ROOT/../shared/wordpress}"
STORE_RELEASES="$STORE_HOME/releases"
STORE_DB_USER=cachicamo_test
STORE_DB_PASS=cachicamo_test
STORE_ADMIN_USER=admin
STORE_ADMIN_PASS=cachicamo-admin-pass

store_sql() { mariadb --protocol=tcp -h127.0.0.1 -u"$STORE_DB_USER" -p"$STORE_DB_PASS" -N -B -e "$1"; }

wp_cli() {
  local root=()
  [ "$(id -u)" -eq 0 ] && root=(--allow-root)
  php -d memory_limit=512M "$STORE_RELEASES/wp-cli.phar" "${root[@]}" "$@"
}

free_port() {
  python3 -c 'import socket, sys
s = socket.socket()
try: s.bind(("127.0.0.1", int(sys.argv[1])))
except (IndexError, OSError): s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' "$@"
}

simulator_url() {
  local out="$1" log="${2:-$1}"
  for _ in $(seq 1 100); do grep -q '^listening on ' "$out" 2>/dev/null && break; sleep 0.1; done
  grep -q '^listening on ' "$out" 2>/dev/null || { cat "$log" >&2; echo "the simulator did not start" >&2; return 1; }
  sed -n 's/^listening on //p' "$out" | head -n1
}

wait_for_socket() {
  local socket="$1" log="$2"
  for _ in $(seq 1 100); do [ -S "$socket" ] && return 0; sleep 0.1; done
  cat "$log" >&2
  echo "the sidecar did not start" >&2
  return 1
}

# Fetches one release into $STORE_HOME/downloads when ../shared/wordpress is not beside the
# project, so the README's commands work on any machine with internet.
store_download() {
  local url="$1" out="$2"
  mkdir -p "$STORE_HOME/downloads"
  [ -s "$out" ] || { say "downloading $url"; curl -fsSL --retry 3 -o "$out.part" "$url" && mv "$out.part" "$out"; }
}

# Extracts the releases once per set of checksums into $STORE_RELEASES.
store_releases() {
  local sums
  if [ -f "$STORE_SHARED/SHA256SUMS" ]; then
    (cd "$STORE_SHARED" && sha256sum --quiet -c SHA256SUMS) \
      || { echo "the releases in $STORE_SHARED do not match their SHA256SUMS" >&2; return 1; }
    sums="$(cat "$STORE_SHARED/SHA256SUMS")"
  else
    sums="downloaded $(cat "$ROOT/tests/store/wp-cli.sha256")"
  fi
  [ -f "$STORE_RELEASES/.sums" ] && [ "$(cat "$STORE_RELEASES/.sums")" = "$sums" ] && return 0
  say "extracting WordPress 6.8.8, WooCommerce 10.0.2 and Redis Object Cache 2.6.3"
  rm -rf "$STORE_RELEASES" && mkdir -p "$STORE_RELEASES"
  if [ -f "$STORE_SHARED/SHA256SUMS" ]; then
    tar -xJf "$STORE_SHARED/wordpress-6.8.8.tar.xz" -C "$STORE_RELEASES"
    tar -xJf "$STORE_SHARED/woocommerce-10.0.2.tar.xz" -C "$STORE_RELEASES/wordpress/wp-content/plugins"
    tar -xJf "$STORE_SHARED/redis-cache-2.6.3.tar.xz" -C "$STORE_RELEASES/wordpress/wp-content/plugins"
    cp "$STORE_SHARED/wp-cli-2.10.0.phar" "$STORE_RELEASES/wp-cli.phar"
  else
    local d="$STORE_HOME/downloads"
    store_download https://wordpress.org/wordpress-6.8.8.tar.gz "$d/wordpress-6.8.8.tar.gz"
    store_download https://downloads.wordpress.org/plugin/woocommerce.10.0.2.zip "$d/woocommerce.10.0.2.zip"
    store_download https://downloads.wordpress.org/plugin/redis-cache.2.6.3.zip "$d/redis-cache.2.6.3.zip"
    store_download https://github.com/wp-cli/wp-cli/releases/download/v2.10.0/wp-cli-2.10.0.phar "$d/wp-cli-2.10.0.phar"
    # The phar is pinned here; core and the plugins are checked file by file against
    # WordPress's published checksums (`wp core/plugin verify-checksums`).
    (cd "$d" && sha256sum --quiet -c "$ROOT/tests/store/wp-cli.sha256") \
      || { echo "the downloaded WP-CLI does not match tests/store/wp-cli.sha256" >&2; return 1; }
    tar -xzf "$d/wordpress-6.8.8.tar.gz" -C "$STORE_RELEASES"
    (cd "$STORE_RELEASES/wordpress/wp-content/plugins" && unzip -q "$d/woocommerce.10.0.2.zip" && unzip -q "$d/redis-cache.2.6.3.zip")
    cp "$d/wp-cli-2.10.0.phar" "$STORE_RELEASES/wp-cli.phar"
    wp_cli core verify-checksums --version=6.8.8 --path="$STORE_RELEASES/wordpress"
    touch "$STORE_RELEASES/.downloaded"
  fi
  # WordPress's own sample config and the default themes we do not run stay out of every site.
  rm -f "$STORE_RELEASES/wordpress/wp-config-sample.php"
  printf '%s' "$sums" > "$STORE_RELEASES/.sums"
}

# A site tree: core and the releases' plugins as hard links (nothing writes into them), the
# project's plugin as a real copy, wp-content/uploads of its own.
store_site() {
  local dir="$1" db="$2" url="$3"
  rm -rf "$dir"
  cp -al "$STORE_RELEASES/wordpress" "$dir"
  rm -rf "$dir/wp-content/plugins/cachicamo-sync"
  cp -r "$ROOT/wp-plugin" "$dir/wp-content/plugins/cachicamo-sync"
  mkdir -p "$dir/wp-content/uploads"
  cat > "$dir/wp-config.php" <<PHP
<?php
define( 'DB_NAME', '$db' );
define( 'DB_USER', '$STORE_DB_USER' );
define( 'DB_PASSWORD', '$STORE_DB_PASS' );
define( 'DB_HOST', '127.0.0.1:3306' );
define( 'DB_CHARSET', 'utf8mb4' );
define( 'DB_COLLATE', '' );
\$table_prefix = 'wp_';
define( 'WP_HOME', '$url' );
define( 'WP_SITEURL', '$url' );
define( 'AUTH_KEY', 'test' ); define( 'SECURE_AUTH_KEY', 'test' ); define( 'LOGGED_IN_KEY', 'test' ); define( 'NONCE_KEY', 'test' );
define( 'AUTH_SALT', 'test' ); define( 'SECURE_AUTH_SALT', 'test' ); define( 'LOGGED_IN_SALT', 'test' ); define( 'NONCE_SALT', 'test' );
// The machine is offline: WordPress and WooCommerce must not wait on the internet.
define( 'WP_HTTP_BLOCK_EXTERNAL', true );
define( 'AUTOMATIC_UPDATER_DISABLED', true );
define( 'WP_DEBUG', true );
define( 'WP_DEBUG_DISPLAY', false );
define( 'WP_DEBUG_LOG', '$dir/wp-content/debug.log' );
// Site-specific lines (socket, cron, cache) go in this file, written by whoever made the site.
if ( file_exists( __DIR__ . '/wp-config-local.php' ) ) { require __DIR__ . '/wp-config-local.php'; }
if ( ! defined( 'ABSPATH' ) ) { define( 'ABSPATH', __DIR__ . '/' ); }
require_once ABSPATH . 'wp-settings.php';
PHP
  # php -S sends every path it cannot find to WordPress, as a web server's rewrite rules do.
  cp "$ROOT/tests/store/router.php" "$dir/router.php"
}

store_clone() {
  local src="$1" dst="$2" tables t sql
  store_sql "DROP DATABASE IF EXISTS \`$dst\`; CREATE DATABASE \`$dst\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci"
  tables="$(store_sql "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$src' AND TABLE_TYPE = 'BASE TABLE'")"
  sql="SET SESSION foreign_key_checks = 0;"
  for t in $tables; do
    sql+="CREATE TABLE \`$dst\`.\`$t\` LIKE \`$src\`.\`$t\`; INSERT INTO \`$dst\`.\`$t\` SELECT * FROM \`$src\`.\`$t\`;"
  done
  store_sql "$sql"
}

# What the template depends on: the releases, the plugin and this installer.
store_inputs_hash() {
  { cat "$STORE_RELEASES/.sums"; find "$ROOT/wp-plugin" "$ROOT/tests/store" -type f -print0 | sort -z | xargs -0 sha256sum | sed "s#$ROOT/##"; } \
    | sha256sum | cut -c1-12
}

# A new shop as its owner would have it after installing WordPress and WooCommerce and
# activating Cachicamo Sync: HPOS on (WooCommerce's default for new stores), onboarding skipped.
store_install() {
  local site="$1"
  wp_cli --path="$site" core install --url=http://127.0.0.1 --title="Cachicamo Sync test shop" \
    --admin_user="$STORE_ADMIN_USER" --admin_password="$STORE_ADMIN_PASS" --admin_email=admin@example.com --skip-email
  wp_cli --path="$site" user create subscriber subscriber@example.com --role=subscriber --user_pass=subscriber-pass
  wp_cli --path="$site" plugin activate woocommerce
  wp_cli --path="$site" eval-file "$ROOT/tests/store/settle.php"
  # The first visits run WP-Cron and Action Scheduler once (WooCommerce's own setup jobs).
  wp_cli --path="$site" cron event run --due-now >/dev/null
  wp_cli --path="$site" action-scheduler run >/dev/null
  [ -f "$STORE_RELEASES/.downloaded" ] && wp_cli --path="$site" plugin verify-checksums woocommerce redis-cache
  wp_cli --path="$site" plugin activate cachicamo-sync
}

store_template() {
  mkdir -p "$STORE_HOME"
  (
    flock 9
    store_releases >&2
    local hash db site
    hash="$(store_inputs_hash)"
    db="cachicamo_store_$hash"
    if [ "$(store_sql "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '$db' AND TABLE_NAME = 'cachicamo_store_ready'")" != 1 ]; then
      say "installing WordPress 6.8.8 + WooCommerce 10.0.2 + Cachicamo Sync into template database $db"
      site="$STORE_HOME/template-site"
      store_sql "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci"
      store_site "$site" "$db" http://127.0.0.1
      store_install "$site" >&2
      store_sql "CREATE TABLE \`$db\`.cachicamo_store_ready (inputs CHAR(12) NOT NULL) ENGINE=InnoDB; INSERT INTO \`$db\`.cachicamo_store_ready VALUES ('$hash')"
      # Templates of earlier inputs are of no further use once no run can still be cloning them.
      for old in $(store_sql "SELECT TABLE_SCHEMA FROM information_schema.TABLES WHERE TABLE_NAME = 'cachicamo_store_ready' AND TABLE_SCHEMA <> '$db' AND CREATE_TIME < NOW() - INTERVAL 1 HOUR"); do
        store_sql "DROP DATABASE \`$old\`"
      done
    fi
    echo "$db"
  ) 9>"$STORE_HOME/.lock"
}
