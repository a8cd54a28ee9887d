#!/usr/bin/env bash
# What the production image does, without a Docker engine: a production-only install (no dev
# dependencies, no build tools) of the compiled service, started as the image starts it
# (NODE_ENV=production) on PostgreSQL and Redis, then the CLI used there as an operator would
# (`latchkey user:create`, `latchkey user:list`). Needs `npm run build` first, DATABASE_URL and
# REDIS_URL. Uses a database and a Redis key prefix of its own, and removes them.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DATABASE_URL:?set DATABASE_URL}" "${REDIS_URL:?set REDIS_URL}"
admin_url=$DATABASE_URL
[ -f dist/src/main.js ] || { echo "run npm run build first"; exit 1; }

work=$(mktemp -d)
run=$(node -e "process.stdout.write(require('node:crypto').randomBytes(4).toString('hex'))")
db="lk_prodcheck_$run"
prefix="lk-prodcheck-$run"
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  psql "$admin_url" -qtAc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  redis-cli -u "$REDIS_URL" --scan --pattern "*$prefix*" 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

cp package.json package-lock.json "$work/"
cp -r dist "$work/dist"
(cd "$work" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund >/dev/null 2>&1)
for dev in @swc/core jest eslint; do [ ! -d "$work/node_modules/$dev" ] || { echo "$dev (a dev dependency) in a production install"; exit 1; }; done

psql "$admin_url" -qtAc "CREATE DATABASE $db" >/dev/null
url=$(node -e "const u = new URL(process.argv[1]); u.pathname = '/$db'; process.stdout.write(u.toString())" "$DATABASE_URL")
port=$(node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close(); })")
export NODE_ENV=production ISSUER="http://127.0.0.1:$port" PORT="$port" HOST=127.0.0.1 DATABASE_URL="$url" REDIS_KEY_PREFIX="$prefix" \
  KEY_ENCRYPTION_KEY="$(node -e "process.stdout.write(require('node:crypto').randomBytes(32).toString('base64'))")"
cli() { node --enable-source-maps "$work/dist/src/cli.js" "$@"; }

(cd "$work" && exec node --enable-source-maps dist/src/main.js) >"$work/service.log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/service.log"; echo "the production start exited"; exit 1; }
  sleep 0.5
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready")" = 200 ] || { cat "$work/service.log"; echo "not ready"; exit 1; }

cli user:create --email operator@example.com --password 'violet staple orbit canyon' --role admin >/dev/null
cli user:list --json | grep -q '"email":"operator@example.com"' || { echo "the CLI did not list the user"; exit 1; }
echo "production-only install: the service started with NODE_ENV=production and the CLI created and listed a user"
