package commands_test

import (
	"fmt"

	"github.com/moetron/moetron/commands"
)

// A commands file adds a command with an alias to what the webhook
// matches and the worker renders.
func ExampleParse() {
	set, err := commands.Parse("bot.yaml", []byte(`commands:
  - name: daily
    keywords: moedaily
    aliases: [moetoday]
    seed: 20261126
    psi: 0.7
    in: posts
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(set.Names())
	m, ok := set.Table().Match("@bot MoeToday please")
	fmt.Println(ok, m.Command)
	// Output:
	// [daily]
	// true daily
}

// A bad file is an error naming its line and field.
func ExampleParse_error() {
	_, err := commands.Parse("bot.yaml", []byte("commands:\n  - name: daily\n    keywords: moedaily\n    psi: 3\n"))
	fmt.Println(err)
	// Output: commands file bot.yaml:4: commands[0].psi: 3 is not in (0, 2]
}
