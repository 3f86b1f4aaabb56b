// Package commands is the bot's command table as one file that both halves
// read (COMMANDS_FILE): the webhook matches its keywords, the worker takes
// its seed rules, truncation, models and reply texts from it, so the two
// always agree on what a command means.
//
// Without a file the table is Default, the built-in one: rand (moerand),
// mess (moemess) and name (moename), drawn by the bundled portrait model
// (rand, name) and the bundled CPPN (mess) until MODEL_PATH names a model
// for all three.
//
// # Which model a command uses
//
// Command.ModelFor decides, from the command's model and the worker's
// MODEL_PATH: a model file named by the command always wins; a bundled
// model named by the command (bundled:portrait, bundled:cppn) is a
// stand-in that MODEL_PATH replaces; a command without a model uses
// MODEL_PATH, else bundled:portrait. MODEL_PATH itself may also be a
// bundled reference (MODEL_PATH=bundled:cppn draws everything with the
// CPPN). The worker loads each distinct model once.
//
// # File format
//
// YAML, read with go.yaml.in/yaml/v3 (the YAML organisation's maintained
// line of gopkg.in/yaml.v3, already in this module's dependency graph
// through the Prometheus client, so the file format adds no module). YAML
// was chosen over TOML because its parser keeps the line of every key and
// value, so every error, also a semantic one (a psi out of range, a keyword
// used twice, a reply template that is too long) names the file, the line
// and the field, as in
//
//	commands file bot.yaml:12: commands[2].psi: 3 is not in (0, 2]
//
// The file has one field, commands, a list; each command has
//
//	name:     the job's command field (required; a-z, 0-9, _ and -)
//	keywords: a word or a list of words that trigger it (matched as whole
//	          words, ignoring case); aliases: more of them
//	seed:     random (the default: derived from the job id, so a
//	          redelivered job draws the same image), args (the moename
//	          rule on the text after the keyword) or a number (fixed)
//	psi:      truncation psi in (0, 2]; default 0.55
//	in:       posts, dms or [posts, dms] (the default)
//	model:    an ONNX model file for this command, relative to the
//	          commands file, or a bundled model: bundled:portrait (a
//	          character portrait) or bundled:cppn (abstract colour
//	          fields), which the worker's MODEL_PATH replaces when set;
//	          default MODEL_PATH, else bundled:portrait
//	reply:    the reply text, a Go text/template over reply.Fields:
//	          {{.ScreenName}}, {{.Seed}}, {{.Command}}, {{.RequestID}},
//	          {{.MsgType}}; default reply.DefaultTemplate
//
// A reply template is checked when the file loads: it must render within a
// post's 280 weighted characters with the longest handle, differ between two
// jobs (X refuses duplicate content: use {{.RequestID}} or {{.Seed}}) and
// leave out {{.Args}}, the user's own text, which would let anyone make the
// bot post what they wrote. Unknown fields are errors, not ignored.
//
// docs/commands.example.yaml is an example that the tests load.
package commands
