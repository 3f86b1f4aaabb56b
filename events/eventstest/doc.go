// Package eventstest holds realistic webhook deliveries for tests of code
// built on package events, such as command filters, and helpers to decode
// and sign them.
//
// Every fixture is addressed to the bot BotUserID (@moetronbot). They were
// written for this project from the shapes X documents, with the habits of
// real captures kept: "/" escaped as "\/", non-ASCII as \uXXXX, numeric
// "id" fields JavaScript-rounded next to the exact "id_str".
//
// Fixtures (Names lists them; Fixture returns the raw bytes):
//
//	mention_moerand             "@moetronbot moerand" from Alice
//	mention_moemess             "@moetronbot moemess please"
//	mention_moename             "moename hello &amp; goodbye &lt;3" (HTML entities)
//	mention_unicode             moename with CJK, emoji and full-width args
//	reply_no_mention            reply to the bot's tweet, no @mention: "moename kitty"
//	reply_prefix_mention        mentions only in the reply prefix, outside display_text_range
//	truncated_extended_mention  long tweet; the bot's mention only in extended_tweet.entities
//	quote_with_command          "@moetronbot moerand like this" quoting Bob's tweet
//	quote_of_command            Bob quotes Alice's command without mentioning the bot
//	retweet_of_command          Bob retweets Alice's command (retweeted_status)
//	bot_echo_tweet              the bot's own image reply, echoed back to it
//	blocked_bool                mention with "user_has_blocked": true
//	blocked_string              mention with "user_has_blocked": "true"
//	large_ids                   rounded numeric ids, numeric timestamp_ms, "user_has_blocked": "false"
//	dm_moerand                  DM "moerand" from Alice, with the users map
//	dm_image                    DM "moename sakura &amp; moon" plus an attached photo
//	dm_bot_echo                 the bot's own image DM (source_app_id, apps map)
//	dm_typing_read              typing indicator and read receipt
//	favorite                    Alice likes the bot's reply
//	follow                      Alice follows the bot
//	block_mute                  the bot blocks and unmutes Bob
//	tweet_delete                Alice deletes her command tweet
//	user_event_revoke           Alice revokes the app
//	replay_job_status           a replay job completed
//	unknown_kind                an unfollow plus a top-level key events does not know
//
// X Activity API envelopes {"data":{...}}, written from the shapes X
// documents (payloads of post events are v2 Posts, ids strings):
//
//	xaa_post_mention_create          post.mention.create: "@moetronbot moename hello!" from Alice
//	xaa_post_reply_create            post.reply.create: Alice answers the bot's image post, "moerand again"
//	xaa_post_quote_create            post.quote.create: Bob quotes the bot's post, no @mention
//	xaa_post_repost_create           post.repost.create: Bob reposts the bot's post ("RT @moetronbot: ...")
//	xaa_post_create                  post.create: the bot's own image reply, echoed back
//	xaa_post_delete                  post.delete: Alice deletes her command (users wrapped in "data")
//	xaa_post_mention_spec_spellings  OpenAPI spellings: referenced_posts, edit_history_post_ids,
//	                                 includes.posts, wrapped users, in_reply_to_tweet_id, note_tweet,
//	                                 a numeric event_uuid
//	xaa_replay_mention               a replayed delivery: "meta":{"replay":true} beside "data"
//	xaa_data_array                   "data" as an array of two envelopes (undocumented)
//	xaa_dm_received                  dm.received: "moemess" from Alice, users wrapped in "data"
//	xaa_dm_sent                      dm.sent: the bot's own image DM, echoed back
//	xaa_chat_received                chat.received: an XChat message (made-up ciphertext)
//	xaa_oauth_revoke                 oauth.revoke: Alice revokes the app (empty filter, no tag)
//	xaa_unknown_event                follow.follow with a direction filter, an event type not modelled
package eventstest
