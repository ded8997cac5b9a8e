# Shared by the project's scripts: install what is missing and start MariaDB when it is down.
# Sourced, not run. Idempotent: on a prepared machine every step is a quick check.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CACHICAMO_TEST_DB_URL="${CACHICAMO_TEST_DB_URL:-mysql://cachicamo_test:cachicamo_test@127.0.0.1:3306}"

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local missing=()
  command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
  command -v mariadb >/dev/null 2>&1 || missing+=(mariadb-client)
  [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
  command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
  command -v cc >/dev/null 2>&1 || missing+=(build-essential)
  command -v php >/dev/null 2>&1 || missing+=(php8.2-cli)
  php -m 2>/dev/null | grep -qx curl || missing+=(php8.2-curl)
  php -m 2>/dev/null | grep -qx mysqli || missing+=(php8.2-mysql)
  php -m 2>/dev/null | grep -qx mbstring || missing+=(php8.2-mbstring)
  php -m 2>/dev/null | grep -qx xml || missing+=(php8.2-xml)
  command -v phpunit >/dev/null 2>&1 || missing+=(phpunit)
  php -m 2>/dev/null | grep -qx intl || missing+=(php8.2-intl)
  php -m 2>/dev/null | grep -qx gd || missing+=(php8.2-gd)
  php -m 2>/dev/null | grep -qx zip || missing+=(php8.2-zip)
  command -v xz >/dev/null 2>&1 || missing+=(xz-utils)
  command -v unzip >/dev/null 2>&1 || missing+=(unzip)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
  command -v setpriv >/dev/null 2>&1 || missing+=(util-linux)
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: install a Rust toolchain (1.88 or newer) with rustup first" >&2
    exit 1
  fi
}

mariadb_up() {
  mariadb-admin --protocol=tcp -h127.0.0.1 -P3306 -uroot ping >/dev/null 2>&1 \
    || mariadb-admin ping >/dev/null 2>&1
}

ensure_mariadb() {
  if ! mariadb_up; then
    say "starting MariaDB"
    as_root install -d -o mysql -g mysql /run/mysqld
    if [ ! -d /var/lib/mysql/mysql ]; then
      as_root mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
    fi
    as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    for _ in $(seq 1 60); do
      mariadb_up && break
      sleep 0.5
    done
    mariadb_up || { echo "MariaDB did not start; see its error log" >&2; exit 1; }
  fi
  # The tests and the demo use their own account, so they work whether root logs in by
  # password or by unix socket. It may create the per-test databases it needs.
  local sql="CREATE USER IF NOT EXISTS 'cachicamo_test'@'127.0.0.1' IDENTIFIED BY 'cachicamo_test';
    CREATE USER IF NOT EXISTS 'cachicamo_test'@'localhost' IDENTIFIED BY 'cachicamo_test';
    GRANT ALL PRIVILEGES ON *.* TO 'cachicamo_test'@'127.0.0.1' WITH GRANT OPTION;
    GRANT ALL PRIVILEGES ON *.* TO 'cachicamo_test'@'localhost' WITH GRANT OPTION;"
  if ! as_root mariadb -uroot -e "$sql" 2>/dev/null; then
    mariadb --protocol=tcp -h127.0.0.1 -uroot -e "$sql"
  fi
}
