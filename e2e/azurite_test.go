package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/moetron/moetron/queue/queueopen"
)

// azuriteKey is Azurite's well-known development account key (public, not
// a secret).
const azuriteKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

// azurite is a private Azurite queue service that a test may stop and
// start again: same port, same data directory, so messages survive.
type azurite struct {
	t    testing.TB
	addr string
	p    *proc
}

// startAzurite starts a private instance from MOETRON_AZURITE_BIN (the
// azurite-queue script scripts/azurite.sh installs); t skips without it.
func startAzurite(t testing.TB) *azurite {
	t.Helper()
	bin := os.Getenv("MOETRON_AZURITE_BIN")
	if bin == "" {
		t.Skip("MOETRON_AZURITE_BIN is not set (make test sets it; or source scripts/azurite.sh; azurite_start)")
	}
	addr := freeAddr(t)
	host, port, _ := net.SplitHostPort(addr)
	a := &azurite{t: t, addr: addr}
	a.p = newProc(t, "azurite", bin, os.Environ(),
		"--queueHost", host, "--queuePort", port, "--location", t.TempDir(),
		"--skipApiVersionCheck", "--disableTelemetry", "--silent")
	a.Start()
	return a
}

// conn is the connection string of this instance.
func (a *azurite) conn() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=%s;QueueEndpoint=http://%s/devstoreaccount1;", azuriteKey, a.addr)
}

// queue is a fresh queue on this instance.
func (a *azurite) queue() qconf {
	return qconf{queueopen.Env{Backend: queueopen.BackendAzure, Name: queueName(), ConnectionString: a.conn()}}
}

// Start (re)starts the service and waits until it accepts connections.
func (a *azurite) Start() {
	a.t.Helper()
	a.p.Start()
	eventually(a.t, 60*time.Second, "azurite listening", func() error {
		c, err := net.DialTimeout("tcp", a.addr, time.Second)
		if err != nil {
			return err
		}
		return c.Close()
	}, a.p)
}

// Stop shuts the service down with SIGTERM. Not SIGKILL: Azurite keeps its
// metadata in LokiJS files saved every few seconds, and a killed instance
// comes back without the queues created just before (this test file's
// TestAzuriteSurvivesRestart found that out). For its clients a stopped
// service is an outage either way: connections are refused.
func (a *azurite) Stop() {
	a.t.Helper()
	_ = a.p.Stop(15 * time.Second)
}

// The outage test relies on a private Azurite keeping its messages across
// a kill and a restart on the same port; this checks that assumption.
func TestAzuriteSurvivesRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Azurite twice")
	}
	a := startAzurite(t)
	q := a.queue()
	o := q.open(t)
	ctx := ctxFor(t, time.Minute)
	if _, err := o.Queue.Enqueue(ctx, []byte(`{"x":1}`), nil); err != nil {
		t.Fatal(err)
	}
	a.Stop()
	short, cancel := context.WithTimeout(ctx, 3*time.Second)
	_, err := o.Queue.Len(short)
	cancel()
	if err == nil {
		t.Fatal("Len succeeded while Azurite was down")
	}
	a.Start()
	var n int
	eventually(t, 30*time.Second, "queue readable after restart", func() error {
		n, err = o.Queue.Len(ctx)
		return err
	})
	if n != 1 {
		t.Fatalf("after restart the queue holds %d messages, want 1", n)
	}
}
