// The peer row of bench/ingest: twitter-autohook's own webhook server
// (Autohook.startServer: its CRC answer, its signature check, its JSON
// parse and 'event' emit) with a bot filter like moetron's on the events.
// It stores nothing.
//
//   node autohook.js PORT BOT_USER_ID   (X_CONSUMER_SECRET in the environment)
//
// Nothing of autohook's is stubbed: startServer makes no call to X (only
// start(), which registers the webhook through ngrok, does, and it is not
// called). One thing is changed: startServer listens on every interface,
// so http.Server's listen is wrapped to bind 127.0.0.1, like the other
// rows. On SIGTERM it prints "jobs N", the events its filter kept, so the
// bench can check that the filter matched every request.
'use strict';

const http = require('http');

const port = Number(process.argv[2]);
const botId = process.argv[3];
if (!port || !botId || !process.env.X_CONSUMER_SECRET) {
  console.error('usage: X_CONSUMER_SECRET=... node autohook.js PORT BOT_USER_ID');
  process.exit(2);
}

const listen = http.Server.prototype.listen;
http.Server.prototype.listen = function (p, ...rest) {
  return listen.call(this, p, '127.0.0.1', ...rest);
};

const { Autohook } = require('twitter-autohook');

// The default command table: a keyword as a whole word, any case.
const keyword = /(?:^|[^\p{L}\p{N}_])(moerand|moemess|moename)(?![\p{L}\p{N}_])/iu;

// visibleText is what the filter matches: the full text of a truncated
// tweet, cut to display_text_range (code points), with HTML entities
// decoded.
function visibleText(t) {
  const ext = t.extended_tweet || {};
  let text = ext.full_text || t.text || '';
  const range = ext.display_text_range || t.display_text_range;
  if (range) {
    text = Array.from(text).slice(range[0], range[1]).join('');
  }
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function mentionsBot(t) {
  const ents = (t.extended_tweet && t.extended_tweet.entities) || t.entities || {};
  return (ents.user_mentions || []).some((m) => m.id_str === botId) || t.in_reply_to_user_id_str === botId;
}

let jobs = 0;

const hook = new Autohook({
  token: 'bench', token_secret: 'bench', consumer_key: 'bench',
  consumer_secret: process.env.X_CONSUMER_SECRET, env: 'bench', port,
});
hook.on('event', (ev) => {
  if (ev.user_has_blocked === true) {
    return;
  }
  for (const t of ev.tweet_create_events || []) {
    if ((t.user && t.user.id_str === botId) || t.retweeted_status || !mentionsBot(t)) {
      continue;
    }
    if (keyword.test(visibleText(t))) {
      jobs++;
    }
  }
  for (const d of ev.direct_message_events || []) {
    const mc = d.message_create || {};
    if (d.type !== 'message_create' || mc.sender_id === botId) {
      continue;
    }
    if (keyword.test((mc.message_data || {}).text || '')) {
      jobs++;
    }
  }
});
hook.startServer();

process.on('SIGTERM', () => {
  process.stdout.write(`jobs ${jobs}\n`, () => process.exit(0));
});
