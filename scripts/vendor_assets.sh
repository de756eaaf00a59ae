#!/usr/bin/env bash
# Install the pinned browser libraries from npm and copy the files the pages
# load into static/vendor/ (git-ignored). Works offline once npm's cache has them.
set -euo pipefail
cd "$(dirname "$0")/.."
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
dest=static/vendor
rm -rf "$dest" && mkdir -p "$dest"
copy() { cp "node_modules/$1" "$dest/$2"; }
copy bootstrap/dist/css/bootstrap.min.css bootstrap.min.css
copy bootstrap/dist/js/bootstrap.bundle.min.js bootstrap.bundle.min.js
copy chart.js/dist/chart.umd.min.js chart.umd.min.js
copy socket.io-client/dist/socket.io.min.js socket.io.min.js
# the API docs page (/api/docs, routes/api_docs.py)
mkdir -p "$dest/swagger-ui"
copy swagger-ui-dist/swagger-ui-bundle.js swagger-ui/swagger-ui-bundle.js
copy swagger-ui-dist/swagger-ui.css swagger-ui/swagger-ui.css
echo "browser libraries copied to $dest/"
