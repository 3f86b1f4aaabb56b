package imagegen

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"sort"
	"sync"
)

// SeedFunc turns a command's arguments into a seed. key is the caller's
// idempotency key (the job id, such as "tweet:1332557345071644672"); seed
// functions that draw a random seed derive it from key when key is not
// empty, so a redelivered job regenerates the same image.
type SeedFunc func(args, key string) uint32

// Command is one entry of the command table: how a command picks its seed
// and how much it truncates the latent.
type Command struct {
	Name string   // "rand", "mess", "name", ...
	Psi  float32  // truncation psi passed with the request
	Seed SeedFunc // seed from args and key
}

// Default truncation values of the built-in commands.
const (
	PsiTruncated = 0.55
	PsiNone      = 1.0
)

// randUint32 draws a random 32-bit value; tests replace it.
var randUint32 = func() uint32 {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("imagegen: crypto/rand failed: " + err.Error()) // crypto/rand.Read does not fail on supported platforms
	}
	return binary.BigEndian.Uint32(b[:])
}

// RandomSeed ignores args. With an empty key it returns a random 32-bit
// seed; with a key it returns the first four bytes (big-endian) of
// SHA-256("moetron seed\x00" + key), so the same job always gets the same
// "random" seed and a job redelivered by the queue regenerates the same
// image.
func RandomSeed(args, key string) uint32 {
	if key == "" {
		return randUint32()
	}
	sum := sha256.Sum256([]byte("moetron seed\x00" + key))
	return binary.BigEndian.Uint32(sum[:4])
}

var (
	twoTo32 = new(big.Int).Lsh(big.NewInt(1), 32)
	oneE9   = big.NewInt(1_000_000_000)
)

// NameSeed is the moename rule: when args is one or more ASCII digits only,
// that number mod 2^32 (any length); otherwise the MD5 of the UTF-8 args
// (the empty string too), read as a big-endian 128-bit number, mod 10^9.
// key is ignored.
func NameSeed(args, key string) uint32 {
	if isDigits(args) {
		n, _ := new(big.Int).SetString(args, 10)
		return uint32(n.Mod(n, twoTo32).Uint64())
	}
	sum := md5.Sum([]byte(args))
	n := new(big.Int).SetBytes(sum[:])
	return uint32(n.Mod(n, oneE9).Uint64())
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Commands is a table of commands, safe for concurrent use.
type Commands struct {
	mu sync.RWMutex
	m  map[string]Command
}

// DefaultCommands returns a new table with the built-in commands: rand
// (random seed, psi 0.55), mess (random seed, psi 1.0) and name
// (NameSeed, psi 0.55).
func DefaultCommands() *Commands {
	c := &Commands{m: map[string]Command{}}
	for _, cmd := range []Command{
		{Name: "rand", Psi: PsiTruncated, Seed: RandomSeed},
		{Name: "mess", Psi: PsiNone, Seed: RandomSeed},
		{Name: "name", Psi: PsiTruncated, Seed: NameSeed},
	} {
		c.m[cmd.Name] = cmd
	}
	return c
}

// Register adds cmd, replacing a command of the same name. The name must
// not be empty, Seed not nil, and Psi finite and in (0, 2].
func (c *Commands) Register(cmd Command) error {
	if cmd.Name == "" || cmd.Seed == nil {
		return fmt.Errorf("%w: command needs a name and a seed function", ErrConfig)
	}
	if err := checkPsi(cmd.Psi); err != nil {
		return fmt.Errorf("command %q: %w", cmd.Name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]Command{}
	}
	c.m[cmd.Name] = cmd
	return nil
}

// Lookup returns the command called name.
func (c *Commands) Lookup(name string) (Command, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	cmd, ok := c.m[name]
	return cmd, ok
}

// Names returns the registered command names, sorted.
func (c *Commands) Names() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]string, 0, len(c.m))
	for n := range c.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Request builds the Request for command name with args; key is the job's
// idempotency key (see RandomSeed). The request's Format is left empty (PNG).
func (c *Commands) Request(name, args, key string) (Request, error) {
	cmd, ok := c.Lookup(name)
	if !ok {
		return Request{}, fmt.Errorf("%w: %q (known: %v)", ErrUnknownCommand, name, c.Names())
	}
	return Request{Seed: cmd.Seed(args, key), Psi: cmd.Psi}, nil
}
