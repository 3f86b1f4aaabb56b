#!/usr/bin/env bash
# Regenerates what package reply takes from twitter-text, X's reference for
# counting a post's weighted length:
#   reply/twittertext_tables.go           the emoji pattern and the TLD list
#   reply/testdata/twitter-text-corpus.json  texts with parseTweet's weightedLength
# It installs npm twitter-text (pinned) into a temporary directory; nothing
# is left in the repository but the two outputs. Needs Node and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${TWITTER_TEXT_VERSION:-3.1.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts "twitter-text@$version" >/dev/null)
NODE_PATH="$tmp/node_modules" node scripts/twitter-text-tables.js > reply/twittertext_tables.go
gofmt -w reply/twittertext_tables.go
NODE_PATH="$tmp/node_modules" node scripts/twitter-text-corpus.js > reply/testdata/twitter-text-corpus.json
echo "twitter-text $version: wrote reply/twittertext_tables.go and reply/testdata/twitter-text-corpus.json" >&2
